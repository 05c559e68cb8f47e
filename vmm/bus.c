/* Sorted address-range bus: registration and binary-search dispatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
	free(b->ranges);
	pthread_rwlock_destroy(&b->lock);
	b->ranges = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose base is > addr. */
static unsigned int upper_bound(const struct bus *b, uint64_t addr)
{
	unsigned int lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (b->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque)
{
	unsigned int i;
	int ret = 0;

	if (len == 0 || base + len - 1 < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	i = upper_bound(b, base);
	if (i > 0) {
		const struct bus_range *p = &b->ranges[i - 1];

		if (base - p->base < p->len) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (i < b->nr && b->ranges[i].base - base < len) {
		ret = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		unsigned int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *r = realloc(b->ranges, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		b->ranges = r;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->nr - i) * sizeof(b->ranges[0]));
	b->ranges[i] = (struct bus_range){ base, len, ops, opaque };
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	i = upper_bound(b, base);
	if (i > 0 && b->ranges[i - 1].base == base) {
		i--;
		memmove(&b->ranges[i], &b->ranges[i + 1],
			(b->nr - i - 1) * sizeof(b->ranges[0]));
		b->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		bool is_write)
{
	uint64_t base;

	return bus_access_at(b, addr, data, len, is_write, &base);
}

bool bus_access_at(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
		   bool is_write, uint64_t *base)
{
	struct bus_range r;
	bool found = false;
	unsigned int i;

	pthread_rwlock_rdlock(&b->lock);
	i = upper_bound(b, addr);
	if (i > 0) {
		const struct bus_range *p = &b->ranges[i - 1];

		/* the whole access must lie inside the range */
		if (addr - p->base < p->len && len <= p->len - (addr - p->base)) {
			r = *p;
			found = true;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	if (!found) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	*base = r.base;
	/*
	 * The handler runs without the lock so that it may move ranges on
	 * this bus (a PCI config write relocating a BAR). Its opaque stays
	 * valid: devices are torn down only after the vCPUs have stopped.
	 */
	if (is_write) {
		if (r.ops->write)
			r.ops->write(r.opaque, addr - r.base, data, len);
	} else {
		memset(data, 0, len);
		if (r.ops->read)
			r.ops->read(r.opaque, addr - r.base, data, len);
	}
	return true;
}
