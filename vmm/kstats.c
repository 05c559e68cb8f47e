/*
 * Reading KVM's binary statistics: a header, then descriptors of
 * header.name_size-byte names, then the data. The kernel's table is
 * trusted no further than its sizes check out.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kstats.h"

#define KSTATS_MAX_DESC 4096
#define KSTATS_MAX_NAME 256

int kstats_open(int kvm_fd)
{
	int fd = ioctl(kvm_fd, KVM_GET_STATS_FD, 0);

	return fd < 0 ? -errno : fd;
}

#define KSTATS_MAX_DATA (1u << 20)

int kstats_read_all(int fd, kstats_fn fn, void *ctx)
{
	struct kvm_stats_header h;
	uint64_t *data = NULL;
	size_t dsize, dlen = 0;
	char *desc;
	uint32_t i;
	int ret = 0;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EIO;
	if (!h.num_desc || h.num_desc > KSTATS_MAX_DESC || !h.name_size ||
	    h.name_size > KSTATS_MAX_NAME)
		return -EINVAL;
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	desc = malloc(dsize * h.num_desc);
	if (!desc)
		return -ENOMEM;
	if (pread(fd, desc, dsize * h.num_desc, h.desc_offset) != (ssize_t)(dsize * h.num_desc)) {
		ret = -EIO;
		goto out;
	}
	/* the data block ends with the last descriptor's values */
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(desc + (size_t)i * dsize);
		size_t end = (size_t)d->offset + (size_t)d->size * sizeof(uint64_t);

		if (d->offset > KSTATS_MAX_DATA || end > KSTATS_MAX_DATA) {
			ret = -EINVAL;
			goto out;
		}
		if (end > dlen)
			dlen = end;
	}
	data = malloc(dlen ? dlen : 1);
	if (!data) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, data, dlen, h.data_offset) != (ssize_t)dlen) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(desc + (size_t)i * dsize);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		uint64_t v;

		if (strnlen(d->name, h.name_size) == h.name_size || !d->size ||
		    (type != KVM_STATS_TYPE_CUMULATIVE && type != KVM_STATS_TYPE_INSTANT &&
		     type != KVM_STATS_TYPE_PEAK))
			continue;
		memcpy(&v, (const uint8_t *)data + d->offset, sizeof(v));
		fn(d->name, v, ctx);
	}
out:
	free(data);
	free(desc);
	return ret;
}

struct find {
	const char *name;
	uint64_t *value;
	bool found;
};

static void find_one(const char *name, uint64_t value, void *ctx)
{
	struct find *f = ctx;

	if (!f->found && !strcmp(name, f->name)) {
		*f->value = value;
		f->found = true;
	}
}

int kstats_read(int fd, const char *name, uint64_t *value)
{
	struct find f = { name, value, false };
	int ret = kstats_read_all(fd, find_one, &f);

	if (ret)
		return ret;
	return f.found ? 0 : -ENOENT;
}
