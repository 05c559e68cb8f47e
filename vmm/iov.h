/* Copies between I/O vectors (guest buffers of a virtqueue chain) and flat buffers. */
#ifndef KVMINI_IOV_H
#define KVMINI_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copy up to @len bytes of @iov (@n entries), from byte @skip on, to @buf; bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf,
		  size_t len);
/* Copy up to @len bytes of @buf into @iov, from byte @skip of it on; bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len);
/*
 * The bytes [@skip, @skip + @len) of @iov as a new vector in @dst, which
 * has room for @n entries; returns its entries (fewer bytes if @iov is shorter).
 */
unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
		       struct iovec *dst);
/*
 * Drop the first @bytes of the vector *@iov (*@n entries) in place, so a
 * short read or write resumes where it stopped; an emptied vector has *@n 0.
 */
void iov_advance(struct iovec **iov, unsigned int *n, size_t bytes);

#endif
