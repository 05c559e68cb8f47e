/* Address-range buses for port I/O and MMIO exits: sorted, binary-searched. */
#ifndef KVMINI_BUS_H
#define KVMINI_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Handlers run on vCPU threads; @offset is relative to the range base,
 * @len is 1, 2, 4 or 8. Reads fill @data (pre-zeroed), writes consume it.
 * They run without the bus lock, so they may register and unregister
 * ranges (PCI BAR moves); an access that raced with a move may still
 * reach the old handler, as an in-flight transaction would.
 */
struct bus_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	const char *name;		/* "pio" or "mmio", for messages */
	struct bus_range *ranges;	/* sorted by base, never overlapping */
	unsigned int nr, cap;
	pthread_rwlock_t lock;		/* ranges move at run time (PCI BARs) */
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);
/* 0, -EEXIST on overlap, -EINVAL on empty/wrapping range, -ENOMEM. */
int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque);
int bus_unregister(struct bus *b, uint64_t base);
/*
 * Dispatch an access. Returns true if a device handled it; unclaimed
 * reads return all-ones, unclaimed writes are dropped (as on real buses).
 */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write);
/* As bus_access; *@base gets the base of the range that took it. */
bool bus_access_at(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write, uint64_t *base);

#endif
