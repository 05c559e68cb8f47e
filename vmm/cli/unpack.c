/*
 * The --volume copy-back: read the guest-written ext4 image with libext2fs
 * and recreate its tree beneath a staging directory, in a child process
 * with no privileges. Nothing here follows a name read from the image:
 * every entry is created relative to its parent's descriptor, as one path
 * component, with O_EXCL/O_NOFOLLOW (and RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * where openat2 exists).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <cap-ng.h>
#include <ext2fs/ext2fs.h>

#include "sandbox.h"
#include "unpack.h"

/*
 * libext2fs is loaded only where an image is read (the unpacker's child,
 * the fuzzer): a kvmini that never copies a volume back does not map it,
 * which keeps its memory overhead down. Typed through __typeof__, so the
 * calls are checked against the library's header as direct calls are.
 */
static struct {
	__typeof__(&ext2fs_open2) open2;
	__typeof__(&ext2fs_close_free) close_free;
	__typeof__(&ext2fs_read_inode) read_inode;
	__typeof__(&ext2fs_dir_iterate2) dir_iterate2;
	__typeof__(&ext2fs_file_open2) file_open2;
	__typeof__(&ext2fs_file_read) file_read;
	__typeof__(&ext2fs_file_close) file_close;
	__typeof__(&ext2fs_inline_data_size) inline_data_size;
	__typeof__(&ext2fs_inline_data_get) inline_data_get;
	__typeof__(&ext2fs_is_fast_symlink) is_fast_symlink;
	io_manager *unixfd;
} e2;

#define E2_SYM(field, name) { offsetof(__typeof__(e2), field), name }

/* dlopen() the library and find what the reader calls. 0, or -1 with @why set. */
static int e2_load(const char **why)
{
	static const struct { size_t off; const char *name; } syms[] = {
		E2_SYM(open2, "ext2fs_open2"),
		E2_SYM(close_free, "ext2fs_close_free"),
		E2_SYM(read_inode, "ext2fs_read_inode"),
		E2_SYM(dir_iterate2, "ext2fs_dir_iterate2"),
		E2_SYM(file_open2, "ext2fs_file_open2"),
		E2_SYM(file_read, "ext2fs_file_read"),
		E2_SYM(file_close, "ext2fs_file_close"),
		E2_SYM(inline_data_size, "ext2fs_inline_data_size"),
		E2_SYM(inline_data_get, "ext2fs_inline_data_get"),
		E2_SYM(is_fast_symlink, "ext2fs_is_fast_symlink"),
		E2_SYM(unixfd, "unixfd_io_manager"),
	};
	static void *lib;
	unsigned int i;

	if (lib)
		return 0;
	lib = dlopen(EXT2FS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		*why = dlerror();
		return -1;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *sym = dlsym(lib, syms[i].name);

		if (!sym) {
			*why = dlerror();
			dlclose(lib);
			lib = NULL;
			return -1;
		}
		memcpy((char *)&e2 + syms[i].off, &sym, sizeof(sym));
	}
	return 0;
}

#define COPY_CHUNK (64 * 1024)
#define MAX_TARGET 4095		/* a symlink target, as Linux allows */

struct seen {			/* inode number -> path of its first copy */
	uint32_t ino;
	char *path;		/* NULL for a directory (loop detection only) */
};

struct unpack {
	ext2_filsys fs;
	const struct unpack_limits *lim;
	struct unpack_result *res;
	int stage_fd;
	struct seen *dirs, *links;	/* open-addressed sets, sizes power of two */
	size_t nr_dirs, cap_dirs, nr_links, cap_links;
	char path[PATH_MAX];	/* the current directory, relative to the stage */
	size_t path_len;
	unsigned int overflow;	/* levels too deep to name: hardlinks there are copied */
	char *buf;
	struct timespec deadline;
};

/* One entry of a directory, collected before it is created. */
struct entry {
	uint32_t ino;
	char name[EXT2_NAME_LEN + 1];
};

struct dir_list {
	struct unpack *u;
	struct entry *v;
	size_t n, cap;
	int failed;
};

static int fail(struct unpack *u, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct unpack *u, int error, const char *fmt, ...)
{
	va_list ap;

	if (u->res->error)
		return -1;	/* the first reason stands */
	u->res->error = error;
	va_start(ap, fmt);
	vsnprintf(u->res->msg, sizeof(u->res->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A name fit for printing: control bytes and non-ASCII as \xHH. */
static const char *printable(const char *name, char *out, size_t size)
{
	size_t o = 0;

	for (; *name && o + 5 < size; name++) {
		unsigned char c = (unsigned char)*name;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = 0;
	return out;
}

/* ---- inode sets ---- */

static uint32_t hash_ino(uint32_t ino)
{
	return ino * 2654435761u;
}

static struct seen *set_find(struct seen *v, size_t cap, uint32_t ino)
{
	size_t i;

	if (!cap)
		return NULL;
	for (i = hash_ino(ino) & (cap - 1); v[i].ino; i = (i + 1) & (cap - 1))
		if (v[i].ino == ino)
			return &v[i];
	return &v[i];		/* the free slot where it would go */
}

static int set_add(struct seen **v, size_t *nr, size_t *cap, uint32_t ino, char *path)
{
	struct seen *slot;

	if ((*nr + 1) * 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 64, i;
		struct seen *nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -1;
		for (i = 0; i < *cap; i++) {
			if (!(*v)[i].ino)
				continue;
			*set_find(nv, ncap, (*v)[i].ino) = (*v)[i];
		}
		free(*v);
		*v = nv;
		*cap = ncap;
	}
	slot = set_find(*v, *cap, ino);
	slot->ino = ino;
	slot->path = path;
	(*nr)++;
	return 0;
}

static void set_free(struct seen *v, size_t cap)
{
	size_t i;

	for (i = 0; i < cap; i++)
		free(v[i].path);
	free(v);
}

/* ---- creating host entries ---- */

/* Open @name beneath @dir_fd without following any symlink. */
static int open_beneath(int dir_fd, const char *name, int flags, mode_t mode)
{
	static bool no_openat2;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!no_openat2) {
		fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		no_openat2 = true;
	}
	/* one component and O_NOFOLLOW: the same guarantee on older kernels */
	return openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

static int host_fail(struct unpack *u, const char *what, const char *name)
{
	char pn[4 * EXT2_NAME_LEN + 1];

	if (errno == EEXIST)
		return fail(u, UNPACK_REFUSED, "the image names \"%s/%s\" twice in one directory "
			    "(a crafted image: the kernel never writes that)",
			    u->path, printable(name, pn, sizeof(pn)));
	if (errno == EFBIG)
		return fail(u, UNPACK_LIMIT_BYTES, "\"%s/%s\" is larger than the bytes limit",
			    u->path, printable(name, pn, sizeof(pn)));
	return fail(u, UNPACK_HOST, "cannot %s \"%s/%s\": %s", what, u->path,
		    printable(name, pn, sizeof(pn)), strerror(errno));
}

static void set_times(int fd, const struct ext2_inode *inode)
{
	struct timespec ts[2] = {
		{ .tv_sec = (time_t)inode->i_atime },
		{ .tv_sec = (time_t)inode->i_mtime },
	};

	futimens(fd, ts);	/* best effort: the contents matter, times help make */
}

static mode_t host_mode(struct unpack *u, const struct ext2_inode *inode, bool dir)
{
	mode_t m = inode->i_mode & 07777;

	if (m & (S_ISUID | S_ISGID) && !dir)
		u->res->setid++;
	/* setuid/setgid never come back; a directory keeps only its sticky bit */
	return m & (dir ? 01777 : 0777);
}

static int count_bytes(struct unpack *u, uint64_t n, const char *name)
{
	char pn[4 * EXT2_NAME_LEN + 1];

	if (n > u->lim->bytes || u->res->bytes > u->lim->bytes - n)
		return fail(u, UNPACK_LIMIT_BYTES, "the files come to more than %llu bytes "
			    "(apparent size, sparse files count in full) at \"%s/%s\"",
			    (unsigned long long)u->lim->bytes, u->path,
			    printable(name, pn, sizeof(pn)));
	u->res->bytes += n;
	return 0;
}

static bool all_zero(const char *b, size_t n)
{
	return n == 0 || (b[0] == 0 && !memcmp(b, b + 1, n - 1));
}


static bool time_up(struct unpack *u)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > u->deadline.tv_sec ||
	       (now.tv_sec == u->deadline.tv_sec && now.tv_nsec >= u->deadline.tv_nsec);
}

static int check_time(struct unpack *u)
{
	if (!time_up(u))
		return 0;
	return fail(u, UNPACK_LIMIT_TIME, "unpacking took longer than %llu.%03llu s (at \"%s\")",
		    (unsigned long long)(u->lim->time_ms / 1000),
		    (unsigned long long)(u->lim->time_ms % 1000), u->path[0] ? u->path : "/");
}

/* "a/b/name" for linkat() from the stage; NULL when the path is too long. */
static char *stage_path(struct unpack *u, const char *name)
{
	char *p;

	if (u->overflow || asprintf(&p, "%s%s%s", u->path[0] ? u->path + 1 : "",
					 u->path[0] ? "/" : "", name) < 0)
		return NULL;
	return p;
}

static int write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Contents, keeping holes: a chunk of zeros becomes a hole on the host too. */
static int copy_contents(struct unpack *u, uint32_t ino, struct ext2_inode *inode, int fd,
			 const char *name)
{
	uint64_t size = EXT2_I_SIZE(inode), done = 0;
	char pn[4 * EXT2_NAME_LEN + 1];
	ext2_file_t file;
	errcode_t err;
	int ret = -1;

	err = e2.file_open2(u->fs, ino, inode, 0, &file);
	if (err)
		return fail(u, UNPACK_CORRUPT, "cannot read \"%s/%s\" (libext2fs error %ld)",
			    u->path, printable(name, pn, sizeof(pn)), (long)err);
	while (done < size) {
		unsigned int got = 0;

		if (check_time(u))
			goto out;
		err = e2.file_read(file, u->buf, COPY_CHUNK, &got);
		if (err) {
			fail(u, UNPACK_CORRUPT, "cannot read \"%s/%s\" (libext2fs error %ld)",
			     u->path, printable(name, pn, sizeof(pn)), (long)err);
			goto out;
		}
		if (!got)
			break;
		if (got > size - done)
			got = (unsigned int)(size - done);
		if (all_zero(u->buf, got) ? lseek(fd, got, SEEK_CUR) < 0 :
		    write_all(fd, u->buf, got)) {
			host_fail(u, "write", name);
			goto out;
		}
		done += got;
	}
	if (ftruncate(fd, (off_t)size)) {	/* a trailing hole, or a short read */
		host_fail(u, "set the size of", name);
		goto out;
	}
	ret = 0;
out:
	e2.file_close(file);
	return ret;
}

static int make_file(struct unpack *u, int dir_fd, uint32_t ino, struct ext2_inode *inode,
		     const char *name)
{
	bool linked = inode->i_links_count > 1;
	struct seen *first = linked ? set_find(u->links, u->cap_links, ino) : NULL;
	char *path;
	int fd;

	if (first && first->ino) {	/* another name of a file already copied */
		if (linkat(u->stage_fd, first->path, dir_fd, name, 0))
			return host_fail(u, "link", name);
		return 0;
	}
	if (EXT2_I_SIZE(inode) > (uint64_t)INT64_MAX)
		return fail(u, UNPACK_CORRUPT, "\"%s/%s\" claims an impossible size", u->path, name);
	if (count_bytes(u, EXT2_I_SIZE(inode), name))
		return -1;
	fd = open_beneath(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return host_fail(u, "create", name);
	if (copy_contents(u, ino, inode, fd, name)) {
		close(fd);
		return -1;
	}
	if (fchmod(fd, host_mode(u, inode, false))) {
		host_fail(u, "set the mode of", name);
		close(fd);
		return -1;
	}
	set_times(fd, inode);
	close(fd);
	if (linked && (path = stage_path(u, name)) &&
	    set_add(&u->links, &u->nr_links, &u->cap_links, ino, path)) {
		free(path);
		return fail(u, UNPACK_HOST, "out of memory");
	}
	return 0;
}

static int read_target(struct unpack *u, uint32_t ino, struct ext2_inode *inode,
		       const char *name, char *target)
{
	uint64_t size = EXT2_I_SIZE(inode);
	char pn[4 * EXT2_NAME_LEN + 1];
	unsigned int got = 0;
	ext2_file_t file;
	size_t isz;
	errcode_t err;

	printable(name, pn, sizeof(pn));
	if (size == 0 || size > MAX_TARGET)
		return fail(u, UNPACK_REFUSED, "the symlink \"%s/%s\" has a target of %llu bytes "
			    "(1 to %d are possible)", u->path, pn, (unsigned long long)size,
			    MAX_TARGET);
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		err = e2.inline_data_size(u->fs, ino, &isz);
		if (err || isz < size || isz > COPY_CHUNK)
			return fail(u, UNPACK_CORRUPT, "the symlink \"%s/%s\" has broken inline "
				    "data", u->path, pn);
		err = e2.inline_data_get(u->fs, ino, inode, u->buf, &isz);
		if (err)
			return fail(u, UNPACK_CORRUPT, "cannot read the symlink \"%s/%s\"",
				    u->path, pn);
		memcpy(target, u->buf, size);
	} else if (e2.is_fast_symlink(inode)) {
		/* the target lives in i_block; i_size says how much of it (< 60) */
		if (size >= sizeof(inode->i_block))
			return fail(u, UNPACK_CORRUPT, "the symlink \"%s/%s\" is broken", u->path, pn);
		memcpy(target, inode->i_block, size);
	} else {
		err = e2.file_open2(u->fs, ino, inode, 0, &file);
		if (!err) {
			err = e2.file_read(file, target, (unsigned int)size, &got);
			e2.file_close(file);
		}
		if (err || got != size)
			return fail(u, UNPACK_CORRUPT, "cannot read the symlink \"%s/%s\"",
				    u->path, pn);
	}
	target[size] = 0;
	if (strlen(target) != size)
		return fail(u, UNPACK_REFUSED, "the symlink \"%s/%s\" has a NUL byte in its target",
			    u->path, pn);
	return count_bytes(u, size, name);
}

static int make_symlink(struct unpack *u, int dir_fd, uint32_t ino, struct ext2_inode *inode,
			const char *name)
{
	char target[MAX_TARGET + 1];
	struct timespec ts[2] = {
		{ .tv_sec = (time_t)inode->i_atime },
		{ .tv_sec = (time_t)inode->i_mtime },
	};

	if (read_target(u, ino, inode, name, target))
		return -1;
	/* created, never followed: any target is harmless, even "/etc/passwd" */
	if (symlinkat(target, dir_fd, name))
		return host_fail(u, "create the symlink", name);
	utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int unpack_dir(struct unpack *u, uint32_t ino, int fd, unsigned int depth);

static int make_dir(struct unpack *u, int dir_fd, uint32_t ino, struct ext2_inode *inode,
		    const char *name, unsigned int depth)
{
	struct seen *seen = set_find(u->dirs, u->cap_dirs, ino);
	char pn[4 * EXT2_NAME_LEN + 1];
	size_t len = strlen(name), saved = u->path_len;
	int fd, ret;

	printable(name, pn, sizeof(pn));
	if (depth >= u->lim->depth)
		return fail(u, UNPACK_LIMIT_DEPTH, "directories nest deeper than %u levels at "
			    "\"%s/%s\"", u->lim->depth, u->path, pn);
	if (seen && seen->ino)
		return fail(u, UNPACK_REFUSED, "the directory \"%s/%s\" is also reachable by "
			    "another name: a directory loop (a crafted image)", u->path, pn);
	if (set_add(&u->dirs, &u->nr_dirs, &u->cap_dirs, ino, NULL))
		return fail(u, UNPACK_HOST, "out of memory");
	if (mkdirat(dir_fd, name, 0700))
		return host_fail(u, "create the directory", name);
	fd = open_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return host_fail(u, "open the directory", name);
	bool named = !u->overflow && saved + 1 + len < sizeof(u->path);

	if (named) {
		u->path[saved] = '/';
		memcpy(u->path + saved + 1, name, len + 1);
		u->path_len = saved + 1 + len;
	} else {
		u->overflow++;	/* messages show the part that fits */
	}
	ret = unpack_dir(u, ino, fd, depth + 1);
	if (named) {
		u->path[saved] = 0;
		u->path_len = saved;
	} else {
		u->overflow--;
	}
	/* the mode last: a read-only directory must be filled first */
	if (!ret && fchmod(fd, host_mode(u, inode, true)))
		ret = host_fail(u, "set the mode of", name);
	if (!ret)
		set_times(fd, inode);
	close(fd);
	return ret;
}

static int unpack_entry(struct unpack *u, int dir_fd, uint32_t ino, const char *name,
			unsigned int depth)
{
	char pn[4 * EXT2_NAME_LEN + 1];
	struct ext2_inode inode;
	errcode_t err;

	if (check_time(u))
		return -1;
	err = e2.read_inode(u->fs, ino, &inode);
	if (err)
		return fail(u, UNPACK_CORRUPT, "\"%s/%s\" points at inode %u, which cannot be "
			    "read (libext2fs error %ld)", u->path, printable(name, pn, sizeof(pn)),
			    ino, (long)err);
	switch (inode.i_mode & LINUX_S_IFMT) {
	case LINUX_S_IFDIR:
		return make_dir(u, dir_fd, ino, &inode, name, depth);
	case LINUX_S_IFREG:
		return make_file(u, dir_fd, ino, &inode, name);
	case LINUX_S_IFLNK:
		return make_symlink(u, dir_fd, ino, &inode, name);
	case LINUX_S_IFCHR:
	case LINUX_S_IFBLK:
	case LINUX_S_IFIFO:
	case LINUX_S_IFSOCK:
		u->res->dropped++;	/* never recreated on the host */
		return 0;
	default:
		return fail(u, UNPACK_CORRUPT, "\"%s/%s\" has an unknown file type (mode %#o)",
			    u->path, printable(name, pn, sizeof(pn)), inode.i_mode);
	}
}

/* e2.dir_iterate2() callback: check and collect one entry. */
static int collect(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		   int blocksize, char *buf, void *priv)
{
	struct dir_list *l = priv;
	struct unpack *u = l->u;
	unsigned int len = de->name_len & 0xff;
	char name[EXT2_NAME_LEN + 1], pn[4 * EXT2_NAME_LEN + 1];

	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode)
		return 0;
	memcpy(name, de->name, len);
	name[len] = 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;	/* structure, never created */
	if (len == 0 || memchr(de->name, '/', len) || memchr(de->name, 0, len)) {
		fail(u, UNPACK_REFUSED, "\"%s\" holds an entry named \"%s\": a name must be one "
		     "path component (no '/' and no NUL byte)", u->path[0] ? u->path : "/",
		     printable(name, pn, sizeof(pn)));
		l->failed = 1;
		return DIRENT_ABORT;
	}
	if (++u->res->entries > u->lim->entries) {
		fail(u, UNPACK_LIMIT_ENTRIES, "the volume holds more than %llu entries",
		     (unsigned long long)u->lim->entries);
		l->failed = 1;
		return DIRENT_ABORT;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct entry *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv) {
			fail(u, UNPACK_HOST, "out of memory");
			l->failed = 1;
			return DIRENT_ABORT;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].ino = de->inode;
	memcpy(l->v[l->n].name, name, len + 1);
	l->n++;
	return 0;
}

static int unpack_dir(struct unpack *u, uint32_t ino, int fd, unsigned int depth)
{
	struct dir_list l = { .u = u };
	errcode_t err;
	size_t i;
	int ret = 0;

	err = e2.dir_iterate2(u->fs, ino, 0, NULL, collect, &l);
	if (l.failed)
		ret = -1;
	else if (err)
		ret = fail(u, UNPACK_CORRUPT, "cannot read the directory \"%s\" (libext2fs "
			   "error %ld)", u->path[0] ? u->path : "/", (long)err);
	for (i = 0; !ret && i < l.n; i++)
		ret = unpack_entry(u, fd, l.v[i].ino, l.v[i].name, depth);
	free(l.v);
	return ret;
}

int unpack_ext4(int image_fd, int stage_fd, const struct unpack_limits *lim,
		struct unpack_result *res)
{
	struct unpack u = { .lim = lim, .res = res, .stage_fd = stage_fd };
	const char *why;
	struct ext2_inode root;
	char name[16];
	errcode_t err;
	int fd, ret = -1;

	memset(res, 0, sizeof(*res));
	if (e2_load(&why)) {
		res->error = UNPACK_HOST;
		snprintf(res->msg, sizeof(res->msg), "cannot load %s (%s); install libext2fs2",
			 EXT2FS_SONAME, why);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &u.deadline);
	u.deadline.tv_sec += (time_t)(lim->time_ms / 1000);
	u.deadline.tv_nsec += (long)(lim->time_ms % 1000) * 1000000L;
	if (u.deadline.tv_nsec >= 1000000000L) {
		u.deadline.tv_sec++;
		u.deadline.tv_nsec -= 1000000000L;
	}
	u.buf = malloc(COPY_CHUNK);
	fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 0);	/* the channel closes its own */
	if (!u.buf || fd < 0) {
		fail(&u, UNPACK_HOST, "%s", strerror(errno));
		goto out_buf;
	}
	snprintf(name, sizeof(name), "%d", fd);
	err = e2.open2(name, NULL, EXT2_FLAG_64BITS |
			   (lim->ignore_checksums ? EXT2_FLAG_IGNORE_CSUM_ERRORS : 0), 0, 0,
			   *e2.unixfd, &u.fs);
	if (err) {
		close(fd);
		fail(&u, UNPACK_CORRUPT, "the image is not an ext4 file system that can be read "
		     "(libext2fs error %ld)", (long)err);
		goto out_buf;
	}
	err = e2.read_inode(u.fs, EXT2_ROOT_INO, &root);
	if (err || !LINUX_S_ISDIR(root.i_mode)) {
		fail(&u, UNPACK_CORRUPT, "the image has no root directory");
		goto out_fs;
	}
	if (set_add(&u.dirs, &u.nr_dirs, &u.cap_dirs, EXT2_ROOT_INO, NULL)) {
		fail(&u, UNPACK_HOST, "out of memory");
		goto out_fs;
	}
	ret = unpack_dir(&u, EXT2_ROOT_INO, stage_fd, 0);
out_fs:
	e2.close_free(&u.fs);
	if (fcntl(fd, F_GETFD) >= 0)
		close(fd);	/* a library that left it open */
	set_free(u.dirs, u.cap_dirs);
	set_free(u.links, u.cap_links);
out_buf:
	free(u.buf);
	return ret;
}

const char *unpack_limit_key(int error)
{
	switch (error) {
	case UNPACK_LIMIT_BYTES:
		return "bytes";
	case UNPACK_LIMIT_ENTRIES:
		return "entries";
	case UNPACK_LIMIT_DEPTH:
		return "depth";
	case UNPACK_LIMIT_TIME:
		return "time";
	default:
		return NULL;
	}
}

/* ---- the unprivileged child ---- */

static int drop_privileges(uid_t uid, gid_t gid)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (geteuid() == 0) {
		if (uid == 0)
			return -1;	/* never root: the caller picks another uid */
		if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING))
			return -1;
	} else if (capng_apply(CAPNG_SELECT_CAPS)) {
		return -1;
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void set_limit(int res, rlim_t value)
{
	struct rlimit rl;

	if (getrlimit(res, &rl))
		return;
	if (rl.rlim_max == RLIM_INFINITY || value < rl.rlim_max)
		rl.rlim_max = value;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(res, &rl);
}

/* Everything kvmini had open but these three (and stdio) is closed. */
static void close_others(int a, int b, int c)
{
	int keep[3] = { a, b, c }, i, j, t;
	unsigned int from = 3;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (i = 0; i < 3; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

#ifdef KVMINI_TEST_HOOKS
/*
 * KVMINI_TEST_UNPACK=write=PATH|socket: the confined child tries what a
 * compromised reader would (tests/volume: the write must fail, the socket
 * must kill it).
 */
static void test_escape(void)
{
	const char *t = getenv("KVMINI_TEST_UNPACK");
	int fd;

	if (!t)
		return;
	if (!strncmp(t, "write=", 6)) {
		fd = open(t + 6, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd >= 0 && write(fd, "escaped\n", 8) == 8)
			close(fd);
	} else if (!strcmp(t, "socket")) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
	}
}
#endif

static void child_main(int image_fd, int stage_fd, uid_t uid, gid_t gid,
		       const struct unpack_limits *lim, int out_fd)
{
	struct unpack_result res = { 0 };
	const char *why;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_others(image_fd, stage_fd, out_fd);	/* disks, /dev/kvm, taps: not for it */
	signal(SIGXFSZ, SIG_IGN);	/* a file at the size limit fails with EFBIG */
	/*
	 * First, with kvmini's own ids, before Landlock and seccomp: loading
	 * the library opens and maps files the unpacking uid may not reach.
	 */
	if (e2_load(&why)) {
		res.error = UNPACK_HOST;
		snprintf(res.msg, sizeof(res.msg), "cannot load %s (%s); install libext2fs2",
			 EXT2FS_SONAME, why);
		goto out;
	}
	if (drop_privileges(uid, gid)) {
		res.error = UNPACK_HOST;
		snprintf(res.msg, sizeof(res.msg), "cannot drop to uid %u, gid %u: %s",
			 (unsigned int)uid, (unsigned int)gid, strerror(errno));
		goto out;
	}
	/* the size of one file cannot pass the total; no core dumps of guest data */
	set_limit(RLIMIT_FSIZE, lim->bytes < RLIM_INFINITY ? (rlim_t)lim->bytes : RLIM_INFINITY);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_NPROC, 0);
	set_limit(RLIMIT_NOFILE, (rlim_t)lim->depth + 64);
	set_limit(RLIMIT_CPU, (rlim_t)(lim->time_ms / 1000 + 2));
	if (sandbox_enter_unpacker(stage_fd)) {
		res.error = UNPACK_HOST;
		snprintf(res.msg, sizeof(res.msg), "cannot confine the unpacking process "
			 "(seccomp, Landlock): %s", strerror(errno));
		goto out;
	}
#ifdef KVMINI_TEST_HOOKS
	test_escape();
#endif
	unpack_ext4(image_fd, stage_fd, lim, &res);
out:
	if (write(out_fd, &res, sizeof(res)) != (ssize_t)sizeof(res)) {
		/* the parent reports a missing result */
	}
	_exit(0);
}

int unpack_sandboxed(int image_fd, int stage_fd, uid_t uid, gid_t gid,
		     const struct unpack_limits *lim, struct unpack_result *res)
{
	/* a grace period past the child's own check, for a child that hangs */
	int64_t wait_ms = (int64_t)(lim->time_ms > INT32_MAX ? INT32_MAX : lim->time_ms) + 2000;
	struct timespec start, now;
	size_t got = 0;
	int p[2], status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(p, O_CLOEXEC)) {
		res->error = UNPACK_HOST;
		snprintf(res->msg, sizeof(res->msg), "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		res->error = UNPACK_HOST;
		snprintf(res->msg, sizeof(res->msg), "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(image_fd, stage_fd, uid, gid, lim, p[1]);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (got < sizeof(*res)) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int64_t left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = wait_ms - ((int64_t)(now.tv_sec - start.tv_sec) * 1000 +
				  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!pfd.revents)
			continue;
		n = read(p[0], (char *)res + got, sizeof(*res) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	if (got < sizeof(*res))
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == sizeof(*res)) {
		res->msg[sizeof(res->msg) - 1] = 0;
		return res->error ? -1 : 0;
	}
	memset(res, 0, sizeof(*res));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
		res->error = UNPACK_DIED;
		snprintf(res->msg, sizeof(res->msg), "the unpacking process was killed by "
			 "signal %d (%s)", WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
			 "a system call outside its seccomp list" : strsignal(WTERMSIG(status)));
	} else {
		res->error = UNPACK_LIMIT_TIME;
		snprintf(res->msg, sizeof(res->msg), "unpacking took longer than %llu.%03llu s",
			 (unsigned long long)(lim->time_ms / 1000),
			 (unsigned long long)(lim->time_ms % 1000));
	}
	return -1;
}

/* ---- removal of a staged or replaced tree ---- */

static int remove_at(int parent, const char *name, unsigned int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0);
	if (depth > 4096)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && !fchmodat(parent, name, 0700, 0))
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* a read-only directory the guest made: writable again, so it can be emptied */
	if ((st.st_mode & 0700) != 0700)
		fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name, depth + 1)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR);
}

int unpack_remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, 0);
}

static int chown_at(int dir_fd, uid_t uid, gid_t gid, unsigned int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, ret = 0;

	if (depth > 4096)
		return -1;
	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    fchownat(dirfd(d), de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW)) {
			ret = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			ret = sub < 0 ? -1 : chown_at(sub, uid, gid, depth + 1);
			if (sub >= 0)
				close(sub);
		}
	}
	closedir(d);
	return ret;
}

int unpack_chown_tree(int dir_fd, uid_t uid, gid_t gid)
{
	if (chown_at(dir_fd, uid, gid, 0))
		return -1;
	return fchown(dir_fd, uid, gid);
}
