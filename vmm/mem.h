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

/* Where guest RAM lies, in gpa order (hva unset): arch_ram_layout() fills it in. */
struct guest_ram_layout {
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
	unsigned int nr;
};

/*
 * @size bytes of RAM from gpa @start, except that what would fall in
 * [@hole_start, @hole_end) continues at @hole_end: the shape most arch
 * layouts take. @hole_start <= @start + @size means no hole.
 */
void guest_ram_split(struct guest_ram_layout *l, uint64_t start, uint64_t size,
		     uint64_t hole_start, uint64_t hole_end);

/*
 * Back layout @l with consecutive bytes from @base, in region order.
 * @base may be NULL (tests that only need the layout).
 */
void guest_mem_layout(struct guest_mem *m, uint8_t *base, const struct guest_ram_layout *l);

/* PROT_NONE bytes guest_mem_alloc() leaves on each side of guest RAM. */
#define GUEST_MEM_GUARD (2UL << 20)

/*
 * Anonymous mapping with a THP hint, 2 MiB-aligned, between two
 * GUEST_MEM_GUARD regions that fault on any access. Returns 0 or -errno.
 */
int guest_mem_alloc(struct guest_mem *m, const struct guest_ram_layout *l);
void guest_mem_free(struct guest_mem *m);
/*
 * A restore: the RAM guest_mem_alloc() made becomes a private mapping of
 * @fd (the snapshot's memory file, at least ram_size bytes), so pages are
 * read on first touch and the guest's writes never reach the file.
 */
int guest_mem_map_file(struct guest_mem *m, int fd);

/* The end (gpa + 1) of the first RAM region: RAM below the arch's MMIO hole. */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
