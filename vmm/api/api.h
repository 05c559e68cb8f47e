/*
 * The API thread: serves the control socket (docs/api.md). It parses
 * requests, checks who asks, and hands the work to the event loop
 * (control.h); its seccomp class allows socket I/O and little else.
 */
#ifndef KVMINI_API_H
#define KVMINI_API_H

#include <sys/types.h>

/*
 * Serve @listen_fd (bound, listening, non-blocking) for VM @name. Peers
 * must be @owner or root. Before the filters load. 0 or -errno after kv_err().
 */
int api_start(int listen_fd, uid_t owner, const char *name);
/*
 * After control_finish(): hand the last events to subscribers (briefly),
 * close every connection and join the thread. Safe without api_start().
 */
void api_stop(void);

#endif
