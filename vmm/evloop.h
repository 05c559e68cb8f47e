/* The event loop: one epoll thread owns device fds, timers and signals. */
#ifndef KVMINI_EVLOOP_H
#define KVMINI_EVLOOP_H

#include <stdint.h>

struct evloop;

/*
 * Called on the loop thread with the epoll events that fired. EPOLLERR
 * and EPOLLHUP come whatever the mask asks for: a handler that sees one
 * must evloop_del() the fd (or park it), or it runs again at once.
 */
typedef void (*ev_handler)(int fd, uint32_t events, void *opaque);

struct evloop *evloop_create(void);
void evloop_destroy(struct evloop *l);
/* @events 0 parks the fd: no events at all, errors included, until evloop_mod(). */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_handler fn, void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
int evloop_del(struct evloop *l, int fd);
/* Run until evloop_stop(); returns 0 or -errno. */
int evloop_run(struct evloop *l);
/* Safe from any thread. */
void evloop_stop(struct evloop *l);

#endif
