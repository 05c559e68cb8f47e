/* Polled output on the COM1 16550A: wait for THRE, write THR. */
#include "fw.h"
#include "io.h"

#define COM1		0x3f8
#define UART_THR	0
#define UART_LSR	5
#define UART_LSR_THRE	0x20
/* A UART that never drains must not hang the guest: write anyway. */
#define THRE_POLLS	100000

void uart_putc(char c)
{
	unsigned int i;

	for (i = 0; i < THRE_POLLS; i++) {
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
		cpu_relax();
	}
	outb(COM1 + UART_THR, (uint8_t)c);
}

void uart_write(const char *s, size_t len)
{
	while (len--)
		uart_putc(*s++);
}
