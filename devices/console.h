/* Where the guest console (COM1) goes: --serial stdio|file=PATH|pty|null|none. */
#ifndef KVMINI_CONSOLE_H
#define KVMINI_CONSOLE_H

#include <limits.h>
#include <stdbool.h>

#include "errmsg.h"

/* CONSOLE_NONE: no COM1 at all, as QEMU's -serial none */
enum console_backend { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_PTY, CONSOLE_NULL, CONSOLE_NONE };

struct console_config {
	enum console_backend backend;
	char path[PATH_MAX];		/* file= */
};

/* The host end, opened once before the first VM and kept across restarts. */
struct console_host {
	int in_fd, out_fd;		/* -1: none */
	int pty_peer;			/* the pty's other end, held open (below), or -1 */
	bool own_fds;			/* opened here, closed by console_close() */
	bool keys;			/* a terminal in the foreground: raw mode, Ctrl-A keys */
	char name[PATH_MAX + 8];	/* for messages: "stdout", the file, the pty */
};

#define CONSOLE_SYNTAX "use --serial stdio, file=PATH, pty, null or none"

/* Parse @opts into @c; -EINVAL with @err set. */
int console_parse(struct console_config *c, const char *opts, struct errmsg *err);

/*
 * Open what @c names into @h. stdio started in the background (its terminal's
 * foreground process group is another) takes no input and leaves the terminal
 * alone; a pty is announced on stderr.
 */
int console_open(const struct console_config *c, struct console_host *h, struct errmsg *err);
void console_close(struct console_host *h);

#endif
