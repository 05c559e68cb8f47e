/* Prints what kvmini handed over in the zero page: e820 map and command line. */
#include "fw.h"

#define CMDLINE_PRINT_MAX 4096

static const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case 1:
		return "usable";
	case 2:
		return "reserved";
	case 3:
		return "ACPI data";
	case 4:
		return "ACPI NVS";
	case 5:
		return "unusable";
	default:
		return "unknown";
	}
}

static void print_e820(const uint8_t *bp)
{
	unsigned int n = bp[BP_E820_ENTRIES];
	unsigned long long usable = 0;
	unsigned int i;

	fw_printf("e820: %u entries\n", n);
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (i = 0; i < n; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
		uint64_t addr = get_le64(e);
		uint64_t size = get_le64(e + 8);
		uint32_t type = get_le32(e + 16);

		fw_printf("e820: [0x%016llx-0x%016llx] type %u %s\n",
			  (unsigned long long)addr,
			  (unsigned long long)(addr + size - 1), type,
			  e820_type_name(type));
		if (type == 1)
			usable += size;
	}
	fw_printf("e820: %llu KiB usable\n", usable >> 10);
}

static void print_cmdline(const uint8_t *bp)
{
	uint64_t addr = get_le32(bp + BP_CMD_LINE_PTR) |
			(uint64_t)get_le32(bp + BP_EXT_CMD_LINE_PTR) << 32;
	const char *s = (const char *)(uintptr_t)addr;
	size_t len = 0;

	if (!addr) {
		fw_printf("cmdline: (none)\n");
		return;
	}
	while (len < CMDLINE_PRINT_MAX && s[len])
		len++;
	fw_printf("cmdline: \"");
	uart_write(s, len);
	fw_printf("\"%s\n", len == CMDLINE_PRINT_MAX ? " (truncated)" : "");
}

void fw_main(const uint8_t *boot_params)
{
	fw_printf("bootinfo: zero page handed over\n");
	print_e820(boot_params);
	print_cmdline(boot_params);
	acpi_init(boot_params);
	acpi_poweroff();
}
