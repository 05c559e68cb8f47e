/* guest_ptr bounds and the RAM split around the MMIO hole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "../ram_split.h"

#define HOLE 0xc0000000ULL
#define GIB (1ULL << 30)

static void test_small_ram_one_region(void **state)
{
	static uint8_t ram[1 << 20];
	struct guest_mem m;

	(void)state;
	test_mem_layout(&m, ram, sizeof(ram), HOLE);
	assert_int_equal(m.nr_regions, 1);
	assert_ptr_equal(guest_ptr(&m, 0, sizeof(ram)), ram);
	assert_ptr_equal(guest_ptr(&m, 0x1000, 16), ram + 0x1000);
	assert_ptr_equal(guest_ptr(&m, sizeof(ram) - 1, 1), ram + sizeof(ram) - 1);
	assert_null(guest_ptr(&m, sizeof(ram) - 1, 2));
	assert_null(guest_ptr(&m, sizeof(ram), 0));
	assert_null(guest_ptr(&m, 0, sizeof(ram) + 1));
	assert_true(guest_mem_low_end(&m) == sizeof(ram));
}

static void test_hostile_ranges(void **state)
{
	static uint8_t ram[4096];
	struct guest_mem m;

	(void)state;
	test_mem_layout(&m, ram, sizeof(ram), HOLE);
	assert_null(guest_ptr(&m, UINT64_MAX, 1));
	assert_null(guest_ptr(&m, 1, UINT64_MAX));
	assert_null(guest_ptr(&m, 16, UINT64_MAX - 8));	/* gpa + len wraps */
	assert_null(guest_ptr(&m, UINT64_MAX - 4, 8));
	assert_false(guest_range_ok(&m, 4000, 100));
	assert_true(guest_range_ok(&m, 4000, 96));
}

static void test_split_around_hole(void **state)
{
	struct guest_mem m;

	(void)state;
	/* 4 GiB of RAM: 3 GiB below the hole, 1 GiB moved to 4 GiB */
	test_mem_layout(&m, NULL, 4 * GIB, HOLE);
	assert_int_equal(m.nr_regions, 2);
	assert_true(m.regions[0].gpa == 0 && m.regions[0].size == HOLE);
	assert_true(m.regions[1].gpa == 4 * GIB && m.regions[1].size == GIB);
	assert_true(guest_mem_low_end(&m) == HOLE);
	assert_true(m.ram_size == 4 * GIB);

	/* exactly up to the hole: no second region */
	test_mem_layout(&m, NULL, HOLE, HOLE);
	assert_int_equal(m.nr_regions, 1);
}

static void test_cross_region_rejected(void **state)
{
	struct guest_mem m;
	static uint8_t fake[16];

	(void)state;
	test_mem_layout(&m, fake, 4 * GIB, HOLE);	/* pointers are never dereferenced */
	assert_non_null(guest_ptr(&m, HOLE - 8, 8));
	assert_null(guest_ptr(&m, HOLE - 8, 16));	/* runs into the hole */
	assert_null(guest_ptr(&m, HOLE, 1));		/* inside the hole */
	assert_true((uintptr_t)guest_ptr(&m, 4 * GIB, 1) == (uintptr_t)fake + HOLE);
	assert_null(guest_ptr(&m, 5 * GIB, 1));
}

static void test_alloc(void **state)
{
	struct guest_mem m;
	uint8_t *p;

	(void)state;
	assert_int_equal(test_mem_alloc(&m, 2 << 20, HOLE), 0);
	p = guest_ptr(&m, 0x1000, 4);
	assert_non_null(p);
	p[0] = 0xab;	/* writable, zero-filled */
	assert_int_equal(p[1], 0);
	guest_mem_free(&m);
	assert_int_equal(m.nr_regions, 0);
}

/* The permissions of the mapping that holds @addr in /proc/self/maps ("" if none). */
static void perms_at(const void *addr, char perms[5])
{
	uintptr_t a = (uintptr_t)addr;
	unsigned long start, end;
	char line[512], p[5];
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	perms[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &start, &end, p) == 3 && a >= start && a < end) {
			memcpy(perms, p, 5);
			break;
		}
	fclose(f);
}

/* A host access that runs off either end of guest RAM must fault. */
static void test_alloc_guards(void **state)
{
	const uint64_t size = (6 << 20) + 0x3000;	/* not a multiple of 2 MiB */
	struct guest_mem m;
	char perms[5];

	(void)state;
	assert_int_equal(test_mem_alloc(&m, size, HOLE), 0);
	assert_int_equal((uintptr_t)m.base % (2 << 20), 0);	/* THP alignment kept */
	perms_at(m.base, perms);
	assert_string_equal(perms, "rw-p");
	perms_at(m.base + size - 1, perms);
	assert_string_equal(perms, "rw-p");
	perms_at(m.base - 1, perms);
	assert_string_equal(perms, "---p");
	perms_at(m.base - GUEST_MEM_GUARD, perms);
	assert_string_equal(perms, "---p");
	perms_at(m.base + size, perms);
	assert_string_equal(perms, "---p");
	perms_at(m.base + size + GUEST_MEM_GUARD - 1, perms);
	assert_string_equal(perms, "---p");
	guest_mem_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_one_region),
		cmocka_unit_test(test_hostile_ranges),
		cmocka_unit_test(test_split_around_hole),
		cmocka_unit_test(test_cross_region_rejected),
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_alloc_guards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
