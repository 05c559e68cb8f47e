/*
 * --volume DIR[:ro]: files in and out through a disk image.
 *
 * Before the run, DIR is packed into a fresh sparse ext4 image in $TMPDIR
 * with `mkfs.ext4 -d` (no journal: once the guest has synced, everything is
 * on disk) and attached as a virtio-blk disk with the serial kvmini-volume.
 * The guest's init mounts it at /volume and runs the command there.
 *
 * After a read-write run that ended normally (the guest reported the
 * command's status), the image, which the guest controlled completely, is
 * read by vmm/cli/unpack.c in an unprivileged, filtered child process into a
 * new directory next to DIR; that directory then replaces DIR by two
 * renames on the same filesystem. Any failure or limit leaves DIR as it
 * was and keeps the image, whose path kvmini prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "unpack.h"
#include "vm.h"
#include "volume.h"

extern char **environ;

#define MIN_IMAGE_MB 64

/* Defaults of --volume-limit (docs/kvmini.1); bytes and entries grow with DIR. */
#define DEFAULT_MIN_BYTES (1ULL << 30)
#define DEFAULT_MIN_ENTRIES 100000
#define DEFAULT_DEPTH 128
#define DEFAULT_TIME_MS (600 * 1000)
#define NOBODY 65534

/*
 * Run @argv (PATH lookup), stdin from /dev/null, stdout to /dev/null,
 * stderr to @err_fd (-1: kvmini's), in @cwd (NULL: kvmini's). Returns its
 * exit status, -ENOENT when the program is not installed, or another
 * -errno.
 */
static int spawn_wait(char *const argv[], int err_fd, const char *cwd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	int ret, status;
	pid_t pid;

	sigemptyset(&none);
	sigfillset(&def);
	posix_spawnattr_init(&attr);
	/* kvmini blocks its stop signals for the signalfd and ignores some others */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (err_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	ret = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (ret)
		return -ret;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* nftw has no argument for its callback. */
static uint64_t content_bytes, content_entries;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	/* the data plus an inode and a directory entry's worth per file */
	content_bytes += (uint64_t)st->st_blocks * 512 + 4096;
	content_entries++;
	return 0;
}

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* --volume-limit's values, or the defaults, which scale with what went in. */
static void set_limits(struct volume_state *vs, const struct unpack_limits *given,
		       uint64_t image_bytes)
{
	struct unpack_limits *l = &vs->limits;

	l->bytes = given->bytes ? given->bytes :
		   image_bytes * 2 > DEFAULT_MIN_BYTES ? image_bytes * 2 : DEFAULT_MIN_BYTES;
	l->entries = given->entries ? given->entries :
		     content_entries * 2 > DEFAULT_MIN_ENTRIES ? content_entries * 2 :
		     DEFAULT_MIN_ENTRIES;
	l->depth = given->depth ? given->depth : DEFAULT_DEPTH;
	l->time_ms = given->time_ms ? given->time_ms : DEFAULT_TIME_MS;
}

/* The disk options of the volume's image @image. */
static void volume_disk_opts(struct volume_state *vs, const char *image)
{
	snprintf(vs->disk_opts, sizeof(vs->disk_opts), "path=%s,readonly=%s,id=" VOLUME_DISK_ID,
		 image, vs->readonly ? "on" : "off");
}

void volume_close_fd(struct volume_state *vs)
{
	if (vs->image_fd >= 0)
		close(vs->image_fd);
	vs->image_fd = -1;
}

/* Whether one more disk, with the volume's id, fits beside the --disk options. */
static int volume_disk_check(const struct vm_config *cfg, struct volume_state *vs)
{
	const struct device_type *t = device_type_find("disk");
	struct errmsg err;
	int ret;

	/* the image's name as mkstemp() will make it: no other file has it yet */
	snprintf(vs->image, sizeof(vs->image), "%s/kvmini-volume-XXXXXX", tmp_dir());
	volume_disk_opts(vs, strchr(vs->image, ',') ? "kvmini-volume-XXXXXX" : vs->image);
	ret = config_check_device(cfg, "disk", vs->disk_opts, &err);
	if (ret == -EEXIST) {
		kv_err("--volume needs the disk id %s; give that --disk another id=",
		       VOLUME_DISK_ID);
		return -EINVAL;
	}
	if (ret == -ENOSPC) {
		kv_err("--volume takes a disk and there are already %u --disk options; drop one",
		       t ? t->max : 0);
		return -EINVAL;
	}
	if (ret)
		config_report(&err);
	return ret;
}

int volume_prepare(struct vm_config *cfg, struct volume_state *vs)
{
	char size[32], owner[64], lf[PATH_MAX + 16];
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-d", vs->dir,
			 "-E", owner, vs->image, size, NULL };
	struct errmsg err;
	struct stat st;
	uint64_t mb;
	int fd, ret;

	memset(vs, 0, sizeof(*vs));
	vs->image_fd = -1;
	if (!cfg->volume[0])
		return 0;
	ret = volume_disk_check(cfg, vs);
	if (ret)
		return ret;
	if (!realpath(cfg->volume, vs->dir) || stat(vs->dir, &vs->dir_st)) {
		kv_err("--volume %s: %s", cfg->volume, strerror(errno));
		return -errno;
	}
	vs->readonly = cfg->volume_ro;
	snprintf(lf, sizeof(lf), "%s/lost+found", vs->dir);
	vs->had_lost_found = lstat(lf, &st) == 0;

	content_bytes = content_entries = 0;
	if (nftw(vs->dir, add_size, 32, FTW_PHYS)) {
		kv_err("--volume %s: cannot read the directory tree: %s", cfg->volume,
		       strerror(errno));
		return -EIO;
	}
	mb = (2 * content_bytes + (1 << 20) - 1) / (1 << 20) + 32;
	if (mb < MIN_IMAGE_MB)
		mb = MIN_IMAGE_MB;
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)mb);
	set_limits(vs, &cfg->volume_limits, mb << 20);
	snprintf(owner, sizeof(owner), "root_owner=%u:%u", (unsigned int)vs->dir_st.st_uid,
		 (unsigned int)vs->dir_st.st_gid);

	if (snprintf(vs->image, sizeof(vs->image), "%s/kvmini-volume-XXXXXX", tmp_dir()) >=
	    (int)sizeof(vs->image)) {
		kv_err("--volume: TMPDIR is too long");
		return -ENAMETOOLONG;
	}
	fd = mkstemp(vs->image);
	if (fd < 0) {
		kv_err("--volume %s: cannot create an image in %s: %s; set TMPDIR to a "
		       "writable directory", cfg->volume, tmp_dir(), strerror(errno));
		return -errno;
	}
	/*
	 * A ',' would end the disk's path=: such a TMPDIR reaches the image
	 * through this descriptor, kept open until the disk has opened it.
	 */
	if (strchr(vs->image, ','))
		vs->image_fd = fd;
	else
		close(fd);
	ret = spawn_wait(mkfs, -1, NULL);
	if (ret) {
		if (ret == -ENOENT)
			kv_err("--volume %s: mkfs.ext4 not found; install e2fsprogs (1.43 or newer)",
			       cfg->volume);
		else if (ret < 0)
			kv_err("--volume %s: cannot run mkfs.ext4: %s", cfg->volume, strerror(-ret));
		else
			kv_err("--volume %s: mkfs.ext4 -d failed (status %d) packing it into %s; "
			       "see its message above (space in %s? e2fsprogs 1.43 or newer?)",
			       cfg->volume, ret, vs->image, tmp_dir());
		unlink(vs->image);
		volume_close_fd(vs);
		return -EIO;
	}
	if (vs->image_fd >= 0) {
		char alias[64];

		snprintf(alias, sizeof(alias), "/proc/self/fd/%d", vs->image_fd);
		volume_disk_opts(vs, alias);
	} else {
		volume_disk_opts(vs, vs->image);
	}
	if (config_add_device(cfg, "disk", vs->disk_opts, &err)) {
		config_report(&err);
		unlink(vs->image);
		volume_close_fd(vs);
		return err.code;
	}
	vs->active = true;
	kv_debug("--volume %s: packed into %s (%s)", vs->dir, vs->image, size);
	return 0;
}

/* A new empty directory next to @dir: "PARENT/.NAME.kvmini-TAG-XXXXXX". */
static int sibling_dir(const char *dir, const char *tag, char *out, size_t size)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", dir);
	snprintf(b, sizeof(b), "%s", dir);
	if (snprintf(out, size, "%s/.%s.kvmini-%s-XXXXXX", dirname(a), basename(b), tag) >=
	    (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(out) ? 0 : -1;
}

/* Say why the guest's tree was refused; a limit names its key. */
static void report_refusal(const char *what, const struct unpack_result *res)
{
	const char *key = unpack_limit_key(res->error);

	if (key)
		kv_err("%s: %s; raise the limit with --volume-limit %s=%s", what, res->msg, key,
		       !strcmp(key, "bytes") ? "SIZE" : !strcmp(key, "time") ? "SECONDS" : "N");
	else
		kv_err("%s: %s", what, res->msg);
}

/*
 * The ids that unpack: the owner's when kvmini is root (never root itself:
 * for a root-owned directory nobody unpacks and root then takes the tree
 * over), else kvmini's own.
 */
static void unpack_ids(const struct stat *owner, uid_t *uid, gid_t *gid, bool *chown_after)
{
	*chown_after = false;
	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return;
	}
	*uid = owner->st_uid;
	*gid = owner->st_gid;
	if (*uid == 0) {
		*uid = NOBODY;
		*gid = NOBODY;
		*chown_after = true;
	}
}

/*
 * Unpack @image into a new directory next to @where, named in @stage,
 * which gets @owner's mode and ids. @what starts messages. 0,
 * VOLUME_REFUSED (a limit or a hostile entry) or -1; on failure nothing
 * is left behind.
 */
static int stage_unpack(const char *what, const char *image, const char *where,
			const struct stat *owner, const struct unpack_limits *lim,
			bool keep_lost_found, char *stage, size_t size)
{
	char lf[PATH_MAX + 16];
	struct unpack_result res;
	int image_fd = -1, stage_fd = -1, ret = -1;
	bool chown_after;
	uid_t uid;
	gid_t gid;

	unpack_ids(owner, &uid, &gid, &chown_after);
	if (sibling_dir(where, "new", stage, size)) {
		kv_err("%s: cannot create a directory next to it: %s", what, strerror(errno));
		return -1;
	}
	image_fd = open(image, O_RDONLY | O_CLOEXEC);
	stage_fd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (image_fd < 0 || stage_fd < 0 || (geteuid() == 0 && fchown(stage_fd, uid, gid))) {
		kv_err("%s: cannot prepare unpacking %s: %s", what, image, strerror(errno));
		goto fail;
	}
	if (unpack_sandboxed(image_fd, stage_fd, uid, gid, lim, &res)) {
		report_refusal(what, &res);
		if (res.error != UNPACK_HOST)
			ret = VOLUME_REFUSED;
		goto fail;
	}
	if (res.dropped)
		kv_warn("%s: left out %llu device nodes, FIFOs or sockets the guest made", what,
			(unsigned long long)res.dropped);
	if (res.setid)
		kv_warn("%s: cleared the setuid/setgid bits of %llu files", what,
			(unsigned long long)res.setid);
	if (!keep_lost_found) {
		snprintf(lf, sizeof(lf), "%s/lost+found", stage);
		rmdir(lf);	/* mkfs's own; kept if the guest put files in it */
	}
	if (chown_after && unpack_chown_tree(stage_fd, owner->st_uid, owner->st_gid)) {
		kv_err("%s: cannot give the unpacked files to uid %u: %s", what,
		       (unsigned int)owner->st_uid, strerror(errno));
		goto fail;
	}
	if (fchmod(stage_fd, owner->st_mode & 07777) ||
	    (geteuid() == 0 && fchown(stage_fd, owner->st_uid, owner->st_gid)))
		kv_warn("%s: cannot set the directory's mode or owner: %s", what, strerror(errno));
	close(image_fd);
	close(stage_fd);
	return 0;

fail:
	if (image_fd >= 0)
		close(image_fd);
	if (stage_fd >= 0)
		close(stage_fd);
	unpack_remove_tree(stage);
	return ret;
}

/* Unpack the image and swap it in for DIR; DIR is unchanged on failure. */
static int unpack(struct volume_state *vs)
{
	char what[PATH_MAX + 16], stage[PATH_MAX], old[PATH_MAX];
	int ret;

	snprintf(what, sizeof(what), "--volume %s", vs->dir);
	ret = stage_unpack(what, vs->image, vs->dir, &vs->dir_st, &vs->limits,
			   vs->had_lost_found, stage, sizeof(stage));
	if (ret)
		return ret;
	if (sibling_dir(vs->dir, "old", old, sizeof(old)) || rename(vs->dir, old)) {
		kv_err("%s: cannot move it aside to swap in the guest's version: %s", what,
		       strerror(errno));
		rmdir(old);
		goto fail;
	}
	if (rename(stage, vs->dir)) {
		kv_err("%s: cannot move the guest's version in place: %s", what, strerror(errno));
		if (rename(old, vs->dir))
			kv_err("%s: and cannot move it back: your files are in %s", what, old);
		goto fail;
	}
	if (unpack_remove_tree(old))
		kv_warn("%s: updated, but the previous copy could not be removed completely: %s",
			what, old);
	return 0;
fail:
	unpack_remove_tree(stage);
	return -1;
}

#define GET_FILES "get the files with: kvmini unpack %s DEST"

int volume_finish(struct volume_state *vs, bool ran, bool reported)
{
	int ret;

	if (!vs->active)
		return 0;
	volume_close_fd(vs);
	vs->active = false;
	if (!ran || vs->readonly) {
		unlink(vs->image);	/* the guest did not or could not change it */
		return 0;
	}
	if (!reported) {
		kv_warn("--volume %s: the command did not finish normally, so the directory is "
			"unchanged; whatever the guest wrote is in %s; " GET_FILES, vs->dir,
			vs->image, vs->image);
		return 0;
	}
	ret = unpack(vs);
	if (ret) {
		kv_err("--volume %s: the guest's changes were NOT copied back (the directory "
		       "is as it was); the image is kept in %s; " GET_FILES, vs->dir, vs->image,
		       vs->image);
		return ret;
	}
	unlink(vs->image);
	return 0;
}

/* `kvmini unpack IMAGE DEST`: a kept volume image, with the copy-back's confinement. */
int cmd_unpack(int argc, char **argv)
{
	struct unpack_limits given = { 0 };
	struct volume_state vs = { 0 };
	char parent[PATH_MAX], what[PATH_MAX + 32], stage[PATH_MAX];
	enum seccomp_mode seccomp = SECCOMP_ON;
	const char *image = NULL, *dest = NULL;
	struct stat st;
	mode_t mask;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: kvmini unpack [--volume-limit KEY=VALUE,...] "
			       "[--seccomp on|log|off] IMAGE DEST\n");
			return 0;
		} else if (!strcmp(argv[i], "--volume-limit") && i + 1 < argc) {
			if (config_parse_volume_limit(&given, argv[++i]))
				return EXIT_ERROR;
		} else if (!strcmp(argv[i], "--seccomp") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "on") || !strcmp(argv[i], "log") ||
			    !strcmp(argv[i], "off")) {
				seccomp = argv[i][1] == 'n' ? SECCOMP_ON : argv[i][1] == 'o' ?
					  SECCOMP_LOG : SECCOMP_OFF;
			} else {
				kv_err("--seccomp %s: use on, log or off", argv[i]);
				return EXIT_ERROR;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			kv_err("kvmini unpack: unknown option or missing value '%s'; see "
			       "kvmini unpack --help", argv[i]);
			return EXIT_ERROR;
		} else if (!image) {
			image = argv[i];
		} else if (!dest) {
			dest = argv[i];
		} else {
			kv_err("kvmini unpack: too many arguments; use kvmini unpack IMAGE DEST");
			return EXIT_ERROR;
		}
	}
	if (!dest) {
		kv_err("kvmini unpack: use kvmini unpack IMAGE DEST (DEST must not exist)");
		return EXIT_ERROR;
	}
	if (stat(image, &st) || !S_ISREG(st.st_mode)) {
		kv_err("kvmini unpack %s: %s", image, errno && !S_ISREG(st.st_mode) ?
		       strerror(errno) : "not a regular file");
		return EXIT_ERROR;
	}
	if (!lstat(dest, &vs.dir_st) || errno != ENOENT) {
		kv_err("kvmini unpack %s: %s already exists; name a new directory", image, dest);
		return EXIT_ERROR;
	}
	snprintf(parent, sizeof(parent), "%s", dest);
	if (stat(dirname(parent), &vs.dir_st) || !S_ISDIR(vs.dir_st.st_mode)) {
		kv_err("kvmini unpack %s: %s: no such directory to create DEST in", image, parent);
		return EXIT_ERROR;
	}
	sandbox_set_mode(seccomp);
	mask = umask(0);
	umask(mask);
	vs.dir_st.st_mode = 0777 & ~mask;
	content_entries = 0;
	set_limits(&vs, &given, (uint64_t)st.st_size);
	snprintf(what, sizeof(what), "kvmini unpack %s", image);
	ret = stage_unpack(what, image, dest, &vs.dir_st, &vs.limits, true, stage,
			   sizeof(stage));
	if (ret)
		return ret == VOLUME_REFUSED ? EXIT_VOLUME : EXIT_ERROR;
	if (rename(stage, dest)) {
		kv_err("%s: cannot rename the unpacked tree to %s: %s", what, dest,
		       strerror(errno));
		unpack_remove_tree(stage);
		return EXIT_ERROR;
	}
	return 0;
}
