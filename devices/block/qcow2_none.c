/*
 * A build without qcow2 (-Dqcow2=disabled): images are raw. A qcow2 image
 * is still recognised by its magic, so that it is refused by name rather
 * than served as raw bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"

#define NO_QCOW2 "kvmini is built without qcow2 (-Dqcow2=disabled); convert the image " \
		 "with qemu-img convert -O raw, or use a build with qcow2"

bool qcow2_probe(int fd)
{
	unsigned char m[4];

	return pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m) && !memcmp(m, "QFI\xfb", 4);
}

int qcow2_open(struct qcow2 **out, int fd, const struct qcow2_open_args *a,
	       struct errmsg *e)
{
	(void)fd;
	*out = NULL;
	qcow2_layer_close(a->backing);
	return errmsg_set(e, -ENOTSUP, "%s: %s", a->path, NO_QCOW2);
}

void qcow2_close(struct qcow2 *q)
{
	(void)q;
}

uint64_t qcow2_size(const struct qcow2 *q)
{
	(void)q;
	return 0;
}

int qcow2_layer_open(struct qcow2_layer **out, const char *path, const char *fmt,
		     unsigned int depth, struct errmsg *e)
{
	(void)fmt;
	(void)depth;
	*out = NULL;
	return errmsg_set(e, -ENOTSUP, "%s: a backing file needs qcow2: %s", path, NO_QCOW2);
}

void qcow2_layer_close(struct qcow2_layer *l)
{
	if (!l)
		return;
	if (!l->borrowed)
		close(l->fd);
	free(l);
}

int qcow2_layer_wrap(struct qcow2_layer **out, int fd, struct qcow2 *q, uint64_t size,
		     const char *path, struct errmsg *e)
{
	(void)fd, (void)q, (void)size;
	*out = NULL;
	return errmsg_set(e, -ENOTSUP, "%s: a live snapshot makes a qcow2 overlay: %s", path,
			  NO_QCOW2);
}

void qcow2_unwrap(struct qcow2 *q)
{
	(void)q;
}

unsigned int qcow2_chain_depth(const struct qcow2 *q)
{
	(void)q;
	return 0;
}

int qcow2_read(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
	       uint64_t len)
{
	(void)q, (void)iov, (void)n, (void)off, (void)len;
	return -ENOTSUP;
}

int qcow2_write(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
		uint64_t len)
{
	(void)q, (void)iov, (void)n, (void)off, (void)len;
	return -ENOTSUP;
}

int qcow2_zero(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap)
{
	(void)q, (void)off, (void)len, (void)unmap;
	return -ENOTSUP;
}

int qcow2_flush(struct qcow2 *q)
{
	(void)q;
	return -ENOTSUP;
}

int qcow2_settle(struct qcow2 *q)
{
	(void)q;
	return 0;
}

int qcow2_create(int fd, uint64_t size, const char *backing, const char *backing_fmt,
		 struct errmsg *e)
{
	(void)fd, (void)size, (void)backing, (void)backing_fmt;
	return errmsg_set(e, -ENOTSUP, "snapshot=on and snapshot-disk make qcow2 overlays: %s",
			  NO_QCOW2);
}
