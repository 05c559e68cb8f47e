/*
 * One I/O thread per virtio device (virtio-blk, virtio-net): started with
 * the device, filtered once setup is over, woken by kicks, ended by
 * virtio_worker_stop() before the device goes away.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "counter.h"
#include "sandbox.h"
#include "virtio.h"
#include "vm.h"
#include "worker.h"

/* The event loop; each device's class adds its data path (SANDBOX_IO_CLASS). */
static const char *const worker_syscalls[] = {
	"epoll_wait", "epoll_pwait",	/* the loop */
	"epoll_ctl",			/* device fds (re)watched: net's tap */
	NULL
};

const struct sandbox_io_class virtio_worker_class = {
	.name = "virtio-worker",
	.syscalls = worker_syscalls,
};

int virtio_worker_init(struct virtio_worker *w, struct vm *vm, const char *name,
		       const struct sandbox_io_class *cls, bool (*serve)(void *opaque),
		       void *opaque)
{
	memset(w, 0, sizeof(*w));
	w->vm = vm;
	w->cls = cls;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->serve = serve;
	w->opaque = opaque;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0)
		return -errno;
	w->loop = evloop_create();
	if (!w->loop)
		return -ENOMEM;
	return 0;
}

void virtio_worker_wake(struct virtio_worker *w)
{
	uint64_t one = 1;

	if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the thread is waking anyway */
	}
}

void virtio_worker_serve(struct virtio_worker *w)
{
	if (w->serve(w->opaque))
		virtio_worker_wake(w);	/* come back after the others had their turn */
}

/* A kick or a wake: drain the eventfd, then serve. */
static void worker_kicked(int fd, uint32_t events, void *opaque)
{
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already drained */
	}
	counter_add(&((struct virtio_worker *)opaque)->kicks, 1);
	virtio_worker_serve(opaque);
}

int virtio_worker_watch_kicks(struct virtio_worker *w, const struct virtio_dev *d)
{
	int ret = 0;

	for (unsigned int q = 0; !ret && d->kick_fds && q < d->num_queues; q++)
		if (d->kick_fds[q] >= 0)
			ret = evloop_add(w->loop, d->kick_fds[q], EPOLLIN, worker_kicked, w);
	return ret;
}

static void *worker_thread(void *opaque)
{
	struct virtio_worker *w = opaque;
	int ret;

	/* from inside (prctl): naming another thread opens /proc/self/task/N/comm */
	prctl(PR_SET_NAME, w->name);
	/* waits for the end of setup; -ECANCELED if the device goes away first */
	ret = sandbox_enter_io(w->cls);
	if (ret == 0) {
		evloop_run(w->loop);
		if (w->finish)
			w->finish(w->opaque);
	}
	else if (ret != -ECANCELED)
		vm_request_stop(w->vm, STOP_ERROR, EXIT_ERROR);	/* no filter, no device */
	return NULL;
}

int virtio_worker_start(struct virtio_worker *w)
{
	int ret = evloop_add(w->loop, w->wake_fd, EPOLLIN, worker_kicked, w);

	if (!ret)
		ret = -pthread_create(&w->thread, NULL, worker_thread, w);
	if (!ret)
		w->started = true;
	return ret;
}

bool virtio_worker_stopping(struct virtio_worker *w)
{
	return __atomic_load_n(&w->stopping, __ATOMIC_SEQ_CST);
}

void virtio_worker_stop(struct virtio_worker *w)
{
	if (!w->started)
		return;
	__atomic_store_n(&w->stopping, true, __ATOMIC_SEQ_CST);
	sandbox_abort();	/* the thread may still wait in sandbox_enter() */
	evloop_stop(w->loop);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void virtio_worker_destroy(struct virtio_worker *w)
{
	if (!w->vm)
		return;		/* zeroed, never set up */
	evloop_destroy(w->loop);
	w->loop = NULL;
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	w->wake_fd = -1;
}
