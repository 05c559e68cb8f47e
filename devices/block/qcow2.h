/*
 * qcow2 images (versions 2 and 3, as qemu-img makes them) for virtio-blk:
 * reads, allocating writes, zeroing and flushes, over a read-only backing
 * chain of qcow2 or raw files. Every header field and table entry is
 * treated as hostile. docs/design.md, "The block backend", says how.
 */
#ifndef KVMINI_BLOCK_QCOW2_H
#define KVMINI_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "errmsg.h"

#define QCOW2_MAX_DEPTH		16		/* backing files under one image */
#define QCOW2_MAX_NAME		1023		/* bytes of a backing file name, as QEMU */
#define QCOW2_MAX_L1_BYTES	(32u << 20)	/* as QEMU's limits */
#define QCOW2_MAX_RT_BYTES	(8u << 20)

struct qcow2;

/* A read-only image under a qcow2: raw (q NULL) or qcow2. Owns fd and q. */
struct qcow2_layer {
	int fd;
	uint64_t size;		/* what reads see; beyond it, zeroes */
	struct qcow2 *q;
	bool borrowed;		/* qcow2_layer_close() leaves @fd and @q open */
	char path[];		/* for messages */
};

/* Whether the image open on @fd starts with the qcow2 magic. */
bool qcow2_probe(int fd);

struct qcow2_open_args {
	const char *path;	/* for messages, and backing names relative to it */
	bool readonly;
	bool probed;		/* the format was guessed: refuse a backing file */
	unsigned int depth;	/* backing files still allowed below */
	/* under the image instead of its backing file, taken over even on error */
	struct qcow2_layer *backing;
};

/* Check and open the qcow2 image on @fd (kept by the caller). 0 or -errno, @e said. */
int qcow2_open(struct qcow2 **out, int fd, const struct qcow2_open_args *a,
	       struct errmsg *e);
/* qcow2_settle(), then free @q and close its backing chain; @q's own fd stays open. */
void qcow2_close(struct qcow2 *q);
uint64_t qcow2_size(const struct qcow2 *q);

/*
 * Open @path read-only as a backing file: @fmt "raw" or "qcow2", NULL to
 * probe; locked shared as QEMU locks a backing file.
 */
int qcow2_layer_open(struct qcow2_layer **out, const char *path, const char *fmt,
		     unsigned int depth, struct errmsg *e);
void qcow2_layer_close(struct qcow2_layer *l);
/*
 * An open image (@fd, and @q for qcow2, else raw) of @size bytes as a
 * layer under a new overlay (a live snapshot): @q is flushed and becomes
 * read-only. The layer borrows both until its borrowed flag is cleared.
 */
int qcow2_layer_wrap(struct qcow2_layer **out, int fd, struct qcow2 *q, uint64_t size,
		     const char *path, struct errmsg *e);
/* Back to read-write, for a snapshot that failed after qcow2_layer_wrap(). */
void qcow2_unwrap(struct qcow2 *q);
/* Backing files under @q. */
unsigned int qcow2_chain_depth(const struct qcow2 *q);

/* The guest's view, @len bytes at @off (inside qcow2_size()): 0 or -errno. */
int qcow2_read(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
	       uint64_t len);
int qcow2_write(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
		uint64_t len);
/* Make the range read as zeroes; @unmap lets whole clusters be freed. */
int qcow2_zero(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap);
/*
 * Data and metadata to stable storage; refcounts of freed clusters drop,
 * and clusters reserved ahead are given back: the image is leak-free.
 */
int qcow2_flush(struct qcow2 *q);
/*
 * qcow2_flush() if frees or reserved clusters wait, else nothing (not a
 * system call): for the I/O thread at its end, so that qcow2_close() on a
 * thread that may not write finds nothing to do.
 */
int qcow2_settle(struct qcow2 *q);

/*
 * Write a fresh, empty qcow2 v3 image of @size bytes (64 KiB clusters) to
 * the empty file @fd, over @backing (NULL: none) whose format @backing_fmt
 * ("raw" or "qcow2") is recorded.
 */
int qcow2_create(int fd, uint64_t size, const char *backing, const char *backing_fmt,
		 struct errmsg *e);

#endif
