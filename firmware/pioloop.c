/*
 * A guest that makes a known number of port I/O exits: it writes 0 to the
 * i8042 data port (0x60, which ignores writes) pio.count=N times (default
 * 1000), or reads it with pio.op=in, prints "PIO-DONE N", then idles with
 * interrupts off until kvmini stops it.
 * For kvmini stat's tests and the cost of counting (tools/bench/stat).
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

static const char *cmdline_value(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p;

	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
	return NULL;
}

static uint32_t parse_u32(const char *s, uint32_t dflt)
{
	uint32_t v = 0;

	if (!s || *s < '0' || *s > '9')
		return dflt;
	while (*s >= '0' && *s <= '9' && v < 400000000u)
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}

void fw_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	uint32_t n = parse_u32(cmdline_value(cmdline, "pio.count"), 1000), i;
	const char *op = cmdline_value(cmdline, "pio.op");
	bool in = op && !memcmp(op, "in", 2) && (op[2] == ' ' || !op[2]);

	fw_printf("PIO-START %u\n", n);
	for (i = 0; i < n; i++) {
		if (in)
			(void)inb(0x60);
		else
			outb(0x60, 0);
	}
	fw_printf("PIO-DONE %u\n", n);
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}
