/*
 * Image locking interoperable with QEMU (block/file-posix.c): QEMU takes
 * shared OFD locks on single bytes, 100 + i while it holds permission i
 * and 200 + i while it refuses to share it, and tests the opposite byte
 * for conflicts. i: 0 consistent read, 1 write, 2 write unchanged,
 * 3 resize, 4 graph change (older QEMUs).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lock.h"

#define QEMU_LOCK_PERM_BASE	100
#define QEMU_LOCK_SHARED_BASE	200
#define QEMU_PERM_READ		0
#define QEMU_PERM_WRITE		1
#define QEMU_PERM_RESIZE	3
#define QEMU_NR_PERMS		5

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* -EAGAIN if another open file holds any lock on byte @off. */
static int ofd_test(int fd, off_t off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type == F_UNLCK ? 0 : -EAGAIN;
}

/*
 * Read-write: every byte QEMU uses, exclusively, so any other user
 * (kvmini or QEMU, reader or writer) conflicts. Read-only: what a QEMU
 * read-only user takes (reads, shares neither write nor resize), then
 * check that nobody writes or resizes.
 */
int image_lock(int fd, bool readonly)
{
	int ret;

	if (!readonly) {
		ret = ofd_lock(fd, F_WRLCK, QEMU_LOCK_PERM_BASE, QEMU_NR_PERMS);
		if (!ret)
			ret = ofd_lock(fd, F_WRLCK, QEMU_LOCK_SHARED_BASE, QEMU_NR_PERMS);
		return ret;
	}
	ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_PERM_BASE + QEMU_PERM_READ, 1);
	if (!ret)
		ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_SHARED_BASE + QEMU_PERM_WRITE, 1);
	if (!ret)
		ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_SHARED_BASE + QEMU_PERM_RESIZE, 1);
	if (!ret)
		ret = ofd_test(fd, QEMU_LOCK_PERM_BASE + QEMU_PERM_WRITE);
	if (!ret)
		ret = ofd_test(fd, QEMU_LOCK_PERM_BASE + QEMU_PERM_RESIZE);
	return ret;
}

int image_unlock(int fd)
{
	int ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_PERM_BASE, QEMU_NR_PERMS);

	if (!ret)
		ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_SHARED_BASE, QEMU_NR_PERMS);
	return ret;
}

/*
 * A read-write lock becomes what a read-only user holds (a live snapshot's
 * old top): each byte converted or dropped in place, so no writer can
 * slip in between.
 */
int image_lock_share(int fd)
{
	int ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_PERM_BASE + QEMU_PERM_READ, 1);

	if (!ret)
		ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_PERM_BASE + 1, QEMU_NR_PERMS - 1);
	if (!ret)
		ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_SHARED_BASE + QEMU_PERM_WRITE, 1);
	if (!ret)
		ret = ofd_lock(fd, F_RDLCK, QEMU_LOCK_SHARED_BASE + QEMU_PERM_RESIZE, 1);
	if (!ret)
		ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_SHARED_BASE + QEMU_PERM_READ, 1);
	if (!ret)
		ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_SHARED_BASE + 2, 1);
	if (!ret)
		ret = ofd_lock(fd, F_UNLCK, QEMU_LOCK_SHARED_BASE + 4, 1);
	return ret;
}
