/*
 * A guest for the snapshot tests: it fills scattered pages of RAM with a
 * pseudo-random pattern (every fourth page left zero, one page near the
 * top of RAM), then prints "SUM n s" about every 50 ms, where n is a count
 * kept in memory and s the checksum of the pattern read back. A restored
 * guest must go on from n with the same s. Powers off on the ACPI power
 * button, as the counter does.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

#define PM1_PWRBTN	(1u << 8)
#define AREA		0x1000000UL	/* 16 MiB */
#define AREA_PAGES	16
#define FAR_PAGE	(40UL << 20)	/* inside the smallest RAM the tests give */
#define PAGE		4096UL

static volatile uint32_t count;		/* in RAM, not a register: it must survive */

static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static bool page_used(unsigned int i)
{
	return i % 4 != 3;
}

static void fill(uint64_t *p, uint64_t *x)
{
	unsigned int k;

	for (k = 0; k < PAGE / 8; k++)
		p[k] = next(x);
}

static uint32_t sum_page(const volatile uint64_t *p, uint32_t s)
{
	unsigned int k;

	for (k = 0; k < PAGE / 8; k++)
		s = (s << 5 | s >> 27) ^ (uint32_t)(p[k] ^ p[k] >> 32);
	return s;
}

static uint32_t checksum(void)
{
	uint32_t s = 0;
	unsigned int i;

	for (i = 0; i < AREA_PAGES; i++)
		s = sum_page((const volatile uint64_t *)(AREA + i * PAGE), s);
	return sum_page((const volatile uint64_t *)FAR_PAGE, s);
}

void fw_main(const uint8_t *bp)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint16_t evt;
	unsigned int i;

	acpi_init(bp);
	evt = acpi_pm1a_evt_port();
	if (evt) {
		outw(evt, PM1_PWRBTN);
		outw((uint16_t)(evt + 2), PM1_PWRBTN);
	}
	for (i = 0; i < AREA_PAGES; i++)
		if (page_used(i))
			fill((uint64_t *)(AREA + i * PAGE), &x);
	fill((uint64_t *)FAR_PAGE, &x);
	fw_printf("MEMSUM-READY sum=%x\n", checksum());
	for (;;) {
		fw_printf("SUM %u %x\n", count, checksum());
		count++;
		acpi_delay_us(50000);
		if (evt && (inw(evt) & PM1_PWRBTN)) {
			outw(evt, PM1_PWRBTN);
			fw_printf("POWER-BUTTON\n");
			acpi_poweroff();
		}
	}
}
