/*
 * Just enough ACPI for the test guests: find the RSDP, walk the XSDT (or
 * RSDT), read the PM timer and enter S5 with the SLP_TYP that \_S5_ names.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

#define BIOS_AREA_START		0xe0000
#define BIOS_AREA_END		0x100000
#define SDT_HEADER_LEN		36
#define SDT_MAX_LEN		(1u << 20)	/* anything longer is garbage */

/* FADT field offsets (ACPI 6.x, table 5.9). */
#define FADT_DSDT		40
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM_TMR_BLK		76
#define FADT_FLAGS		112
#define FADT_FLAG_TMR_VAL_EXT	(1u << 8)
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM_TMR_BLK	208
#define GAS_SPACE_SYSTEM_IO	1

#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_PACKAGE_OP		0x12

#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_EN		(1u << 13)
#define PM_TIMER_HZ		3579545u

static const uint8_t *rsdp;

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum == 0;
}

static bool is_rsdp(const uint8_t *p)
{
	return memcmp(p, "RSD PTR ", 8) == 0 && checksum_ok(p, 20);
}

int acpi_init(const uint8_t *boot_params)
{
	uint64_t addr = get_le64(boot_params + BP_ACPI_RSDP_ADDR);

	if (addr && addr < (1ULL << 32) && is_rsdp((const uint8_t *)addr)) {
		rsdp = (const uint8_t *)addr;
		return 0;
	}
	for (addr = BIOS_AREA_START; addr < BIOS_AREA_END; addr += 16) {
		if (is_rsdp((const uint8_t *)addr)) {
			rsdp = (const uint8_t *)addr;
			return 0;
		}
	}
	fw_printf("acpi: no RSDP in the zero page or at 0xe0000-0xfffff\n");
	return -1;
}

/* A table header at @addr, or NULL if it is absent or its length is absurd. */
static const uint8_t *sdt_at(uint64_t addr)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)addr;
	uint32_t len;

	if (!addr || addr >= (1ULL << 32))
		return NULL;
	len = get_le32(t + 4);
	if (len < SDT_HEADER_LEN || len > SDT_MAX_LEN)
		return NULL;
	if (!checksum_ok(t, len))
		fw_printf("acpi: %c%c%c%c at 0x%llx has a bad checksum\n",
			  t[0], t[1], t[2], t[3], (unsigned long long)addr);
	return t;
}

static const uint8_t *find_dsdt(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");
	uint64_t addr = 0;

	if (!fadt)
		return NULL;
	if (get_le32(fadt + 4) >= FADT_X_DSDT + 8)
		addr = get_le64(fadt + FADT_X_DSDT);
	if (!addr)
		addr = get_le32(fadt + FADT_DSDT);
	return sdt_at(addr);
}

const uint8_t *acpi_find_table(const char *sig)
{
	const uint8_t *root, *t;
	unsigned int entry_size = 8;
	uint32_t off, len;

	if (!rsdp)
		return NULL;
	if (memcmp(sig, "DSDT", 4) == 0)
		return find_dsdt();

	root = rsdp[15] >= 2 ? sdt_at(get_le64(rsdp + 24)) : NULL;
	if (!root) {
		root = sdt_at(get_le32(rsdp + 16));
		entry_size = 4;
	}
	if (!root)
		return NULL;

	len = get_le32(root + 4);
	for (off = SDT_HEADER_LEN; off + entry_size <= len; off += entry_size) {
		uint64_t addr = entry_size == 8 ? get_le64(root + off) :
						  get_le32(root + off);

		t = sdt_at(addr);
		if (t && memcmp(t, sig, 4) == 0)
			return t;
	}
	return NULL;
}

/*
 * A port from a FADT block: the X_ Generic Address Structure when it is
 * present and in I/O space, else the 32-bit legacy field.
 */
static uint16_t fadt_port(const uint8_t *fadt, uint32_t legacy_off,
			  uint32_t gas_off)
{
	uint64_t addr = 0;

	if (get_le32(fadt + 4) >= gas_off + 12 &&
	    fadt[gas_off] == GAS_SPACE_SYSTEM_IO)
		addr = get_le64(fadt + gas_off + 4);
	if (!addr)
		addr = get_le32(fadt + legacy_off);
	return addr <= 0xffff ? (uint16_t)addr : 0;
}

uint16_t acpi_pm1a_evt_port(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");

	return fadt ? fadt_port(fadt, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK) : 0;
}

/* The PM timer port (0 if none) and its counter mask, looked up once. */
static uint16_t pm_timer_port(uint32_t *mask)
{
	static int looked_up;
	static uint16_t port;
	static uint32_t port_mask;
	const uint8_t *fadt;

	if (!looked_up && rsdp) {
		looked_up = 1;
		fadt = acpi_find_table("FACP");
		if (fadt) {
			port_mask = get_le32(fadt + FADT_FLAGS) &
				    FADT_FLAG_TMR_VAL_EXT ? 0xffffffffu : 0xffffffu;
			port = fadt_port(fadt, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK);
		}
	}
	*mask = port_mask;
	return port;
}

void acpi_delay_us(uint32_t us)
{
	uint32_t mask = 0, start, now, last, unchanged = 0;
	uint64_t ticks = (uint64_t)us * PM_TIMER_HZ / 1000000 + 1;
	uint16_t port = pm_timer_port(&mask);

	if (!port) {
		for (uint64_t i = 0; i < (uint64_t)us * 16; i++)
			cpu_relax();
		return;
	}
	start = last = inl(port) & mask;
	for (;;) {
		now = inl(port) & mask;
		if (((now - start) & mask) >= ticks)
			return;
		/* A timer that stands still must not hang us. */
		if (now == last && ++unchanged > 100000)
			return;
		if (now != last)
			unchanged = 0;
		last = now;
	}
}

/* The first element of the \_S5_ package in @dsdt, or -1. */
static int s5_slp_typ(const uint8_t *dsdt)
{
	uint32_t len = get_le32(dsdt + 4);
	uint32_t i, p;

	for (i = SDT_HEADER_LEN; i + 4 < len; i++) {
		if (memcmp(dsdt + i, "_S5_", 4) != 0)
			continue;
		p = i + 4;
		if (dsdt[p] != AML_PACKAGE_OP)
			continue;
		p++;
		p += 1 + (dsdt[p] >> 6);	/* PkgLength */
		p++;				/* NumElements */
		if (p + 2 >= len)
			return -1;
		switch (dsdt[p]) {
		case AML_ZERO_OP:
			return 0;
		case AML_ONE_OP:
			return 1;
		case AML_BYTE_PREFIX:
		case AML_WORD_PREFIX:
			return dsdt[p + 1];
		default:
			return -1;
		}
	}
	return -1;
}

void acpi_poweroff(void)
{
	const uint8_t *fadt = acpi_find_table("FACP");
	const uint8_t *dsdt = find_dsdt();
	uint16_t port;
	int slp_typ;

	if (!fadt || !dsdt) {
		fw_printf("acpi: power off: no %s\n", fadt ? "DSDT" : "FADT");
		cpu_halt_forever();
	}
	port = fadt_port(fadt, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK);
	slp_typ = s5_slp_typ(dsdt);
	if (!port || slp_typ < 0) {
		fw_printf("acpi: power off: %s\n",
			  port ? "no \\_S5_ package in the DSDT" :
				 "FADT has no PM1a_CNT port");
		cpu_halt_forever();
	}
	outw(port, (uint16_t)(((unsigned int)slp_typ & 7) << PM1_CNT_SLP_TYP_SHIFT |
			      PM1_CNT_SLP_EN));
	cpu_halt_forever();
}
