/*
 * Reports a status through the exit device, as a test payload does:
 * "exitcode=V" on the command line is written to port "exitport=P"
 * (default 0xf4). If kvmini has no device there, it powers off instead.
 */
#include "fw.h"
#include "io.h"

static const char *cmdline_value(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
		p++;
	}
	return NULL;
}

static uint32_t parse_num(const char *s, uint32_t dflt)
{
	uint32_t v = 0, base = 10;

	if (!s || !*s || *s == ' ')
		return dflt;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s && *s != ' '; s++) {
		uint32_t d;

		if (*s >= '0' && *s <= '9')
			d = (uint32_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint32_t)(*s - 'a' + 10);
		else
			return dflt;
		v = v * base + d;
	}
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

void fw_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	uint32_t code = parse_num(cmdline_value(cmdline, "exitcode"), 0);
	uint32_t port = parse_num(cmdline_value(cmdline, "exitport"), 0xf4);

	fw_printf("exitcode: writing %u to port 0x%x\n", code, port);
	outl((uint16_t)port, code);
	fw_printf("exitcode: no exit device, powering off\n");
	acpi_init(bp);
	acpi_poweroff();
}
