/*
 * Reading KVM's binary statistics: a header, then descriptors of
 * header.name_size-byte names, then the data. The kernel's table is
 * trusted no further than its sizes check out.
 */
#include <errno.h>
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

int kstats_read(int fd, const char *name, uint64_t *value)
{
	struct kvm_stats_header h;
	size_t dsize;
	char *desc;
	uint32_t i;
	int ret = -ENOENT;

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
		free(desc);
		return -EIO;
	}
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(desc + (size_t)i * dsize);

		if (strnlen(d->name, h.name_size) == h.name_size ||
		    strcmp(d->name, name))
			continue;
		if (!d->size ||
		    pread(fd, value, sizeof(*value), (off_t)h.data_offset + d->offset) !=
		    (ssize_t)sizeof(*value))
			ret = -EIO;
		else
			ret = 0;
		break;
	}
	free(desc);
	return ret;
}
