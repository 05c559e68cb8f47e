/* Guest RAM: one anonymous mapping, split into KVM slots around the MMIO hole. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

#define FOUR_GIB 0x100000000ULL
#define HUGE_PAGE (2UL << 20)

bool guest_range_ok(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	return guest_ptr(m, gpa, len) != NULL;
}

void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr_regions; i++) {
		const struct guest_region *r = &m->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* off < size and len <= size - off: no addition can wrap */
		if (off >= r->size || len > r->size - off)
			continue;
		if (!r->hva)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

void guest_mem_layout(struct guest_mem *m, uint8_t *base, uint64_t ram_size,
		      uint64_t hole_start)
{
	uint64_t low = ram_size < hole_start ? ram_size : hole_start;

	memset(m, 0, sizeof(*m));
	m->base = base;
	m->ram_size = ram_size;
	m->regions[0] = (struct guest_region){ .gpa = 0, .size = low, .hva = base };
	m->nr_regions = 1;
	if (ram_size > low) {
		m->regions[1] = (struct guest_region){
			.gpa = FOUR_GIB,
			.size = ram_size - low,
			.hva = base ? base + low : NULL,
		};
		m->nr_regions = 2;
	}
}

int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size, uint64_t hole_start)
{
	uint8_t *raw, *aligned;
	void *p;
	size_t len;

	if (ram_size == 0 || ram_size > SIZE_MAX - HUGE_PAGE)
		return -EINVAL;
	/*
	 * 2 MiB-aligned, so that guest and host addresses agree modulo 2 MiB:
	 * only then can KVM map guest RAM with huge pages (measured in the
	 * nested bed: 25k 4 KiB nested page faults per Linux boot otherwise).
	 */
	len = (size_t)ram_size + HUGE_PAGE;
	raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	aligned = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (aligned > raw)
		munmap(raw, (size_t)(aligned - raw));
	if (raw + len > aligned + ram_size)
		munmap(aligned + ram_size, (size_t)(raw + len - (aligned + ram_size)));
	p = aligned;
	madvise(p, ram_size, MADV_HUGEPAGE);	/* a hint: failure is fine */
	guest_mem_layout(m, p, ram_size, hole_start);
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->ram_size);
	memset(m, 0, sizeof(*m));
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->nr_regions ? m->regions[0].gpa + m->regions[0].size : 0;
}
