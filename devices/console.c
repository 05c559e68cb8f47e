/*
 * The host end of the guest console: stdin/stdout (the default), an output
 * file, a pseudo-terminal, or nothing. Opened before the sandbox and the jail,
 * so the UART itself only reads and writes descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "log.h"

int console_parse(struct console_config *c, const char *opts, struct errmsg *err)
{
	memset(c, 0, sizeof(*c));
	if (!strcmp(opts, "stdio")) {
		c->backend = CONSOLE_STDIO;
	} else if (!strcmp(opts, "pty")) {
		c->backend = CONSOLE_PTY;
	} else if (!strcmp(opts, "null")) {
		c->backend = CONSOLE_NULL;
	} else if (!strcmp(opts, "none")) {
		c->backend = CONSOLE_NONE;
	} else if (!strncmp(opts, "file=", 5)) {
		if (!opts[5])
			return errmsg_set(err, -EINVAL, "%s: no file given; " CONSOLE_SYNTAX, opts);
		if (strlen(opts + 5) >= sizeof(c->path))
			return errmsg_set(err, -EINVAL, "%s: path too long", opts);
		c->backend = CONSOLE_FILE;
		strcpy(c->path, opts + 5);
	} else {
		return errmsg_set(err, -EINVAL, "%s: " CONSOLE_SYNTAX, opts);
	}
	return 0;
}

/*
 * A background job that reads its terminal is stopped by SIGTTIN, one that
 * sets its modes or writes with TOSTOP by SIGTTOU. In the background kvmini
 * therefore takes no console input and keeps the terminal's modes; it still
 * writes (SIGTTOU ignored), as the shell's other background jobs do.
 */
static bool in_background(int fd)
{
	pid_t fg = tcgetpgrp(fd);	/* fails unless fd is our controlling terminal */

	return fg > 0 && fg != getpgrp();
}

static int open_stdio(struct console_host *h)
{
	h->in_fd = STDIN_FILENO;
	h->out_fd = STDOUT_FILENO;
	snprintf(h->name, sizeof(h->name), "stdout");
	if (!isatty(STDIN_FILENO))
		return 0;
	if (in_background(STDIN_FILENO)) {
		signal(SIGTTOU, SIG_IGN);
		h->in_fd = -1;
		kv_info("started in the background: the console takes no input "
			"and the terminal keeps its settings");
		return 0;
	}
	h->keys = true;
	return 0;
}

/* A pty nobody has opened yet reads EIO on its master: keep its other end open. */
static int open_pty(struct console_host *h, struct errmsg *err)
{
	char path[64];
	struct termios tio;
	int m, peer;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return errmsg_set(err, -errno, "pty: cannot open a pseudo-terminal: %s; is "
				  "/dev/pts mounted?", strerror(errno));
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, path, sizeof(path))) {
		int e = errno;

		close(m);
		return errmsg_set(err, -e, "pty: cannot set up the pseudo-terminal: %s",
				  strerror(e));
	}
	peer = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0) {
		int e = errno;

		close(m);
		return errmsg_set(err, -e, "pty: cannot open %s: %s", path, strerror(e));
	}
	/* raw both ways, as a serial line: the program on the other end decides */
	if (tcgetattr(peer, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(peer, TCSANOW, &tio);
	}
	h->in_fd = h->out_fd = m;
	h->pty_peer = peer;
	h->own_fds = true;
	snprintf(h->name, sizeof(h->name), "%s", path);
	kv_info("serial console on %s (e.g. screen %s)", path, path);
	return 0;
}

int console_open(const struct console_config *c, struct console_host *h, struct errmsg *err)
{
	int fd;

	memset(h, 0, sizeof(*h));
	h->in_fd = h->out_fd = h->pty_peer = -1;
	switch (c->backend) {
	case CONSOLE_STDIO:
		return open_stdio(h);
	case CONSOLE_PTY:
		return open_pty(h, err);
	case CONSOLE_NONE:
		snprintf(h->name, sizeof(h->name), "none");
		return 0;	/* no UART: nothing to open */
	case CONSOLE_FILE:
	case CONSOLE_NULL:
		break;
	}
	fd = c->backend == CONSOLE_NULL ? open("/dev/null", O_WRONLY | O_CLOEXEC) :
		open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0666);
	if (fd < 0)
		return errmsg_set(err, -errno, "%s%s: %s", c->backend == CONSOLE_NULL ?
				  "null: /dev/null" : "file=", c->backend == CONSOLE_NULL ? "" :
				  c->path, strerror(errno));
	h->out_fd = fd;
	h->own_fds = true;
	snprintf(h->name, sizeof(h->name), "%s", c->backend == CONSOLE_NULL ? "/dev/null" :
		 c->path);
	return 0;
}

void console_close(struct console_host *h)
{
	if (!h->own_fds)
		return;
	if (h->out_fd >= 0)
		close(h->out_fd);
	if (h->in_fd >= 0 && h->in_fd != h->out_fd)
		close(h->in_fd);
	if (h->pty_peer >= 0)
		close(h->pty_peer);
	h->in_fd = h->out_fd = h->pty_peer = -1;
}
