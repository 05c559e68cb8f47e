/*
 * The client side of the API socket: find a VM by name in the runtime
 * directory, send one request, print the reply as text or --json.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "client.h"
#include "config.h"
#include "control.h"
#include "instance.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define REPLY_TIMEOUT_MS 10000	/* a live kvmini answers at once; this is for a stuck one */
#define LIST_TIMEOUT_MS 2000	/* list: a VM that does not greet by then is left out */

struct conn {
	int fd;
	char buf[API_LINE_MAX + 1];
	size_t len;
	char path[INSTANCE_PATH_MAX];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* NAME, or a socket path (with a '/'), to the socket's path. */
static int socket_path(const char *name, char *path, size_t size)
{
	char dir[PATH_MAX], err[PATH_MAX + 160];

	if (strchr(name, '/')) {
		if (strlen(name) >= size) {
			kv_err("socket path %s is too long", name);
			return CLIENT_ERROR;
		}
		snprintf(path, size, "%s", name);
		return 0;
	}
	if (!config_name_valid(name)) {
		kv_err("'%s' is not a VM name; 'kvmini list' shows the running ones", name);
		return CLIENT_NO_VM;
	}
	if (instance_runtime_dir(dir, sizeof(dir), false, err, sizeof(err))) {
		kv_err("no VM named '%s' (%s); 'kvmini list' shows the running ones", name, err);
		return CLIENT_NO_VM;
	}
	if ((size_t)snprintf(path, size, "%s/%s.sock", dir, name) >= size) {
		kv_err("the socket path for '%s' is too long", name);
		return CLIENT_ERROR;
	}
	return 0;
}

/* Read one line (without '\n') into *@line before @deadline. 0, -ETIMEDOUT, -EPIPE, -E2BIG. */
static int read_line(struct conn *c, char **line, long long deadline)
{
	static char out[API_LINE_MAX + 1];

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf);

			memcpy(out, c->buf, l);
			out[l] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			*line = out;
			return 0;
		}
		if (c->len == API_LINE_MAX)
			return -E2BIG;
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left > 0 && left < 1 << 30 ? left : -1)) < 0 && errno != EINTR)
			return -EPIPE;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c->fd, c->buf + c->len, API_LINE_MAX - c->len);
		if (n <= 0)
			return -EPIPE;
		c->len += (size_t)n;
	}
}

/*
 * Connect to @name's socket and read its greeting. 0 or a CLIENT_ status
 * (said, unless @quiet: kvmini list).
 */
static int conn_open(struct conn *c, const char *name, bool quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *line;
	int ret;

	c->len = 0;
	ret = socket_path(name, c->path, sizeof(c->path));
	if (ret)
		return ret;
	memcpy(addr.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		kv_err("socket: %s", strerror(errno));
		return CLIENT_ERROR;
	}
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		if (quiet)
			return CLIENT_NO_VM;
		if (e == ENOENT || e == ECONNREFUSED)
			kv_err("no VM named '%s' (%s %s); 'kvmini list' shows the running ones",
			       name, e == ENOENT ? "no socket" : "nobody listens at", c->path);
		else
			kv_err("cannot connect to %s: %s", c->path, strerror(e));
		return e == ENOENT || e == ECONNREFUSED ? CLIENT_NO_VM : CLIENT_ERROR;
	}
	ret = read_line(c, &line, now_ms() + (quiet ? LIST_TIMEOUT_MS : REPLY_TIMEOUT_MS));
	if (!ret) {
		struct json_object *g = json_tokener_parse(line), *k, *v;

		if (json_object_object_get_ex(g, "error", &v)) {
			struct json_object *m;

			json_object_object_get_ex(v, "message", &m);
			if (!quiet)
				kv_err("%s refused the connection: %s", name,
				       m ? json_object_get_string(m) : line);
			json_object_put(g);
			close(c->fd);
			c->fd = -1;
			return CLIENT_ERROR;
		}
		if (!json_object_object_get_ex(g, "kvmini", &k) ||
		    !json_object_object_get_ex(k, "api", &v) ||
		    json_object_get_int(v) != API_VERSION)
			ret = -EPROTO;
		json_object_put(g);
	}
	if (ret) {
		if (!quiet)
			kv_err("%s at %s did not greet as kvmini API %d does", name, c->path,
			       API_VERSION);
		close(c->fd);
		c->fd = -1;
		return CLIENT_ERROR;
	}
	return 0;
}

/* The request line, with @nfds (at most 2) open files attached (SCM_RIGHTS). */
static int conn_send_fds(struct conn *c, struct json_object *req, const int *fds,
			 unsigned int nfds)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	union {
		char b[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)s, .iov_len = strlen(s) },
		{ .iov_base = (void *)"\n", .iov_len = 1 },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctrl, 0, sizeof(ctrl));
		m.msg_control = ctrl.b;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
	if (n != (ssize_t)(iov[0].iov_len + 1)) {
		kv_err("cannot write to %s: %s", c->path, n < 0 ? strerror(errno) : "short write");
		return CLIENT_ERROR;
	}
	return 0;
}

/*
 * Send {"execute": @cmd, "arguments": @args} (with @pass_fd, if >= 0) and
 * wait for its reply (events skipped).
 */
static int conn_call_fd(struct conn *c, const char *cmd, struct json_object *args,
			int pass_fd, struct json_object **reply)
{
	struct json_object *req = json_object_new_object(), *v;
	char *line;
	int ret;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", args);
	ret = conn_send_fds(c, req, &pass_fd, pass_fd >= 0);
	json_object_put(req);
	if (ret)
		return ret;
	for (;;) {
		ret = read_line(c, &line, now_ms() + REPLY_TIMEOUT_MS);
		if (ret) {
			kv_err("%s: no reply to %s (%s)", c->path, cmd,
			       ret == -ETIMEDOUT ? "timed out" : "connection closed");
			return CLIENT_ERROR;
		}
		*reply = json_tokener_parse(line);
		if (*reply && !json_object_object_get_ex(*reply, "event", &v))
			return 0;
		json_object_put(*reply);
	}
}

static int conn_call(struct conn *c, const char *cmd, struct json_object *args,
		     struct json_object **reply)
{
	return conn_call_fd(c, cmd, args, -1, reply);
}

/* The error member of @reply, said; CLIENT_REFUSED. */
static int report_error(const char *name, const char *cmd, struct json_object *reply)
{
	struct json_object *e, *m;

	if (json_object_object_get_ex(reply, "error", &e) &&
	    json_object_object_get_ex(e, "message", &m))
		kv_err("%s: %s refused: %s", name, cmd, json_object_get_string(m));
	else
		kv_err("%s: %s: unexpected reply", name, cmd);
	return CLIENT_REFUSED;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	s = json_object_get_string(v);
	return s ? s : "";
}

static long long member_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void format_size(char *buf, size_t size, unsigned long long bytes)
{
	if (bytes >= (1ULL << 30) && !(bytes % (1ULL << 30)))
		snprintf(buf, size, "%lluG", bytes >> 30);
	else if (bytes >= (1ULL << 20) || !bytes)
		snprintf(buf, size, "%lluM", bytes >> 20);
	else
		snprintf(buf, size, "%lluK", bytes >> 10);
}

static void format_uptime(char *buf, size_t size, long long ms)
{
	long long s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, size, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%lld.%01llds", s, ms % 1000 / 100);
}

static void print_row(struct json_object *info)
{
	char mem[24], up[32];

	format_size(mem, sizeof(mem), (unsigned long long)member_int(info, "memory"));
	format_uptime(up, sizeof(up), member_int(info, "uptime_ms"));
	printf("%-24s %8lld %-9s %4lld %7s %10s\n", member_str(info, "name"),
	       member_int(info, "pid"), member_str(info, "state"), member_int(info, "cpus"), mem,
	       up);
}

static void print_info(struct json_object *info)
{
	struct json_object *devs;
	char mem[24], up[32];
	size_t i;

	format_size(mem, sizeof(mem), (unsigned long long)member_int(info, "memory"));
	format_uptime(up, sizeof(up), member_int(info, "uptime_ms"));
	printf("name:    %s\npid:     %lld\nstate:   %s\nuptime:  %s\ncpus:    %lld\n"
	       "memory:  %s\nkernel:  %s\ndevices:\n", member_str(info, "name"),
	       member_int(info, "pid"), member_str(info, "state"), up, member_int(info, "cpus"),
	       mem, member_str(info, "kernel"));
	if (!json_object_object_get_ex(info, "devices", &devs))
		return;
	for (i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i), *v;
		char irq[16] = "";

		if (json_object_object_get_ex(d, "irq", &v))
			snprintf(irq, sizeof(irq), "irq %d", json_object_get_int(v));
		printf("  %-12s %-14s %-12s %-6s %-12s %s\n", member_str(d, "name"),
		       member_str(d, "type"), member_str(d, "role"),
		       json_object_object_get_ex(d, "port", NULL) ? "port" : "mmio",
		       json_object_object_get_ex(d, "port", NULL) ? member_str(d, "port") :
								    member_str(d, "address"),
		       irq);
	}
	if (!json_object_object_get_ex(info, "disks", &devs) || !json_object_array_length(devs))
		return;
	printf("disks:\n");
	for (i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i), *v;
		bool ro = json_object_object_get_ex(d, "readonly", &v) && json_object_get_boolean(v);
		bool tmp = json_object_object_get_ex(d, "snapshot", &v) && json_object_get_boolean(v);
		long long depth = member_int(d, "backing_depth");

		format_size(mem, sizeof(mem), (unsigned long long)member_int(d, "size"));
		printf("  %-12s %-5s %8s %s%s%s", member_str(d, "name"), member_str(d, "format"), mem,
		       member_str(d, "path"), ro ? " (read-only)" : "", tmp ? " (snapshot=on)" : "");
		if (depth)
			printf(" over %lld backing file%s", depth, depth > 1 ? "s" : "");
		printf("\n");
	}
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	char dir[PATH_MAX], err[PATH_MAX + 160];
	struct json_object *all = json_object_new_array();
	char *names[1024];
	unsigned int n = 0, i;
	bool json = false;
	struct dirent *de;
	DIR *d;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			printf("usage: kvmini list [--json]\n");
			json_object_put(all);
			return CLIENT_OK;
		} else {
			kv_err("usage: kvmini list [--json]");
			json_object_put(all);
			return CLIENT_ERROR;
		}
	}
	if (optind < argc) {
		kv_err("kvmini list takes no arguments; use kvmini info NAME for one VM");
		json_object_put(all);
		return CLIENT_ERROR;
	}
	d = instance_runtime_dir(dir, sizeof(dir), false, err, sizeof(err)) ? NULL : opendir(dir);
	while (d && (de = readdir(d)) && n < 1024) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".sock")) {
			names[n] = strndup(de->d_name, l - 5);
			if (names[n] && config_name_valid(names[n]))
				n++;
			else
				free(names[n]);
		}
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	if (!json)
		printf("%-24s %8s %-9s %4s %7s %10s\n", "NAME", "PID", "STATE", "CPUS", "MEMORY",
		       "UPTIME");
	for (i = 0; i < n; i++) {
		struct json_object *reply = NULL, *info;
		struct conn *cn = malloc(sizeof(*cn));

		/* a stale socket (its kvmini was killed) is no VM: skipped */
		if (cn && !conn_open(cn, names[i], true)) {
			if (!conn_call(cn, "info", NULL, &reply) &&
			    json_object_object_get_ex(reply, "return", &info)) {
				if (json)
					json_object_array_add(all, json_object_get(info));
				else
					print_row(info);
			}
			json_object_put(reply);
			close(cn->fd);
		}
		free(cn);
		free(names[i]);
	}
	if (json)
		print_json(all);
	json_object_put(all);
	return CLIENT_OK;
}

int client_request(const char *name, const char *cmd, struct json_object **reply)
{
	struct conn *c = malloc(sizeof(*c));
	int ret;

	if (!c)
		return CLIENT_ERROR;
	ret = conn_open(c, name, true);
	if (!ret) {
		ret = conn_call(c, cmd, NULL, reply);
		close(c->fd);
	}
	free(c);
	return ret;
}

static void control_usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "stop"))
		fprintf(f, "usage: kvmini stop [--force] [--timeout SECONDS] [--json] NAME\n");
	else
		fprintf(f, "usage: kvmini %s [--json] NAME\n", cmd);
}

/* stop: the button, then wait for the STOP event (or the socket to close). */
static int do_stop(struct conn *c, const char *name, bool force, double timeout, bool json)
{
	struct json_object *reply = NULL, *args = json_object_new_object(), *v, *data;
	long long deadline = now_ms() + (long long)(timeout * 1000) + REPLY_TIMEOUT_MS;
	char *line;
	int ret;

	ret = conn_call(c, "events", NULL, &reply);
	if (!ret && !json_object_object_get_ex(reply, "return", &v))
		ret = report_error(name, "events", reply);
	json_object_put(reply);
	reply = NULL;
	if (ret) {
		json_object_put(args);
		return ret;
	}
	json_object_object_add(args, "timeout", json_object_new_double(timeout));
	json_object_object_add(args, "force", json_object_new_boolean(force));
	ret = conn_call(c, "stop", args, &reply);
	if (ret)
		return ret;
	if (!json_object_object_get_ex(reply, "return", &v)) {
		ret = report_error(name, "stop", reply);
		json_object_put(reply);
		return ret;
	}
	json_object_put(reply);
	for (;;) {
		struct json_object *ev;

		ret = read_line(c, &line, deadline);
		if (ret == -ETIMEDOUT) {
			kv_err("%s did not stop within %.0f seconds", name,
			       timeout + REPLY_TIMEOUT_MS / 1000);
			return CLIENT_ERROR;
		}
		if (ret)
			return CLIENT_OK;	/* kvmini exited: the socket closed */
		ev = json_tokener_parse(line);
		if (ev && json_object_object_get_ex(ev, "event", &v) &&
		    !strcmp(json_object_get_string(v), "STOP") &&
		    json_object_object_get_ex(ev, "data", &data)) {
			const char *reason = member_str(data, "reason");

			if (json)
				print_json(ev);
			else if (!strcmp(reason, "forced") && !force)
				printf("%s: the guest did not power off within %g seconds; "
				       "stopped it\n", name, timeout);
			else
				printf("%s: stopped (%s, status %lld)\n", name, reason,
				       member_int(data, "status"));
			ret = !strcmp(reason, "forced") && !force ? CLIENT_FORCED : CLIENT_OK;
			json_object_put(ev);
			return ret;
		}
		json_object_put(ev);
	}
}

int cmd_control(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = argv[0];
	bool is_stop = !strcmp(cmd, "stop");
	struct json_object *reply = NULL, *ret_obj;
	double timeout = API_DEFAULT_STOP_TIMEOUT;
	bool json = false, force = false;
	struct conn *c;
	char *end;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'f':
		case 't':
			if (!is_stop) {
				kv_err("kvmini %s takes no --%s; it is an option of kvmini stop", cmd,
				       opt == 'f' ? "force" : "timeout");
				return CLIENT_ERROR;
			}
			if (opt == 'f') {
				force = true;
				break;
			}
			errno = 0;
			timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(timeout >= 0) ||
			    timeout > API_MAX_STOP_TIMEOUT) {
				kv_err("--timeout %s: give seconds, 0 to 86400", optarg);
				return CLIENT_ERROR;
			}
			break;
		case 'h':
			control_usage(stdout, cmd);
			return CLIENT_OK;
		default:
			control_usage(stderr, cmd);
			return CLIENT_ERROR;
		}
	}
	if (optind != argc - 1) {
		kv_err("kvmini %s needs one VM name; 'kvmini list' shows them", cmd);
		return CLIENT_ERROR;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		kv_err("out of memory");
		return CLIENT_ERROR;
	}
	ret = conn_open(c, argv[optind], false);
	if (ret) {
		free(c);
		return ret;
	}
	if (is_stop) {
		ret = do_stop(c, argv[optind], force, timeout, json);
	} else {
		ret = conn_call(c, cmd, NULL, &reply);
		if (!ret && !json_object_object_get_ex(reply, "return", &ret_obj))
			ret = report_error(argv[optind], cmd, reply);
		else if (!ret && !strcmp(cmd, "info"))
			json ? print_json(ret_obj) : print_info(ret_obj);
		else if (!ret && json)
			print_json(reply);
		json_object_put(reply);
	}
	close(c->fd);
	free(c);
	return ret;
}

/* Beside @top: its name without .qcow2, .raw or .img, then .snap-DATE-TIME.qcow2 */
static int default_overlay(const char *top, char *out, size_t size)
{
	static const char *const exts[] = { ".qcow2", ".raw", ".img" };
	size_t n = strlen(top), i;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	for (i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t e = strlen(exts[i]);

		if (n > e && !strcmp(top + n - e, exts[i])) {
			n -= e;
			break;
		}
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	return snprintf(out, size, "%.*s.snap-%s.qcow2", (int)n, top, when) >= (int)size ? -1 : 0;
}

/* Whether the VM at the other end runs as this user. */
static bool same_owner(struct conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return !getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) && cr.uid == geteuid();
}

/* One disk @d of @name onto a new overlay @file (NULL: the default name). */
static int snapshot_one(struct conn *c, const char *name, struct json_object *d,
			const char *file)
{
	const char *disk = member_str(d, "name"), *top = member_str(d, "path");
	char path[PATH_MAX], full[PATH_MAX];
	struct json_object *args, *reply = NULL, *v;
	int fd, ret;

	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else if (default_overlay(top, path, sizeof(path))) {
		kv_err("%s: %s: the overlay's default name is too long; give --file", name, disk);
		return CLIENT_ERROR;
	}
	/* 0600: the guest's writes from now on are no more readable than need be */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		kv_err("%s: %s: cannot create %s: %s%s", name, disk, path, strerror(errno),
		       errno == EEXIST ? "; give --file with a new name" : "");
		return CLIENT_ERROR;
	}
	if (!realpath(path, full)) {
		kv_err("%s: %s: %s: %s", name, disk, path, strerror(errno));
		unlink(path);
		close(fd);
		return CLIENT_ERROR;
	}
	args = json_object_new_object();
	json_object_object_add(args, "disk", json_object_new_string(disk));
	json_object_object_add(args, "file", json_object_new_string(full));
	ret = conn_call_fd(c, "snapshot-disk", args, fd, &reply);
	close(fd);
	if (ret) {
		/* no answer: the switch may have happened, so the file may be in use */
		kv_err("%s: %s: kvmini did not answer; %s is left in place: 'kvmini info %s' "
		       "says whether the disk writes to it (if not, remove it)", name, disk, full,
		       name);
	} else if (!json_object_object_get_ex(reply, "return", &v)) {
		ret = report_error(name, "snapshot-disk", reply);
		unlink(full);	/* refused: the disk stayed on its image */
	} else {
		printf("%s: %s: %s is now a read-only base; writes go to %s\n", name, disk, top,
		       full);
	}
	json_object_put(reply);
	return ret;
}

int client_snapshot_disk(const char *name, const char *disk, const char *file)
{
	struct conn *c = malloc(sizeof(*c));
	struct json_object *reply = NULL, *info, *disks, *pick[CONTROL_MAX_DISKS];
	size_t i, n = 0;
	int ret;

	if (!c)
		return CLIENT_ERROR;
	ret = conn_open(c, name, false);
	if (ret) {
		free(c);
		return ret;
	}
	ret = conn_call(c, "info", NULL, &reply);
	if (!ret && (!json_object_object_get_ex(reply, "return", &info) ||
		     !json_object_object_get_ex(info, "disks", &disks) ||
		     !json_object_is_type(disks, json_type_array)))
		ret = report_error(name, "info", reply);
	if (!ret && !file && !same_owner(c)) {
		/* the default name comes from the VM's own report of its image's path */
		kv_err("%s runs as another user: give --file for each disk (with --disk)", name);
		ret = CLIENT_ERROR;
	}
	for (i = 0; !ret && i < json_object_array_length(disks) && n < CONTROL_MAX_DISKS; i++) {
		struct json_object *d = json_object_array_get_idx(disks, i), *v;
		bool ro = json_object_object_get_ex(d, "readonly", &v) && json_object_get_boolean(v);
		bool tmp = json_object_object_get_ex(d, "snapshot", &v) && json_object_get_boolean(v);

		if (disk && strcmp(member_str(d, "name"), disk) && strcmp(member_str(d, "id"), disk))
			continue;
		if (disk && (ro || tmp)) {
			kv_err("%s: disk %s is %s: it has nothing to snapshot", name, disk,
			       ro ? "read-only" : "snapshot=on (its writes are thrown away)");
			ret = CLIENT_REFUSED;
			break;
		}
		if (!ro && !tmp)
			pick[n++] = d;
	}
	if (!ret && !n) {
		if (disk)
			kv_err("%s: no disk '%s'; 'kvmini info %s' lists them (name or id)", name,
			       disk, name);
		else
			kv_err("%s: no writable disk to snapshot", name);
		ret = CLIENT_REFUSED;
	}
	if (!ret && file && n > 1) {
		kv_err("%s: --file names one overlay, and %zu disks would be snapshotted; give "
		       "--disk NAME too", name, n);
		ret = CLIENT_ERROR;
	}
	for (i = 0; !ret && i < n; i++)
		ret = snapshot_one(c, name, pick[i], file);
	json_object_put(reply);
	close(c->fd);
	free(c);
	return ret;
}

#define SNAPSHOT_TIMEOUT_MS (10 * 60 * 1000)	/* writing guest RAM out can take a while */
#define SNAPSHOT_USAGE "usage: kvmini snapshot [--resume|--stop] [--json] NAME DIR\n"

static const char *const snap_names[2] = { "state", "memory" };

/* DIR/NAME, or DIR/.NAME.new while the VM writes it. */
static int snap_path(char *path, size_t size, const char *dir, unsigned int i, bool fresh)
{
	int n = snprintf(path, size, fresh ? "%s/.%s.new" : "%s/%s", dir, snap_names[i]);

	if (n < 0 || (size_t)n >= size) {
		kv_err("snapshot: %s: the path is too long", dir);
		return CLIENT_ERROR;
	}
	return 0;
}

/*
 * DIR, made if missing, and two new files in it, opened here with the
 * user's rights: the VM's filters let it write only into files it is
 * handed. A snapshot already in DIR stays until the new one is complete.
 */
static int snapshot_files(const char *dir, int fds[2])
{
	char path[PATH_MAX];
	unsigned int i;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		kv_err("snapshot: cannot make %s: %s", dir, strerror(errno));
		return CLIENT_ERROR;
	}
	for (i = 0; i < 2; i++) {
		if (snap_path(path, sizeof(path), dir, i, true))
			goto err;
		unlink(path);	/* left by a snapshot that was interrupted */
		fds[i] = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fds[i] < 0) {
			kv_err("snapshot: cannot create %s: %s; give a directory you may write",
			       path, strerror(errno));
			goto err;
		}
	}
	return 0;
err:
	while (i--) {
		close(fds[i]);
		fds[i] = -1;
	}
	return CLIENT_ERROR;
}

/*
 * The VM saved: the new files take the names, memory first (a state file
 * is never newer than the memory beside it). Refused: they go.
 */
static int snapshot_finish(const char *dir, bool saved)
{
	char from[PATH_MAX], to[PATH_MAX];
	unsigned int i;
	int ret = 0;

	for (i = 2; i-- > 0;) {
		if (snap_path(from, sizeof(from), dir, i, true) ||
		    snap_path(to, sizeof(to), dir, i, false))
			return CLIENT_ERROR;
		if (!saved || ret) {
			unlink(from);
		} else if (rename(from, to) < 0) {
			kv_err("snapshot: cannot rename %s to %s: %s", from, to, strerror(errno));
			unlink(from);
			ret = CLIENT_ERROR;
		}
	}
	return ret;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resume", no_argument, NULL, 'r' },
		{ "stop", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct json_object *req, *args, *reply = NULL, *v;
	const char *name, *dir;
	bool stop = false, json = false;
	int fds[2] = { -1, -1 };
	struct conn *c;
	char *line;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			stop = false;
			break;
		case 's':
			stop = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(SNAPSHOT_USAGE, stdout);
			return CLIENT_OK;
		default:
			fputs(SNAPSHOT_USAGE, stderr);
			return CLIENT_ERROR;
		}
	}
	if (optind != argc - 2) {
		kv_err("kvmini snapshot needs a VM name and a directory; " SNAPSHOT_USAGE);
		return CLIENT_ERROR;
	}
	name = argv[optind];
	dir = argv[optind + 1];
	c = malloc(sizeof(*c));
	if (!c) {
		kv_err("out of memory");
		return CLIENT_ERROR;
	}
	ret = conn_open(c, name, false);
	if (ret) {
		free(c);
		return ret;
	}
	ret = snapshot_files(dir, fds);
	if (ret) {
		snapshot_finish(dir, false);
		goto out;
	}
	req = json_object_new_object();
	args = json_object_new_object();
	json_object_object_add(args, "dir", json_object_new_string(dir));
	json_object_object_add(args, "then", json_object_new_string(stop ? "stop" : "resume"));
	json_object_object_add(req, "execute", json_object_new_string("snapshot"));
	json_object_object_add(req, "arguments", args);
	ret = conn_send_fds(c, req, fds, 2);
	json_object_put(req);
	close(fds[0]);
	close(fds[1]);
	while (!ret) {
		ret = read_line(c, &line, now_ms() + SNAPSHOT_TIMEOUT_MS);
		if (ret) {
			kv_err("%s: no reply to snapshot (%s)", name,
			       ret == -ETIMEDOUT ? "timed out" : "connection closed");
			ret = CLIENT_ERROR;
			break;
		}
		reply = json_tokener_parse(line);
		if (reply && !json_object_object_get_ex(reply, "event", &v))
			break;
		json_object_put(reply);
		reply = NULL;
	}
	if (!ret && !json_object_object_get_ex(reply, "return", &v))
		ret = report_error(name, "snapshot", reply);
	if (snapshot_finish(dir, !ret) && !ret)
		ret = CLIENT_ERROR;
	if (!ret && json)
		print_json(reply);
	else if (!ret)
		printf("%s: saved to %s; %s\n", name, dir, stop ? "stopped" : "running");
	json_object_put(reply);
out:
	close(c->fd);
	free(c);
	return ret;
}
