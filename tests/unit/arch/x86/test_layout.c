/* arch_ram_layout() on x86: RAM from 0, what would overlap the MMIO hole moves to 4 GiB. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch.h"
#include "layout.h"
#include "mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void test_small_ram_is_one_region(void **state)
{
	struct guest_ram_layout l;

	(void)state;
	assert_int_equal(arch_ram_layout(256 * MiB, &l), 0);
	assert_int_equal(l.nr, 1);
	assert_true(l.r[0].gpa == 0 && l.r[0].size == 256 * MiB);
	assert_null(l.r[0].hva);
}

static void test_ram_up_to_the_hole(void **state)
{
	struct guest_ram_layout l;

	(void)state;
	assert_int_equal(arch_ram_layout(MMIO_HOLE_START, &l), 0);
	assert_int_equal(l.nr, 1);
	assert_true(l.r[0].size == MMIO_HOLE_START);
	/* one byte more: that byte is the first of RAM above 4 GiB */
	assert_int_equal(arch_ram_layout(MMIO_HOLE_START + 4096, &l), 0);
	assert_int_equal(l.nr, 2);
	assert_true(l.r[1].gpa == FOUR_GIB && l.r[1].size == 4096);
}

static void test_large_ram_skips_the_hole(void **state)
{
	struct guest_ram_layout l;
	struct guest_mem m;

	(void)state;
	assert_int_equal(arch_ram_layout(8 * GiB, &l), 0);
	assert_int_equal(l.nr, 2);
	assert_true(l.r[0].gpa == 0 && l.r[0].size == MMIO_HOLE_START);
	assert_true(l.r[1].gpa == FOUR_GIB && l.r[1].size == 8 * GiB - MMIO_HOLE_START);
	/* nothing of it in the hole, where the IOAPIC and the PCI windows live */
	guest_mem_layout(&m, NULL, &l);
	assert_false(guest_range_ok(&m, IOAPIC_ADDR, 1));
	assert_false(guest_range_ok(&m, PCI_MMIO_START, 1));
	assert_true(m.ram_size == 8 * GiB);
	assert_true(guest_mem_low_end(&m) == MMIO_HOLE_START);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_is_one_region),
		cmocka_unit_test(test_ram_up_to_the_hole),
		cmocka_unit_test(test_large_ram_skips_the_hole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
