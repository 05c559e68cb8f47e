/*
 * The API thread: a poll() loop over the listening socket, its clients,
 * the control events and a stop eventfd. Each client has a bounded input
 * line and a bounded output queue; one that breaks the protocol gets an
 * error line and is closed, one that does not read is dropped. Nothing a
 * client sends reaches the VM except through control_call().
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>

#include "api.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "proto.h"
#include "sandbox.h"
#include "util.h"

#define API_MAX_CLIENTS 64		/* beyond: "busy", then closed */
#define API_OUT_MAX (1u << 20)		/* queued replies and events per client */
#define API_DRAIN_MS 1000		/* at the end: time to hand over the last events */
#define API_SNAPSHOT_FDS 2		/* snapshot: DIR/state, then DIR/memory */

struct client {
	int fd;
	char *in;			/* API_LINE_MAX + 1 bytes, on first data */
	size_t in_len;
	bool discarding;		/* an overlong line: skip to its newline */
	char *out;
	size_t out_len, out_cap;
	bool subscribed;
	bool closing;			/* close once @out is written */
	/* fds that came with the bytes read (SCM_RIGHTS): snapshot's files; -1: none */
	int fds[API_SNAPSHOT_FDS];
	unsigned int nr_fds;
};

static struct {
	pthread_t thread;
	bool started;
	int listen_fd;
	int stop_fd;
	uid_t owner;
	char name[CONFIG_NAME_MAX + 1];
	struct client clients[API_MAX_CLIENTS];
	unsigned int nr;
} api = { .listen_fd = -1, .stop_fd = -1 };

/* An API thread's system calls: socket I/O, poll. Base: read, write, close, futex, memory. */
static const char *const api_syscalls[] = {
	"poll", "ppoll", "accept4", "getsockopt",
	"recvmsg",	/* a request line, with the files snapshot and snapshot-disk hand over */
	NULL,
};
static const struct sandbox_io_class api_class = { .name = "api", .syscalls = api_syscalls };
SANDBOX_IO_CLASS(api_class);

static void client_drop_fds(struct client *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_fds; i++)
		close(c->fds[i]);
	c->nr_fds = 0;
}

static void client_close(struct client *c)
{
	client_drop_fds(c);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue @line (malloc'd, taken). False: the client is dropped (it does not read). */
static bool client_queue(struct client *c, char *line)
{
	size_t n;
	char *p;

	if (!line)
		return false;
	n = strlen(line);
	if (c->out_len + n > API_OUT_MAX) {
		free(line);
		c->closing = true;
		c->out_len = 0;	/* it stopped reading: drop what is queued */
		return false;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;

		while (cap < c->out_len + n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			free(line);
			c->closing = true;
			return false;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, n);
	c->out_len += n;
	free(line);
	return true;
}

/* Write what is queued; false if the client is gone. */
static bool client_flush(struct client *c)
{
	while (c->out_len) {
		ssize_t w = write(c->fd, c->out, c->out_len);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			return false;	/* EPIPE, ECONNRESET: it vanished */
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	return true;
}

static void handle_request(struct client *c, const char *line, size_t len)
{
	struct control_request creq = { 0 };
	struct control_info *info = NULL;
	struct api_request req;
	const char *code, *emsg;
	char msg[512];
	int ret;

	if (api_parse_request(line, len, &req, &code, msg, sizeof(msg))) {
		client_queue(c, api_reply_error(req.id, code, msg));
		api_request_free(&req);
		client_drop_fds(c);	/* fds count for the request they came with only */
		return;
	}
	switch (req.cmd) {
	case API_CMD_EVENTS:
		if (c->subscribed) {
			client_queue(c, api_reply_error(req.id, "already",
							"this connection already has the events"));
			break;
		}
		c->subscribed = true;
		client_queue(c, api_reply_ok(&req, NULL));
		break;
	case API_CMD_STATS: {
		struct control_stats st;

		creq.op = CONTROL_STATS;
		creq.stats = &st;
		ret = control_call(&creq);
		if (ret) {
			code = api_errno_code(ret, &emsg);
			client_queue(c, api_reply_error(req.id, code, emsg));
		} else {
			client_queue(c, api_reply_stats(&req, &st));
			control_stats_free(&st);
		}
		break;
	}
	case API_CMD_INFO:
		info = calloc(1, sizeof(*info));
		if (!info) {
			client_queue(c, api_reply_error(req.id, "internal", "out of memory"));
			break;
		}
		creq.op = CONTROL_INFO;
		creq.info = info;
		ret = control_call(&creq);
		if (ret) {
			code = api_errno_code(ret, &emsg);
			client_queue(c, api_reply_error(req.id, code, emsg));
		} else {
			client_queue(c, api_reply_info(&req, api.name, info));
		}
		free(info);
		break;
	case API_CMD_SNAPSHOT_DISK:
		if (c->nr_fds != 1) {
			client_queue(c, api_reply_error(req.id, "bad-request",
							"snapshot-disk needs the new file's descriptor, "
							"sent with the request (SCM_RIGHTS)"));
			break;
		}
		creq.op = CONTROL_SNAPSHOT_DISK;
		creq.disk = req.disk;
		creq.file = req.file;
		creq.fd = c->fds[0];
		c->nr_fds = 0;	/* the disk keeps it, or it is closed below */
		msg[0] = 0;
		creq.msg = msg;
		creq.msglen = sizeof(msg);
		ret = control_call(&creq);
		if (ret) {
			close(creq.fd);
			code = api_errno_code(ret, &emsg);
			client_queue(c, api_reply_error(req.id, code, msg[0] ? msg : emsg));
		} else {
			client_queue(c, api_reply_snapshot_disk(&req, req.disk, req.file));
		}
		break;
	case API_CMD_SNAPSHOT:
		if (c->nr_fds != API_SNAPSHOT_FDS) {
			client_queue(c, api_reply_error(req.id, "bad-argument",
				"snapshot: send the open files DIR/state and DIR/memory with the "
				"request (SCM_RIGHTS), as kvmini snapshot does"));
			break;
		}
		creq.op = CONTROL_SNAPSHOT;
		creq.state_fd = c->fds[0];
		creq.mem_fd = c->fds[1];
		creq.then_stop = req.snapshot_stop;
		msg[0] = 0;
		creq.msg = msg;
		creq.msglen = sizeof(msg);
		ret = control_call(&creq);
		if (ret) {
			code = api_errno_code(ret, &emsg);
			if (ret == -EOPNOTSUPP)
				code = "unsupported";
			client_queue(c, api_reply_error(req.id, code, msg[0] ? msg : emsg));
		} else {
			client_queue(c, api_reply_ok(&req, NULL));
		}
		break;
	case API_CMD_PAUSE:
	case API_CMD_RESUME:
	case API_CMD_STOP:
		creq.op = req.cmd == API_CMD_PAUSE ? CONTROL_PAUSE :
			  req.cmd == API_CMD_RESUME ? CONTROL_RESUME : CONTROL_STOP;
		creq.timeout = req.timeout;
		creq.force = req.force;
		ret = control_call(&creq);
		if (ret) {
			code = api_errno_code(ret, &emsg);
			if (ret == -EALREADY && req.cmd == API_CMD_PAUSE)
				emsg = "the VM is already paused";
			else if (ret == -EALREADY && req.cmd == API_CMD_RESUME)
				emsg = "the VM is not paused";
			else if (ret == -EALREADY)
				emsg = "a stop is already under way; use force to stop now";
			client_queue(c, api_reply_error(req.id, code, emsg));
		} else {
			client_queue(c, api_reply_ok(&req, NULL));
		}
		break;
	}
	api_request_free(&req);
	client_drop_fds(c);	/* fds count for the request they came with only */
}

/* Keep the fds of @m's SCM_RIGHTS for the next request; more than it takes are closed. */
static void client_take_fds(struct client *c, struct msghdr *m)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nr_fds < API_SNAPSHOT_FDS)
				c->fds[c->nr_fds++] = fd;
			else
				close(fd);
		}
	}
}

/* New bytes from @c: complete lines are requests. False: close it now. */
static bool client_read(struct client *c)
{
	char buf[4096];
	union {
		char b[CMSG_SPACE(API_SNAPSHOT_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl.b, .msg_controllen = sizeof(ctrl.b),
	};
	ssize_t n;
	size_t i, start;

	if (!c->in) {
		c->in = malloc(API_LINE_MAX + 1);
		if (!c->in)
			return false;
	}
	memset(&ctrl, 0, sizeof(ctrl));
	n = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC);
	/* a failed recvmsg() leaves msg_control as it was: nothing in it is ours */
	if (n >= 0 && m.msg_controllen)
		client_take_fds(c, &m);
	if (n == 0)
		return false;	/* closed */
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	for (start = 0, i = 0; i < (size_t)n && !c->closing; i++) {
		if (buf[i] != '\n')
			continue;
		if (c->discarding) {
			c->discarding = false;
		} else if (c->in_len + (i - start) <= API_LINE_MAX) {
			memcpy(c->in + c->in_len, buf + start, i - start);
			c->in_len += i - start;
			if (c->in_len)
				handle_request(c, c->in, c->in_len);
		}
		c->in_len = 0;
		start = i + 1;
	}
	if (c->closing || c->discarding)
		return true;
	if (c->in_len + ((size_t)n - start) > API_LINE_MAX) {
		/* an overlong line: one error, then the connection ends */
		client_queue(c, api_reply_error(NULL, "too-long",
						"request line longer than 65536 bytes"));
		c->closing = true;
		c->discarding = true;
		c->in_len = 0;
		return true;
	}
	memcpy(c->in + c->in_len, buf + start, (size_t)n - start);
	c->in_len += (size_t)n - start;
	return true;
}

static void accept_clients(void)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c;
		int fd = accept4(api.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned int i;

		if (fd < 0)
			return;	/* EAGAIN, or the peer gave up; EMFILE: the next poll retries */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != api.owner && cred.uid != 0)) {
			char *l = api_reply_error(NULL, "not-permitted",
						  "this VM belongs to another user");

			if (l && write(fd, l, strlen(l)) < 0) {
				/* it is refused either way */
			}
			free(l);
			close(fd);
			continue;
		}
		if (api.nr == API_MAX_CLIENTS) {
			char *l = api_reply_error(NULL, "busy", "too many connections; try again");

			if (l && write(fd, l, strlen(l)) < 0) {
				/* it is refused either way */
			}
			free(l);
			close(fd);
			continue;
		}
		for (i = 0; i < API_MAX_CLIENTS && api.clients[i].fd >= 0; i++)
			;
		c = &api.clients[i];
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		api.nr++;
		client_queue(c, api_greeting(api.name, (int)getpid()));
	}
}

static void deliver_events(void)
{
	struct control_event ev;
	uint64_t n;
	unsigned int i;

	if (read(control_event_fd(), &n, sizeof(n)) < 0) {
		/* nothing counted: drain anyway */
	}
	while (control_event_next(&ev)) {
		for (i = 0; i < API_MAX_CLIENTS; i++) {
			struct client *c = &api.clients[i];

			if (c->fd >= 0 && c->subscribed && !c->closing)
				client_queue(c, api_event(&ev));
		}
	}
}

/* One pass of the loop; @timeout_ms for poll. False when the stop fd fired. */
static bool serve_once(int timeout_ms, bool *stopping)
{
	struct pollfd pfd[API_MAX_CLIENTS + 3];
	int map[API_MAX_CLIENTS + 3];
	unsigned int n = 0, i;

	pfd[n++] = (struct pollfd){ .fd = *stopping ? -1 : api.listen_fd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = control_event_fd(), .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = api.stop_fd, .events = POLLIN };
	for (i = 0; i < API_MAX_CLIENTS; i++) {
		struct client *c = &api.clients[i];

		if (c->fd < 0)
			continue;
		map[n] = (int)i;
		pfd[n++] = (struct pollfd){
			.fd = c->fd,
			.events = (short)((c->closing || *stopping ? 0 : POLLIN) |
					  (c->out_len ? POLLOUT : 0)),
		};
	}
	if (poll(pfd, n, timeout_ms) < 0)
		return errno == EINTR;
	if (pfd[2].revents & POLLIN)
		*stopping = true;
	if (pfd[1].revents & POLLIN)
		deliver_events();
	if (pfd[0].revents & POLLIN)
		accept_clients();
	for (i = 3; i < n; i++) {
		struct client *c = &api.clients[map[i]];
		bool keep = true;

		if (c->fd < 0)
			continue;
		if (pfd[i].revents & POLLIN)
			keep = client_read(c);
		else if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			keep = false;
		if (keep)
			keep = client_flush(c);
		if (!keep || (c->closing && !c->out_len)) {
			client_close(c);
			api.nr--;
		}
	}
	return true;
}

static bool any_output(void)
{
	unsigned int i;

	for (i = 0; i < API_MAX_CLIENTS; i++)
		if (api.clients[i].fd >= 0 && api.clients[i].out_len)
			return true;
	return false;
}

static void *api_thread(void *arg)
{
	bool stopping = false;
	struct timespec end, now;
	unsigned int i;

	(void)arg;
	prctl(PR_SET_NAME, "kvmini-api");
	/*
	 * Below the vCPUs and the event loop: loading this thread's filter at
	 * start must not delay the guest's boot on a small host. Requests are
	 * rare; an idle API sleeps in poll().
	 */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0) {
		/* not fatal: the API merely competes with the guest at start */
	}
	if (sandbox_enter_io(&api_class))
		goto out;
	while (!stopping)
		serve_once(-1, &stopping);
	/* the last events (STOP) to the subscribers, for a moment at most */
	deliver_events();
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += (long)API_DRAIN_MS * 1000000L;
	end.tv_sec += end.tv_nsec / 1000000000L;
	end.tv_nsec %= 1000000000L;
	while (any_output()) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000L + (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (left <= 0)
			break;
		serve_once((int)left, &stopping);
	}
out:
	for (i = 0; i < API_MAX_CLIENTS; i++)
		if (api.clients[i].fd >= 0)
			client_close(&api.clients[i]);
	api.nr = 0;
	return NULL;
}

int api_start(int listen_fd, uid_t owner, const char *name)
{
	unsigned int i;
	int ret;

	api.listen_fd = listen_fd;
	api.owner = owner;
	snprintf(api.name, sizeof(api.name), "%s", name);
	for (i = 0; i < API_MAX_CLIENTS; i++)
		api.clients[i].fd = -1;
	api.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (api.stop_fd < 0) {
		kv_err("eventfd for the API thread failed: %s", strerror(errno));
		return -errno;
	}
	ret = pthread_create(&api.thread, NULL, api_thread, NULL);
	if (ret) {
		kv_err("cannot start the API thread: %s", strerror(ret));
		close(api.stop_fd);
		api.stop_fd = -1;
		return -ret;
	}
	api.started = true;
	return 0;
}

void api_stop(void)
{
	uint64_t one = 1;

	if (!api.started)
		return;
	sandbox_abort();	/* still waiting for setup (the first VM failed): give up */
	if (write(api.stop_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot be full: one write */
	}
	pthread_join(api.thread, NULL);
	api.started = false;
	close(api.stop_fd);
	api.stop_fd = -1;
}
