/* Guest physical memory: the one API through which host code touches guest RAM. */
#ifndef KVMINI_MEM_H
#define KVMINI_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size;	/* sum of region sizes */
	uint8_t *base;		/* the single host mapping backing all regions */
};

/*
 * Host pointer to [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL. Overflow-safe: hostile gpa/len values are fine.
 */
void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
bool guest_range_ok(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/*
 * Lay out @ram_size bytes of RAM at gpa 0, split around the 32-bit MMIO
 * hole [hole_start, 4 GiB): the part above moves to 4 GiB. @base may be
 * NULL (tests that only need the layout).
 */
void guest_mem_layout(struct guest_mem *m, uint8_t *base, uint64_t ram_size,
		      uint64_t hole_start);

/* PROT_NONE bytes guest_mem_alloc() leaves on each side of guest RAM. */
#define GUEST_MEM_GUARD (2UL << 20)

/*
 * Anonymous mapping with a THP hint, 2 MiB-aligned, between two
 * GUEST_MEM_GUARD regions that fault on any access. Returns 0 or -errno.
 */
int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size, uint64_t hole_start);
void guest_mem_free(struct guest_mem *m);

/* Highest gpa+1 of RAM below 4 GiB. */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
