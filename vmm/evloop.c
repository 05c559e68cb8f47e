/* epoll event loop: the thread that owns device fds, timers and signals. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"

struct ev_entry {
	int fd;
	ev_handler fn;
	void *opaque;
	bool dead;
	bool parked;		/* mask 0: out of the epoll set, so not even errors wake us */
	struct ev_entry *next;	/* all entries, for lookup and freeing */
};

struct evloop {
	int epfd;
	int stopfd;
	volatile bool stop;
	struct ev_entry *entries;
};

struct evloop *evloop_create(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stopfd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev) < 0) {
		evloop_destroy(l);
		return NULL;
	}
	return l;
}

void evloop_destroy(struct evloop *l)
{
	struct ev_entry *e, *n;

	if (!l)
		return;
	for (e = l->entries; e; e = n) {
		n = e->next;
		free(e);
	}
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stopfd >= 0)
		close(l->stopfd);
	free(l);
}

static struct ev_entry *find(struct evloop *l, int fd)
{
	struct ev_entry *e;

	for (e = l->entries; e; e = e->next)
		if (e->fd == fd && !e->dead)
			return e;
	return NULL;
}

/*
 * epoll reports EPOLLERR and EPOLLHUP whatever the mask says, so a mask of
 * 0 would still wake the loop, at once and for ever, on a dead fd. Mask 0
 * takes the fd out of the epoll set instead.
 */
static int arm(struct evloop *l, struct ev_entry *e, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = e };
	int op;

	if (!events) {
		if (!e->parked && epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL) < 0)
			return -errno;
		e->parked = true;
		return 0;
	}
	op = e->parked ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	if (epoll_ctl(l->epfd, op, e->fd, &ev) < 0)
		return -errno;
	e->parked = false;
	return 0;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, ev_handler fn, void *opaque)
{
	struct ev_entry *e = calloc(1, sizeof(*e));
	int ret;

	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->fn = fn;
	e->opaque = opaque;
	e->parked = true;	/* not in the set yet */
	/* even parked, the fd must be one epoll can watch */
	ret = arm(l, e, events ? events : EPOLLIN);
	if (!ret && !events)
		ret = arm(l, e, 0);
	if (ret) {
		free(e);
		return ret;
	}
	e->next = l->entries;
	l->entries = e;
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct ev_entry *e = find(l, fd);

	if (!e)
		return -ENOENT;
	return arm(l, e, events);
}

int evloop_del(struct evloop *l, int fd)
{
	struct ev_entry *e = find(l, fd);

	if (!e)
		return -ENOENT;
	if (!e->parked)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* freed at destroy: a pending event in this batch may still point here */
	e->dead = true;
	return 0;
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[32];

	while (!l->stop) {
		int i, n = epoll_wait(l->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n && !l->stop; i++) {
			struct ev_entry *e = evs[i].data.ptr;

			if (!e) {
				uint64_t v;

				if (read(l->stopfd, &v, sizeof(v)) < 0) {
					/* EAGAIN: already drained */
				}
				continue;
			}
			/* parked or deleted by an earlier handler of this batch */
			if (!e->dead && !e->parked)
				e->fn(e->fd, evs[i].events, e->opaque);
		}
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	uint64_t one = 1;

	l->stop = true;
	if (write(l->stopfd, &one, sizeof(one)) < 0) {
		/* counter saturated: the loop is waking anyway */
	}
}
