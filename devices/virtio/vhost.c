/*
 * vhost setup shared by vhost devices. The kernel serves the rings: kick =
 * the queue's ioeventfd, call = the irqfd of its MSI-X vector (decided at
 * DRIVER_OK), else an eventfd of ours that the device's I/O thread
 * forwards through raise_queue (INTx, MMIO, no vector). Limits: with a
 * direct irqfd a masked vector still fires (KVM keeps the route), and a
 * vector or MSI-X change after DRIVER_OK is not followed until the next
 * reset; a driver that breaks the ring rules stalls the queue in the
 * kernel instead of getting NEEDS_RESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "evloop.h"
#include "mem.h"
#include "vhost.h"
#include "virtio.h"

int vhost_open(const char *path, int *fd, uint64_t *features, const char **step)
{
	int ret = 0;

	*step = "open";
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*step = "VHOST_SET_OWNER";
	ret = vhost_set_owner(*fd);
	if (!ret) {
		*step = "VHOST_GET_FEATURES";
		if (ioctl(*fd, VHOST_GET_FEATURES, features) < 0)
			ret = -errno;
	}
	if (!ret && !(*features >> VIRTIO_F_VERSION_1 & 1)) {
		*step = "virtio 1.0 rings";
		ret = -EOPNOTSUPP;
	}
	if (ret) {
		close(*fd);
		*fd = -1;
	}
	return ret;
}

int vhost_set_owner(int fd)
{
	return ioctl(fd, VHOST_SET_OWNER) < 0 ? -errno : 0;
}

int vhost_reset_owner(int fd)
{
	return ioctl(fd, VHOST_RESET_OWNER) < 0 ? -errno : 0;
}

int vhost_set_mem_table(int fd, const struct guest_mem *m)
{
	struct vhost_memory *vm;
	int ret = 0;

	vm = calloc(1, sizeof(*vm) + m->nr_regions * sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	vm->nregions = m->nr_regions;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		vm->regions[i].guest_phys_addr = m->regions[i].gpa;
		vm->regions[i].memory_size = m->regions[i].size;
		vm->regions[i].userspace_addr = (uintptr_t)m->regions[i].hva;
	}
	if (ioctl(fd, VHOST_SET_MEM_TABLE, vm) < 0)
		ret = -errno;
	free(vm);
	return ret;
}

void vhost_dev_init(struct vhost_dev *v, struct virtio_dev *d, int fd, uint64_t features,
		    int (*set_backend)(struct vhost_dev *v, unsigned int q, bool on))
{
	v->fd = fd;
	v->vdev = d;
	v->features = features;
	v->set_backend = set_backend;
	for (unsigned int q = 0; q < VHOST_MAX_QUEUES; q++) {
		v->running[q] = false;
		v->call_fd[q] = -1;
	}
}

static unsigned int nr_queues(const struct vhost_dev *v)
{
	return v->vdev->num_queues < VHOST_MAX_QUEUES ? v->vdev->num_queues : VHOST_MAX_QUEUES;
}

/* The kernel signalled a queue whose vector has no irqfd: interrupt through the transport. */
static void vhost_called(int fd, uint32_t events, void *opaque)
{
	struct vhost_dev *v = opaque;
	struct virtio_dev *d = v->vdev;
	uint64_t val;

	(void)events;
	if (read(fd, &val, sizeof(val)) < 0)
		return;
	for (unsigned int q = 0; q < nr_queues(v); q++)
		if (fd == v->call_fd[q] && d->transport && d->transport->raise_queue)
			d->transport->raise_queue(d, q);
}

int vhost_watch_calls(struct vhost_dev *v, struct evloop *loop)
{
	int ret = 0;

	for (unsigned int q = 0; !ret && q < nr_queues(v); q++) {
		v->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ret = v->call_fd[q] < 0 ? -errno :
			evloop_add(loop, v->call_fd[q], EPOLLIN, vhost_called, v);
	}
	return ret;
}

void vhost_dev_release(struct vhost_dev *v)
{
	for (unsigned int q = 0; q < VHOST_MAX_QUEUES; q++) {
		if (v->call_fd[q] >= 0)
			close(v->call_fd[q]);
		v->call_fd[q] = -1;
	}
}

static int vring_file(struct vhost_dev *v, unsigned long req, unsigned int q, int fd)
{
	struct vhost_vring_file f = { .index = q, .fd = fd };

	return ioctl(v->fd, req, &f) < 0 ? -errno : 0;
}

void vhost_stop(struct vhost_dev *v)
{
	for (unsigned int q = 0; q < nr_queues(v); q++) {
		struct vhost_vring_state s = { .index = q };

		if (!v->running[q])
			continue;
		v->set_backend(v, q, false);
		ioctl(v->fd, VHOST_GET_VRING_BASE, &s);
		v->running[q] = false;
	}
}

/* Ring addresses as host pointers, checked as virtq.c checks them. */
static int ring_addr(struct virtq *vq, struct vhost_vring_addr *a)
{
	uint64_t extra = vq->event_idx ? 2 : 0;
	void *desc, *avail, *used;

	if (virtq_validate(vq))
		return -EINVAL;
	desc = guest_ptr(vq->mem, vq->desc_gpa, 16ULL * vq->size);
	avail = guest_ptr(vq->mem, vq->avail_gpa, 4 + 2ULL * vq->size + extra);
	used = guest_ptr(vq->mem, vq->used_gpa, 4 + 8ULL * vq->size + extra);
	if (!desc || !avail || !used)
		return -EINVAL;
	a->flags = 0;
	a->desc_user_addr = (uintptr_t)desc;
	a->avail_user_addr = (uintptr_t)avail;
	a->used_user_addr = (uintptr_t)used;
	a->log_guest_addr = 0;
	return 0;
}

static int start_queue(struct vhost_dev *v, unsigned int q)
{
	struct virtio_dev *d = v->vdev;
	struct virtq *vq = &d->vqs[q];
	struct vhost_vring_state num = { .index = q, .num = vq->size };
	struct vhost_vring_state base = { .index = q, .num = vq->last_avail };
	struct vhost_vring_addr addr = { .index = q };
	int call = -1, ret;

	ret = ring_addr(vq, &addr);
	if (ret)
		return ret;
	if (d->kick_fds[q] < 0)
		return -ENODEV;
	if (d->transport->queue_call_fd)
		call = d->transport->queue_call_fd(d, q);
	if (call < 0)
		call = v->call_fd[q];
	if (ioctl(v->fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_ADDR, &addr) < 0)
		return -errno;
	ret = vring_file(v, VHOST_SET_VRING_KICK, q, d->kick_fds[q]);
	if (!ret)
		ret = vring_file(v, VHOST_SET_VRING_CALL, q, call);
	if (!ret)
		ret = v->set_backend(v, q, true);
	if (!ret)
		v->running[q] = true;
	return ret;
}

int vhost_start(struct vhost_dev *v)
{
	uint64_t features = v->vdev->driver_features & v->features;
	int ret = 0;

	if (ioctl(v->fd, VHOST_SET_FEATURES, &features) < 0)
		ret = -errno;
	for (unsigned int q = 0; !ret && q < nr_queues(v); q++)
		if (v->vdev->vqs[q].ready)
			ret = start_queue(v, q);
	if (ret)
		vhost_stop(v);
	return ret;
}
