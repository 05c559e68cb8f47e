/* Copies between I/O vectors and flat buffers, for the device data paths. */
#include <stdint.h>
#include <string.h>

#include "iov.h"

/*
 * Walk the bytes [@skip, @skip + @len) of @iov, calling @fn on each piece
 * with its offset from @skip; returns the bytes walked.
 */
static size_t iov_walk(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
		       void (*fn)(uint8_t *piece, size_t off, size_t chunk, void *arg),
		       void *arg)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - skip;
		if (chunk > len - done)
			chunk = len - done;
		fn((uint8_t *)iov[i].iov_base + skip, done, chunk, arg);
		done += chunk;
		skip = 0;
	}
	return done;
}

static void copy_out(uint8_t *piece, size_t off, size_t chunk, void *buf)
{
	memcpy((uint8_t *)buf + off, piece, chunk);
}

static void copy_in(uint8_t *piece, size_t off, size_t chunk, void *buf)
{
	memcpy(piece, (const uint8_t *)buf + off, chunk);
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf,
		  size_t len)
{
	return iov_walk(iov, n, skip, len, copy_out, buf);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len)
{
	return iov_walk(iov, n, skip, len, copy_in, (void *)buf);
}

struct slice {
	struct iovec *dst;
	unsigned int m;
};

static void add_piece(uint8_t *piece, size_t off, size_t chunk, void *arg)
{
	struct slice *s = arg;

	(void)off;
	s->dst[s->m].iov_base = piece;
	s->dst[s->m].iov_len = chunk;
	s->m++;
}

unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
		       struct iovec *dst)
{
	struct slice s = { .dst = dst };

	iov_walk(iov, n, skip, len, add_piece, &s);
	return s.m;
}

void iov_advance(struct iovec **iov, unsigned int *n, size_t bytes)
{
	struct iovec *v = *iov;

	for (; *n && bytes >= v->iov_len; v++, (*n)--)
		bytes -= v->iov_len;
	if (*n) {
		v->iov_base = (uint8_t *)v->iov_base + bytes;
		v->iov_len -= bytes;
	}
	*iov = v;
}
