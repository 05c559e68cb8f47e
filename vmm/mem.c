/*
 * Guest RAM: one anonymous mapping, split into KVM slots where the arch's
 * layout puts them, between two PROT_NONE guard regions.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

#define HUGE_PAGE (2UL << 20)
#define PAGE_SIZE_4K 4096UL

/* PROT_NONE on each side of guest RAM (mem.h: GUEST_MEM_GUARD). */
#define GUARD GUEST_MEM_GUARD

static size_t rw_len(uint64_t ram_size)
{
	return ((size_t)ram_size + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
}

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

void guest_ram_split(struct guest_ram_layout *l, uint64_t start, uint64_t size,
		     uint64_t hole_start, uint64_t hole_end)
{
	uint64_t low = hole_start > start ? hole_start - start : 0;

	memset(l, 0, sizeof(*l));
	if (low > size)
		low = size;
	l->r[0] = (struct guest_region){ .gpa = start, .size = low };
	l->nr = 1;
	if (size > low)
		l->r[l->nr++] = (struct guest_region){ .gpa = hole_end, .size = size - low };
}

void guest_mem_layout(struct guest_mem *m, uint8_t *base, const struct guest_ram_layout *l)
{
	uint64_t off = 0;
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->base = base;
	for (i = 0; i < l->nr && i < GUEST_MEM_MAX_REGIONS; i++) {
		m->regions[i] = l->r[i];
		m->regions[i].hva = base ? base + off : NULL;
		off += l->r[i].size;
	}
	m->nr_regions = i;
	m->ram_size = off;
}

static uint64_t layout_size(const struct guest_ram_layout *l)
{
	uint64_t size = 0;

	for (unsigned int i = 0; i < l->nr; i++)
		size += l->r[i].size;
	return size;
}

int guest_mem_alloc(struct guest_mem *m, const struct guest_ram_layout *l)
{
	uint64_t ram_size = layout_size(l);
	uint8_t *raw, *aligned, *end;
	size_t len, rw;
	int ret;

	if (ram_size == 0 || ram_size > SIZE_MAX - HUGE_PAGE - 2 * GUARD - PAGE_SIZE_4K)
		return -EINVAL;
	/*
	 * 2 MiB-aligned, so that guest and host addresses agree modulo 2 MiB:
	 * only then can KVM map guest RAM with huge pages (measured in the
	 * nested bed: 25k 4 KiB nested page faults per Linux boot otherwise).
	 * Reserved PROT_NONE with room for a guard on each side, then only
	 * the RAM opened: a host access that runs off either end of guest
	 * RAM faults instead of reaching other memory. MAP_NORESERVE stays
	 * on the RAM after mprotect(), so nothing is committed up front.
	 */
	rw = rw_len(ram_size);
	len = rw + HUGE_PAGE + 2 * GUARD;
	raw = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	aligned = (uint8_t *)(((uintptr_t)raw + GUARD + HUGE_PAGE - 1) &
			      ~(uintptr_t)(HUGE_PAGE - 1));
	if (mprotect(aligned, rw, PROT_READ | PROT_WRITE)) {
		ret = -errno;
		munmap(raw, len);
		return ret;
	}
	/* keep exactly one guard before and one after */
	if (aligned - GUARD > raw)
		munmap(raw, (size_t)(aligned - GUARD - raw));
	end = aligned + rw + GUARD;
	if (raw + len > end)
		munmap(end, (size_t)(raw + len - end));
	madvise(aligned, ram_size, MADV_HUGEPAGE);	/* a hint: failure is fine */
	guest_mem_layout(m, aligned, l);
	return 0;
}

int guest_mem_map_file(struct guest_mem *m, int fd)
{
	if (!m->base || mmap(m->base, m->ram_size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base - GUARD, rw_len(m->ram_size) + 2 * GUARD);
	memset(m, 0, sizeof(*m));
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->nr_regions ? m->regions[0].gpa + m->regions[0].size : 0;
}
