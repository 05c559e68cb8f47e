/* The small library shared by the firmware test guests: UART, printf, ACPI. */
#ifndef FW_FW_H
#define FW_FW_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/le.h"	/* the host's little-endian helpers: freestanding */

/* Offsets in Linux's struct boot_params (the zero page kvmini passes in RSI). */
#define BP_ACPI_RSDP_ADDR	0x070	/* u64 */
#define BP_EXT_CMD_LINE_PTR	0x0c8	/* u32, bits 63:32 of the command line */
#define BP_E820_ENTRIES		0x1e8	/* u8 */
#define BP_CMD_LINE_PTR		0x228	/* u32 */
#define BP_E820_TABLE		0x2d0	/* 20-byte entries: addr, size, type */
#define BP_E820_MAX		128
#define BP_E820_ENTRY_SIZE	20

/* Every guest provides this; start.S calls it with RSI from kvmini. */
void fw_main(const uint8_t *boot_params);

/* uart.c: polled output on the COM1 16550A. */
void uart_putc(char c);
void uart_write(const char *s, size_t len);

/*
 * printf.c: %d %u %x %s %c %p %%, with the l/ll/z length modifiers, a
 * field width and the 0 flag. Nothing else.
 */
int fw_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fw_vprintf(const char *fmt, va_list ap);

/* acpi.c */
/* Find the RSDP (zero page first, then the BIOS area). 0 or -1. */
int acpi_init(const uint8_t *boot_params);
/* A table by signature ("FACP", "APIC", ...; "DSDT" through the FADT). */
const uint8_t *acpi_find_table(const char *sig);
/* The PM1a event block's port (status, then enable at +2), or 0. */
uint16_t acpi_pm1a_evt_port(void);
/* Busy-wait about @us microseconds on the ACPI PM timer. */
void acpi_delay_us(uint32_t us);
/* Enter S5 through PM1a_CNT; prints why and halts if the tables lack it. */
__attribute__((noreturn)) void acpi_poweroff(void);

/* string.c: what the compiler may call even in a freestanding build. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
