/*
 * Floods the console: N lines of 50 bytes ("flood.lines=N", 20000 by
 * default), B bytes per wait for THRE ("flood.burst=B", 1 to 16, default 1),
 * then a summary line with an FNV-1a hash of all of them, then S5.
 */
#include "fw.h"
#include "io.h"

#define COM1		0x3f8
#define UART_THR	0
#define UART_FCR	2
#define UART_LSR	5
#define UART_LSR_THRE	0x20
#define UART_FCR_ENABLE	0x01
#define UART_FIFO_SIZE	16

#define LINES_DEFAULT	20000
#define LINE_LEN	50	/* "flood 00000 " + 37 letters + '\n' */
#define LINE_LETTERS	37
#define FNV_OFFSET	0x811c9dc5u
#define FNV_PRIME	0x01000193u

static uint32_t hash = FNV_OFFSET;

/*
 * uart_putc() gives up after a bounded spin and writes anyway, which drops
 * the byte when kvmini's buffer is full; this guest waits as long as it
 * takes. THRE set means the transmit FIFO is empty: a 16550A then takes
 * up to 16 bytes (Linux's 8250 driver sends 16 per THRE interrupt).
 */
static void send(const char *buf, size_t len, unsigned int burst)
{
	size_t i, n;

	for (i = 0; i < len; i++)
		hash = (hash ^ (uint8_t)buf[i]) * FNV_PRIME;
	while (len) {
		while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
			cpu_relax();
		n = len < burst ? len : burst;
		/* one exit for the whole burst */
		__asm__ volatile("rep outsb"
				 : "+S"(buf), "+c"(n)
				 : "d"((uint16_t)(COM1 + UART_THR))
				 : "memory");
		len -= len < burst ? len : burst;
	}
}

static unsigned int cmdline_uint(const uint8_t *bp, const char *key, unsigned int dflt)
{
	const char *s = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	unsigned int n = 0;
	size_t i;

	if (!s)
		return dflt;
	for (; *s; s++) {
		for (i = 0; key[i] && s[i] == key[i]; i++)
			;
		if (key[i])
			continue;
		for (s += i; *s >= '0' && *s <= '9' && n < 10000000; s++)
			n = n * 10 + (unsigned int)(*s - '0');
		return n;
	}
	return dflt;
}

void fw_main(const uint8_t *boot_params)
{
	unsigned int lines = cmdline_uint(boot_params, "flood.lines=", LINES_DEFAULT);
	unsigned int burst = cmdline_uint(boot_params, "flood.burst=", 1);
	unsigned int i, k, d;
	char buf[LINE_LEN];

	if (burst < 1 || burst > UART_FIFO_SIZE)
		burst = 1;
	acpi_init(boot_params);
	outb(COM1 + UART_FCR, UART_FCR_ENABLE);
	memcpy(buf, "flood ", 6);
	buf[11] = ' ';
	buf[LINE_LEN - 1] = '\n';
	for (i = 0; i < lines; i++) {
		for (k = 5, d = i; k > 0; d /= 10)
			buf[6 + --k] = (char)('0' + d % 10);
		for (k = 0; k < LINE_LETTERS; k++)
			buf[12 + k] = (char)('a' + (i + k) % 26);
		send(buf, LINE_LEN, burst);
	}
	fw_printf("flood: done, %u lines, fnv1a 0x%08x\n", lines, hash);
	acpi_poweroff();
}
