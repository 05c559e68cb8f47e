/*
 * Snapshots of a whole VM and restores from them: the order of things
 * (devices, vCPUs, the VM; memory before the state file), the sparse
 * memory file, and the checks that a snapshot fits this kvmini and host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "device.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "vm.h"

#if defined(__x86_64__)
#define SNAP_ARCH_THIS SNAP_ARCH_X86_64
#else
#define SNAP_ARCH_THIS 0
#endif

#define SAVE_FIRST_TRY 4096

struct device *snapshot_unsaveable(struct vm *vm)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next)
		if (!d->ops->save || !d->ops->restore)
			return d;
	return NULL;
}

/* @fn's bytes appended to @b: it is asked again with more room on -ENOSPC. */
static int save_grow(struct snap_buf *b, int (*fn)(void *obj, void *buf, size_t len),
		     void *obj)
{
	size_t room = SAVE_FIRST_TRY;
	uint8_t *p;
	int n;

	for (;;) {
		p = snap_buf_reserve(b, room);
		if (!p)
			return -ENOMEM;
		n = fn(obj, p, room);
		if (n >= 0) {
			b->len += (size_t)n;
			return 0;
		}
		if (n != -ENOSPC || room >= SNAP_MAX_SECTION)
			return n == -ENOSPC ? -EFBIG : n;
		room *= 2;
	}
}

static int vm_save_fn(void *obj, void *buf, size_t len)
{
	return arch_vm_save(obj, buf, len);
}

static int vcpu_save_fn(void *obj, void *buf, size_t len)
{
	return arch_vcpu_save(obj, buf, len);
}

static int dev_save_fn(void *obj, void *buf, size_t len)
{
	return device_op_save(obj, buf, len);
}

static void put_name(struct snap_buf *b, const char *name)
{
	char n[SNAP_NAME_LEN] = { 0 };

	memcpy(n, name, strnlen(name, SNAP_NAME_LEN - 1));
	snap_buf_put(b, n, sizeof(n));
}

static int build_state(struct vm *vm, struct snap_buf *b, struct errmsg *err)
{
	struct snap_header h = { .arch = SNAP_ARCH_THIS };
	struct device *d;
	unsigned int i, n = 0;
	size_t at;
	int ret;

	snprintf(h.version, sizeof(h.version), "%s", KVMINI_VERSION_STRING);
	h.nr_vcpus = vm->nr_vcpus;
	h.ram_size = vm->mem.ram_size;
	arch_snapshot_words(vm, h.arch_words);
	snap_begin(b, &h);

	at = snap_section_begin(b, SNAP_TAG_VM, 0);
	ret = save_grow(b, vm_save_fn, vm);
	if (ret)
		return errmsg_set(err, ret, "the VM's KVM state: %s", strerror(-ret));
	snap_section_end(b, at);
	for (i = 0; i < vm->nr_vcpus; i++) {
		at = snap_section_begin(b, SNAP_TAG_VCPU, i);
		ret = save_grow(b, vcpu_save_fn, &vm->vcpus[i]);
		if (ret)
			return errmsg_set(err, ret, "vCPU %u: %s", i, strerror(-ret));
		snap_section_end(b, at);
	}
	for (d = vm->devices; d; d = d->next, n++) {
		at = snap_section_begin(b, SNAP_TAG_DEVICE, n);
		put_name(b, d->name);
		put_name(b, d->type->name);
		ret = save_grow(b, dev_save_fn, d);
		if (ret)
			return errmsg_set(err, ret, "device '%s' (%s): %s", d->name, d->type->name,
					  strerror(-ret));
		snap_section_end(b, at);
	}
	if (snap_finish(b) || b->failed)
		return errmsg_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Guest RAM at its offset in the mapping; runs of non-zero pages only, holes elsewhere. */
static int save_memory(struct vm *vm, int fd)
{
	const struct guest_mem *m = &vm->mem;
	uint64_t size = m->ram_size, off, run;
	int ret;

	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0)
		return -errno;
	for (off = 0; off < size;) {
		if (!snap_page_used(m->base + off)) {
			off += SNAP_PAGE;
			continue;
		}
		for (run = off + SNAP_PAGE; run < size && run - off < (8ULL << 20) &&
		     snap_page_used(m->base + run);)
			run += SNAP_PAGE;
		ret = pwrite_all(fd, m->base + off, (size_t)(run - off), off);
		if (ret)
			return ret;
		off = run;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

int snapshot_save(struct vm *vm, int state_fd, int mem_fd, struct errmsg *err)
{
	struct snap_buf b = { 0 };
	struct device *d = snapshot_unsaveable(vm);
	int ret;

	if (d)
		return errmsg_set(err, -EOPNOTSUPP, "device '%s' (%s) cannot be saved yet",
				  d->name, d->type->name);
	if (vm->mem.ram_size % SNAP_PAGE)
		return errmsg_set(err, -EINVAL, "guest RAM is not a whole number of pages");
	ret = build_state(vm, &b, err);
	if (ret)
		goto out;
	/* memory first: a state file that exists is never ahead of its memory */
	ret = save_memory(vm, mem_fd);
	if (ret) {
		errmsg_set(err, ret, "memory: cannot write it: %s", strerror(-ret));
		goto out;
	}
	if (ftruncate(state_fd, 0) < 0 || (ret = pwrite_all(state_fd, b.p, b.len, 0)) ||
	    fdatasync(state_fd) < 0) {
		ret = ret ? ret : -errno;
		errmsg_set(err, ret, "state: cannot write it: %s", strerror(-ret));
	}
out:
	snap_buf_free(&b);
	return ret;
}

/* ---- restore ---- */

int snapshot_open(const char *dir, struct snapshot_in *in)
{
	char path[PATH_MAX], why[256];
	struct stat st;
	int ret;

	memset(in, 0, sizeof(*in));
	in->dir = dir;
	in->mem_fd = -1;
	if (snprintf(path, sizeof(path), "%s/state", dir) >= (int)sizeof(path)) {
		kv_err("--restore %s: the path is too long", dir);
		return -ENAMETOOLONG;
	}
	ret = read_file(path, SNAP_MAX_FILE, &in->state, &in->state_len);
	if (ret) {
		kv_err("--restore %s: %s: %s%s", dir, path, ret == -EFBIG ? "too large" :
		       ret == -EINVAL ? "not a regular file" : strerror(-ret),
		       ret == -ENOENT ? "; give a directory written by kvmini snapshot" : "");
		return ret;
	}
	ret = snap_parse(in->state, in->state_len, &in->img, why, sizeof(why));
	if (ret) {
		kv_err("--restore %s: %s: %s", dir, path, why);
		goto err;
	}
	if (strcmp(in->img.h.version, KVMINI_VERSION_STRING)) {
		kv_err("--restore %s: %s: made by kvmini %s, this is kvmini %s; restore it with "
		       "that version", dir, path, in->img.h.version, KVMINI_VERSION_STRING);
		ret = -EINVAL;
		goto err;
	}
	if (in->img.h.arch != SNAP_ARCH_THIS) {
		kv_err("--restore %s: %s: made for another CPU architecture (0x%x)", dir, path,
		       in->img.h.arch);
		ret = -EINVAL;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/memory", dir);
	in->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->mem_fd < 0) {
		ret = -errno;
		kv_err("--restore %s: %s: %s", dir, path, strerror(errno));
		goto err;
	}
	if (fstat(in->mem_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		kv_err("--restore %s: %s: not a regular file", dir, path);
		goto err;
	}
	if ((uint64_t)st.st_size < in->img.h.ram_size) {
		ret = -EINVAL;
		kv_err("--restore %s: %s: %llu bytes, smaller than the recorded RAM of %llu "
		       "bytes; the file is truncated", dir, path, (unsigned long long)st.st_size,
		       (unsigned long long)in->img.h.ram_size);
		goto err;
	}
	return 0;
err:
	snapshot_close(in);
	return ret;
}

void snapshot_close(struct snapshot_in *in)
{
	snap_image_free(&in->img);
	free(in->state);
	in->state = NULL;
	if (in->mem_fd >= 0)
		close(in->mem_fd);
	in->mem_fd = -1;
}

static int restore_devices(struct vm *vm, const struct snapshot_in *in)
{
	const struct snap_image *img = &in->img;
	struct device *d = vm->devices;
	unsigned int i;
	int ret;

	for (i = 0; i < img->nr_devs; i++, d = d->next) {
		const struct snap_dev *s = &img->devs[i];

		if (!d || strcmp(d->name, s->name) || strcmp(d->type->name, s->type)) {
			kv_err("--restore %s: the snapshot has device '%s' (%s) where this VM has "
			       "%s%s%s; give the same devices as when it was taken", in->dir,
			       s->name, s->type, d ? "'" : "none", d ? d->name : "", d ? "'" : "");
			return -EINVAL;
		}
		ret = device_op_restore(d, s->data.p, s->data.len);
		if (ret) {
			kv_err("--restore %s: device '%s' (%s): %s", in->dir, d->name, d->type->name,
			       ret == -EOPNOTSUPP ? "cannot be restored yet" :
			       "its saved state is malformed");
			return ret;
		}
	}
	if (d) {
		kv_err("--restore %s: this VM has device '%s' (%s), which the snapshot has not; "
		       "give the same devices as when it was taken", in->dir, d->name,
		       d->type->name);
		return -EINVAL;
	}
	return 0;
}

int snapshot_restore(struct vm *vm, const struct snapshot_in *in)
{
	char why[256];
	unsigned int i;
	int ret;

	ret = arch_snapshot_check(vm, in->img.h.arch_words, why, sizeof(why));
	if (ret) {
		kv_err("--restore %s: %s/state: %s", in->dir, in->dir, why);
		return ret;
	}
	if (vm->nr_vcpus != in->img.h.nr_vcpus || vm->mem.ram_size != in->img.h.ram_size) {
		kv_err("--restore %s: the VM was not built from the snapshot's record", in->dir);
		return -EINVAL;
	}
	ret = restore_devices(vm, in);
	if (ret)
		return ret;
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = arch_vcpu_restore(&vm->vcpus[i], in->img.vcpus[i].p, in->img.vcpus[i].len);
		if (ret) {
			kv_err("--restore %s: vCPU %u could not be restored", in->dir, i);
			return ret;
		}
	}
	/* last: the clock goes on from where the snapshot stopped it */
	ret = arch_vm_restore(vm, in->img.vm.p, in->img.vm.len);
	if (ret)
		kv_err("--restore %s: the VM's state could not be restored", in->dir);
	return ret;
}
