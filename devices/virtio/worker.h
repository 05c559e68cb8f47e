/*
 * The I/O thread of a virtio device: an event loop that sleeps until a
 * queue kick, a wake or one of the device's fds, then lets the device
 * serve its queues. It starts, waits for the end of setup and loads the
 * device's seccomp filter, and stops, the same way for every device.
 */
#ifndef KVMINI_VIRTIO_WORKER_H
#define KVMINI_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"

struct vm;
struct virtio_dev;
struct sandbox_io_class;

/* What every worker's loop needs; a device's I/O class names it as its base. */
extern const struct sandbox_io_class virtio_worker_class;

struct virtio_worker {
	struct vm *vm;
	char name[16];			/* the thread's, "kvmini-blk0": the kernel's limit */
	const struct sandbox_io_class *cls;	/* its seccomp filter */
	/* Serve the queues once; true if work is left (the worker wakes itself again). */
	bool (*serve)(void *opaque);
	/* NULL, or run on the thread, under its filter, once its loop has ended */
	void (*finish)(void *opaque);
	void *opaque;
	struct evloop *loop;		/* the thread's; devices add their own fds */
	int wake_fd;
	pthread_t thread;
	bool started;
	bool stopping;			/* atomic: virtio_worker_stop() is joining */
	uint64_t kicks;			/* kicks and wakes served (counter.h) */
};

/*
 * Set up @w (its loop and wake eventfd) for the thread named @name, which
 * runs under the seccomp filter of @cls (the device's, registered with
 * SANDBOX_IO_CLASS) and calls @serve(@opaque). 0 or -errno;
 * virtio_worker_destroy() undoes it.
 */
int virtio_worker_init(struct virtio_worker *w, struct vm *vm, const char *name,
		       const struct sandbox_io_class *cls, bool (*serve)(void *opaque),
		       void *opaque);
/*
 * Serve on every kick eventfd of @d; a queue without one kicks through the
 * device's queue_notify, which should call virtio_worker_wake(). Once.
 */
int virtio_worker_watch_kicks(struct virtio_worker *w, const struct virtio_dev *d);
/* Start the thread. 0 or -errno. */
int virtio_worker_start(struct virtio_worker *w);
/* Make the thread serve soon; any thread. */
void virtio_worker_wake(struct virtio_worker *w);
/* On the thread, from a device fd's handler: serve now, and again soon if work is left. */
void virtio_worker_serve(struct virtio_worker *w);
/* virtio_worker_stop() is under way: a long round should end at its next chunk. */
bool virtio_worker_stopping(struct virtio_worker *w);
/* End the thread and wait for it; no-op if it never started. */
void virtio_worker_stop(struct virtio_worker *w);
/* Free the loop and the wake eventfd, after virtio_worker_stop(); no-op on a zeroed @w. */
void virtio_worker_destroy(struct virtio_worker *w);

#endif
