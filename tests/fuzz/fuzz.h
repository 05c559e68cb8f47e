/*
 * Helpers the libFuzzer harnesses share: reading fixed-size fields off the
 * front of an input, and guest RAM in a malloc'd buffer, so that
 * AddressSanitizer flags any access that strays past its end.
 */
#ifndef KVMINI_FUZZ_H
#define KVMINI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unread rest of an input; fields past its end read as zero. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline void fuzz_take(struct fuzz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memset(dst, 0, len);
	memcpy(dst, in->p, k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_take(in, &v, sizeof(v));
	return v;
}

/* Little-endian, as the seed generator (mkcorpus.py) writes them. */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint8_t b[2];

	fuzz_take(in, b, sizeof(b));
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint8_t b[4];

	fuzz_take(in, b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* A harness invariant broke: abort, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",		\
			__FILE__, __LINE__, #cond);				\
		abort();							\
	}									\
} while (0)

/* Guest RAM of @size bytes (zeroed), split at @hole_start like guest_mem_alloc. */
static inline void fuzz_mem_alloc(struct guest_mem *m, uint64_t size, uint64_t hole_start)
{
	uint8_t *base = calloc(1, size);
	struct guest_ram_layout l;

	FUZZ_CHECK(base);
	guest_ram_split(&l, 0, size, hole_start, 1ULL << 32);
	guest_mem_layout(m, base, &l);
}

/* Is [p, p+len) inside one RAM region of @m? */
static inline int fuzz_in_ram(const struct guest_mem *m, const void *p, size_t len)
{
	const uint8_t *b = p;
	unsigned int i;

	for (i = 0; i < m->nr_regions; i++) {
		const struct guest_region *r = &m->regions[i];

		if (b >= r->hva && len <= r->size && b - r->hva <= (ptrdiff_t)(r->size - len))
			return 1;
	}
	return 0;
}

#endif
