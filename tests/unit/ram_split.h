/*
 * Test RAM in the PC shape: from gpa 0, what would overlap [@hole, 4 GiB)
 * continues at 4 GiB (the layout arch/x86 gives; tests pick the hole).
 */
#ifndef KVMINI_TEST_RAM_SPLIT_H
#define KVMINI_TEST_RAM_SPLIT_H

#include "mem.h"

#define TEST_FOUR_GIB 0x100000000ULL

static inline void test_mem_layout(struct guest_mem *m, uint8_t *base, uint64_t size,
				   uint64_t hole)
{
	struct guest_ram_layout l;

	guest_ram_split(&l, 0, size, hole, TEST_FOUR_GIB);
	guest_mem_layout(m, base, &l);
}

static inline int test_mem_alloc(struct guest_mem *m, uint64_t size, uint64_t hole)
{
	struct guest_ram_layout l;

	guest_ram_split(&l, 0, size, hole, TEST_FOUR_GIB);
	return guest_mem_alloc(m, &l);
}

#endif
