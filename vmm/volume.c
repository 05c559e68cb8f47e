/*
 * --volume DIR[:ro]: files in and out through a disk image.
 *
 * Before the run, DIR is packed into a fresh sparse ext4 image in $TMPDIR
 * with `mkfs.ext4 -d` (no journal: once the guest has synced, everything is
 * in place for debugfs, which does not replay journals) and attached as a
 * virtio-blk disk with the serial kvmini-volume. The guest's init mounts it
 * at /volume and runs the command there.
 *
 * After a read-write run that ended normally (the guest reported the
 * command's status), the image is unpacked with `debugfs -R "rdump / ."`
 * into a new directory next to DIR, which then replaces DIR by two renames
 * on the same filesystem. Any failure leaves DIR as it was and keeps the
 * image, whose path kvmini prints: the user's files are never lost.
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
#include "volume.h"

extern char **environ;

#define MIN_IMAGE_MB 64

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
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_init(&attr);
	/* kvmini blocks these for its signalfd and ignores SIGPIPE */
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
static uint64_t content_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	/* the data plus an inode and a directory entry's worth per file */
	content_bytes += (uint64_t)st->st_blocks * 512 + 4096;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

static int remove_tree(const char *path)
{
	return nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

int volume_prepare(struct vm_config *cfg, struct volume_state *vs)
{
	char size[32], owner[64], lf[PATH_MAX + 16];
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-d", vs->dir,
			 "-E", owner, vs->image, size, NULL };
	char *dbg[] = { "debugfs", "-V", NULL };
	struct disk_config *d;
	struct stat st;
	uint64_t mb;
	unsigned int i;
	int fd, ret;

	memset(vs, 0, sizeof(*vs));
	if (!cfg->volume[0])
		return 0;
	for (i = 0; i < cfg->nr_disks; i++) {
		if (!strcmp(cfg->disks[i].id, VOLUME_DISK_ID)) {
			kv_err("--volume needs the disk id %s; give that --disk another id=",
			       VOLUME_DISK_ID);
			return -EINVAL;
		}
	}
	if (cfg->nr_disks == MAX_DISKS) {
		kv_err("--volume takes a disk and there are already %d --disk options; drop one",
		       MAX_DISKS);
		return -EINVAL;
	}
	if (!realpath(cfg->volume, vs->dir) || stat(vs->dir, &vs->dir_st)) {
		kv_err("--volume %s: %s", cfg->volume, strerror(errno));
		return -errno;
	}
	vs->readonly = cfg->volume_ro;
	snprintf(lf, sizeof(lf), "%s/lost+found", vs->dir);
	vs->had_lost_found = lstat(lf, &st) == 0;

	/* debugfs brings the files back: make sure it is there before the run */
	if (!vs->readonly) {
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		ret = spawn_wait(dbg, fd, NULL);	/* -V prints its version on stderr */
		if (fd >= 0)
			close(fd);
		if (ret == -ENOENT) {
			kv_err("--volume %s: debugfs not found, needed to copy the guest's changes "
			       "back; install e2fsprogs (or use --volume DIR:ro)", cfg->volume);
			return ret;
		}
	}

	content_bytes = 0;
	if (nftw(vs->dir, add_size, 32, FTW_PHYS)) {
		kv_err("--volume %s: cannot read the directory tree: %s", cfg->volume,
		       strerror(errno));
		return -EIO;
	}
	mb = (2 * content_bytes + (1 << 20) - 1) / (1 << 20) + 32;
	if (mb < MIN_IMAGE_MB)
		mb = MIN_IMAGE_MB;
	snprintf(size, sizeof(size), "%lluM", (unsigned long long)mb);
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
		return -EIO;
	}
	d = &cfg->disks[cfg->nr_disks++];
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", vs->image);
	snprintf(d->id, sizeof(d->id), "%s", VOLUME_DISK_ID);
	d->readonly = vs->readonly;
	vs->active = true;
	kv_debug("--volume %s: packed into %s (%s)", vs->dir, vs->image, size);
	return 0;
}

/* debugfs exits 0 even when rdump fails: anything but its banner on stderr is an error. */
static bool debugfs_failed(FILE *err)
{
	char line[512];
	bool failed = false;

	rewind(err);
	while (fgets(line, sizeof(line), err)) {
		if (!strncmp(line, "debugfs ", 8))
			continue;
		line[strcspn(line, "\n")] = 0;
		kv_err("unpacking the volume: %s", line);
		failed = true;
	}
	return failed;
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

/* Unpack the image into a new directory and swap it in; DIR is unchanged on failure. */
static int unpack(struct volume_state *vs)
{
	char stage[PATH_MAX], old[PATH_MAX], lf[PATH_MAX + 16];
	char *rdump[] = { "debugfs", "-R", "rdump / .", vs->image, NULL };
	FILE *err;
	int ret;

	if (sibling_dir(vs->dir, "new", stage, sizeof(stage))) {
		kv_err("--volume %s: cannot create a directory next to it: %s", vs->dir,
		       strerror(errno));
		return -1;
	}
	err = tmpfile();
	if (!err) {
		kv_err("--volume %s: tmpfile: %s", vs->dir, strerror(errno));
		goto fail_stage;
	}
	ret = spawn_wait(rdump, fileno(err), stage);
	if (ret) {
		if (ret == -ENOENT)
			kv_err("--volume %s: debugfs not found; install e2fsprogs", vs->dir);
		else
			kv_err("--volume %s: debugfs failed (%d)", vs->dir, ret);
		fclose(err);
		goto fail_stage;
	}
	if (debugfs_failed(err)) {
		fclose(err);
		goto fail_stage;
	}
	fclose(err);
	if (!vs->had_lost_found) {
		snprintf(lf, sizeof(lf), "%s/lost+found", stage);
		rmdir(lf);	/* mkfs's own; kept if the guest put files in it */
	}
	/* rdump gives the top directory the image root's mode: restore DIR's */
	chmod(stage, vs->dir_st.st_mode & 07777);
	if (geteuid() == 0 && lchown(stage, vs->dir_st.st_uid, vs->dir_st.st_gid))
		kv_warn("--volume %s: cannot restore the directory's owner: %s", vs->dir,
			strerror(errno));

	if (sibling_dir(vs->dir, "old", old, sizeof(old)) || rename(vs->dir, old)) {
		kv_err("--volume %s: cannot move it aside to swap in the guest's version: %s",
		       vs->dir, strerror(errno));
		rmdir(old);
		goto fail_stage;
	}
	if (rename(stage, vs->dir)) {
		kv_err("--volume %s: cannot move the guest's version in place: %s", vs->dir,
		       strerror(errno));
		if (rename(old, vs->dir))
			kv_err("--volume %s: and cannot move it back: your files are in %s",
			       vs->dir, old);
		goto fail_stage;
	}
	if (remove_tree(old))
		kv_warn("--volume %s: updated, but the previous copy could not be removed "
			"completely: %s", vs->dir, old);
	return 0;

fail_stage:
	remove_tree(stage);
	return -1;
}

int volume_finish(struct volume_state *vs, bool ran, bool reported)
{
	int ret = 0;

	if (!vs->active)
		return 0;
	vs->active = false;
	if (!ran || vs->readonly) {
		unlink(vs->image);	/* the guest did not or could not change it */
		return 0;
	}
	if (!reported) {
		kv_warn("--volume %s: the command did not finish normally, so the directory is "
			"unchanged; whatever the guest wrote is in %s "
			"(get it with: debugfs -R 'rdump / DEST' %s)", vs->dir, vs->image,
			vs->image);
		return 0;
	}
	if (unpack(vs)) {
		kv_err("--volume %s: the guest's changes were NOT copied back (the directory "
		       "is as it was); they are in %s: get them with "
		       "debugfs -R 'rdump / DEST' %s", vs->dir, vs->image, vs->image);
		ret = -1;
	} else {
		unlink(vs->image);
	}
	return ret;
}
