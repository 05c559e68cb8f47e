/*
 * Names, the API socket and the pidfile of a `kvmini run`. Both files are
 * made before any thread, jail or privilege drop, and removed through an
 * fd of their directory (which outlives a --jail's pivot_root), only if
 * the name still refers to the file kvmini made.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "instance.h"
#include "kvmini-features.h"
#include "log.h"

int instance_runtime_dir(char *buf, size_t size, bool create, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t uid = geteuid();
	struct stat st;

	if (uid == 0)
		snprintf(buf, size, "/run/kvmini");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, size, "%s/kvmini", xdg);
	else
		snprintf(buf, size, "/tmp/kvmini-%u", (unsigned int)uid);
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the runtime directory %s: %s", buf,
			 strerror(errno));
		return -errno;
	}
	if (lstat(buf, &st) < 0) {
		snprintf(err, errlen, "no runtime directory %s: %s", buf, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022)) {
		snprintf(err, errlen, "the runtime directory %s is not a directory of uid %u "
			 "that only it may write; remove it, or set XDG_RUNTIME_DIR", buf,
			 (unsigned int)uid);
		return -EPERM;
	}
	return 0;
}

/* Remember @path's directory (an O_PATH fd), base name and identity. */
static int file_track(struct instance_file *f, const char *path, int fd)
{
	char copy[PATH_MAX];
	struct stat st;

	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(f->base, sizeof(f->base), "%s", basename(copy));
	snprintf(copy, sizeof(copy), "%s", path);
	f->dir_fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0)
		return -errno;
	if ((fd >= 0 ? fstat(fd, &st) : fstatat(f->dir_fd, f->base, &st, AT_SYMLINK_NOFOLLOW)) < 0)
		return -errno;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

static void file_remove(struct instance_file *f)
{
	struct stat st;

	if (f->dir_fd < 0)
		return;
	if (!fstatat(f->dir_fd, f->base, &st, AT_SYMLINK_NOFOLLOW) && st.st_dev == f->dev &&
	    st.st_ino == f->ino)
		unlinkat(f->dir_fd, f->base, 0);
	close(f->dir_fd);
	f->dir_fd = -1;
}

static int write_pidfile(struct instance *in, const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char line[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		kv_err("--pidfile %s: %s; give a writable path", path, strerror(errno));
		return -errno;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		kv_err("--pidfile %s is locked by another running kvmini; give another path",
		       path);
		close(fd);
		return -EBUSY;
	}
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, line, (size_t)n) != n) {
		kv_err("--pidfile %s: cannot write: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -EIO;
	}
	in->pid_fd = fd;
	if (file_track(&in->pidfile, path, fd)) {
		kv_err("--pidfile %s: cannot open its directory: %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Is a kvmini listening at @addr? A socket nobody listens on is stale. */
static bool socket_alive(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return true;	/* cannot tell: do not remove it */
	alive = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ||
		errno != ECONNREFUSED;
	close(fd);
	return alive;
}

static int make_socket(struct instance *in, const char *path, bool named_default)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		kv_err("the API socket path %s is longer than %zu bytes; give a shorter "
		       "--api-socket", path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			kv_err("%s exists and is not a socket; remove it or give another "
			       "--api-socket", path);
			return -EEXIST;
		}
		if (socket_alive(&addr)) {
			if (named_default)
				kv_err("a VM named '%s' is already running (socket %s); give "
				       "another --name", in->name, path);
			else
				kv_err("--api-socket %s: another kvmini listens there; give "
				       "another path", path);
			return -EEXIST;
		}
		kv_debug("replacing the stale API socket %s", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		kv_err("cannot create the API socket: %s", strerror(errno));
		return -errno;
	}
	old = umask(0177);	/* mode 0600 from the start */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		umask(old);
		close(fd);
		if (e == EADDRINUSE)
			kv_err("a VM named '%s' is starting at %s; give another --name", in->name,
			       path);
		else
			kv_err("cannot bind the API socket %s: %s; give another --api-socket "
			       "or none", path, strerror(e));
		return -e;
	}
	umask(old);
	if (listen(fd, 128) < 0 || file_track(&in->sock, path, -1)) {
		kv_err("cannot listen on the API socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -EIO;
	}
	in->sock_fd = fd;
	return 0;
}

int instance_setup(struct instance *in, const struct vm_config *cfg)
{
	char dir[PATH_MAX], err[PATH_MAX + 160], path[PATH_MAX + CONFIG_NAME_MAX + 8];
	int ret;

	memset(in, 0, sizeof(*in));
	in->sock_fd = in->pid_fd = -1;
	in->sock.dir_fd = in->pidfile.dir_fd = -1;
	in->owner = getuid();
	in->pid = (int)getpid();
	if (cfg->name)
		snprintf(in->name, sizeof(in->name), "%s", cfg->name);
	else
		snprintf(in->name, sizeof(in->name), "kvmini-%d", (int)getpid());
	if (cfg->pidfile) {
		ret = write_pidfile(in, cfg->pidfile);
		if (ret)
			return ret;
	}
	if (!KVMINI_HAVE_API || (cfg->api_socket && !strcmp(cfg->api_socket, "none")))
		return 0;	/* no control plane in this build, or none asked for */
	if (cfg->api_socket)
		return make_socket(in, cfg->api_socket, false);
	ret = instance_runtime_dir(dir, sizeof(dir), true, err, sizeof(err));
	if (ret) {
		/* the VM runs anyway; only the control plane is missing */
		kv_warn("%s; this VM has no API socket (kvmini list will not show it); give "
			"--api-socket PATH, or none to silence this", err);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s.sock", dir, in->name);
	return make_socket(in, path, true);
}

void instance_close(struct instance *in)
{
	if (in->sock_fd >= 0)
		close(in->sock_fd);
	in->sock_fd = -1;
}

void instance_remove(struct instance *in)
{
	file_remove(&in->sock);
	file_remove(&in->pidfile);
	if (in->pid_fd >= 0)
		close(in->pid_fd);
	in->pid_fd = -1;
}

void instance_set_title(const char *name)
{
	char comm[16];

	/* ps, top and /proc/PID/comm: "kvmini:NAME", in the kernel's 15 bytes */
	snprintf(comm, sizeof(comm), "kvmini:%s", name);
	prctl(PR_SET_NAME, comm);
}
