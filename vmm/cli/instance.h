/*
 * A running kvmini as others find it: its name, its API socket in the
 * runtime directory, its pidfile and its process title.
 */
#ifndef KVMINI_INSTANCE_H
#define KVMINI_INSTANCE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "config.h"

#define INSTANCE_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A file kvmini made and removes at exit: through its directory, if it is still the same. */
struct instance_file {
	char path[PATH_MAX];
	int dir_fd;		/* O_PATH of its directory, -1: none */
	char base[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
};

struct instance {
	char name[CONFIG_NAME_MAX + 1];
	int pid;		/* kvmini's, as the host sees it */
	uid_t owner;		/* who started kvmini: the API serves them and root */
	int sock_fd;		/* listening, -1: --api-socket none */
	struct instance_file sock;
	int pid_fd;		/* the pidfile, locked, -1: none */
	struct instance_file pidfile;
};

/*
 * The runtime directory for the calling user's sockets:
 * $XDG_RUNTIME_DIR/kvmini, /run/kvmini for root, else /tmp/kvmini-UID.
 * With @create, made mode 0700 if missing. It must be a directory of the
 * user's, not writable by others. 0 or -errno, @err says why.
 */
int instance_runtime_dir(char *buf, size_t size, bool create, char *err, size_t errlen);

/*
 * Before any thread exists: the name (--name, or kvmini-PID), the
 * pidfile and the listening API socket (a stale one replaced, a live one
 * refused). 0 or -errno after kv_err().
 */
int instance_setup(struct instance *in, const struct vm_config *cfg);
/* Close the socket and the pidfile (the API thread has stopped). */
void instance_close(struct instance *in);
/* Remove the socket and the pidfile; in the sandbox_defer() helper when there is one. */
void instance_remove(struct instance *in);
/* The main thread's title (ps, top, /proc/PID/comm): "kvmini:NAME", cut to 15 bytes. */
void instance_set_title(const char *name);

#endif
