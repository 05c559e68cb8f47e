/*
 * A virtio device whose rings the kernel serves (vhost): the generic
 * setup any vhost device needs (ownership, guest memory, rings, kicks and
 * calls), so that vhost-net today and vhost-vsock later share it. The
 * device supplies its backend (net: the tap behind each queue).
 */
#ifndef KVMINI_VIRTIO_VHOST_H
#define KVMINI_VIRTIO_VHOST_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct guest_mem;
struct virtio_dev;

#define VHOST_MAX_QUEUES	8

struct vhost_dev {
	int fd;				/* /dev/vhost-*, borrowed; -1: not in use */
	struct virtio_dev *vdev;
	uint64_t features;		/* what the kernel serves, as the device narrowed it */
	/* Attach (@on) or detach the device's backend of queue @q. 0 or -errno. */
	int (*set_backend)(struct vhost_dev *v, unsigned int q, bool on);
	bool running[VHOST_MAX_QUEUES];
	/* a queue whose vector has no irqfd: the kernel signals this, we interrupt */
	int call_fd[VHOST_MAX_QUEUES];
};

/*
 * Open @path and take ownership: 0 with *@fd and the kernel's *@features
 * (virtio 1.0 rings required), or -errno with *@step naming what failed.
 */
int vhost_open(const char *path, int *fd, uint64_t *features, const char **step);
int vhost_set_owner(int fd);
/* Give the fd up as fresh as a new open: the next VM takes it again. */
int vhost_reset_owner(int fd);
/* Tell the kernel where guest RAM is in kvmini's address space. 0 or -errno. */
int vhost_set_mem_table(int fd, const struct guest_mem *m);

/* @v serves the queues of @d (at most VHOST_MAX_QUEUES) on @fd; nothing running yet. */
void vhost_dev_init(struct vhost_dev *v, struct virtio_dev *d, int fd, uint64_t features,
		    int (*set_backend)(struct vhost_dev *v, unsigned int q, bool on));
/* Make the call eventfds, forwarded to the transport by @loop's thread. 0 or -errno. */
int vhost_watch_calls(struct vhost_dev *v, struct evloop *loop);
/*
 * DRIVER_OK: the negotiated features, then every ready queue to the
 * kernel (size, base, rings checked as virtq.c checks them, kick, call,
 * backend). 0, or -errno with every queue stopped again.
 */
int vhost_start(struct vhost_dev *v);
/* Stop serving: backends detached, rings given back. */
void vhost_stop(struct vhost_dev *v);
/* Close the call eventfds (their loop is gone). */
void vhost_dev_release(struct vhost_dev *v);

#endif
