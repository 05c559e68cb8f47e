/*
 * Split virtqueues (virtio 1.x, 2.7): what a device model sees. Every
 * guest-controlled value is checked here, once, before any device uses it.
 */
#ifndef KVMINI_VIRTQ_H
#define KVMINI_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem.h"

#define VIRTQ_MAX_SIZE	1024	/* queue size we offer at most (power of two) */
#define VIRTQ_MAX_SEGS	256	/* descriptors in one chain, indirect included */

struct virtq {
	/* set by the transport from the driver's configuration */
	const struct guest_mem *mem;
	uint16_t size;		/* power of two, <= VIRTQ_MAX_SIZE */
	bool ready;
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t msix_vector;

	/* device-side state */
	uint16_t last_avail;	/* next avail ring slot to consume */
	uint16_t used_idx;	/* next used ring slot to fill */
	uint16_t signalled_used;	/* used_idx when we last notified (EVENT_IDX) */
	bool signalled_valid;
	bool broken;		/* the driver broke the rules: device needs reset */
};

/* One request: device-readable (out) segments, then device-writable (in). */
struct virtq_elem {
	uint16_t head;
	unsigned int n_out, n_in;
	struct iovec iov[VIRTQ_MAX_SEGS];	/* out segments first, then in */
	uint64_t in_bytes, out_bytes;
};

/*
 * Check the ring addresses and size the driver set (aligned, inside guest
 * RAM). Call on queue enable. 0 or -EINVAL.
 */
int virtq_validate(struct virtq *vq);
/*
 * Take the next available chain. 1: @e filled; 0: nothing available;
 * -EINVAL: the driver broke the rules (vq->broken is set; the device
 * should enter NEEDS_RESET). Never touches memory outside guest RAM.
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *e);
/* Return a chain to the driver with @written bytes written into its in segments. */
void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t written);
/*
 * Return @n chains at once (@heads[i] with @lens[i] bytes written): the
 * driver sees all of them or none, as a frame spread over several needs.
 */
void virtq_push_batch(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		      unsigned int n);
/* Give back the last @n chains popped and not pushed: the next pops return them again. */
void virtq_unpop(struct virtq *vq, unsigned int n);
/* After pushes: does the driver want an interrupt now (EVENT_IDX, NO_INTERRUPT)? */
bool virtq_should_notify(struct virtq *vq);
/* Forget device-side state (device reset). */
void virtq_reset(struct virtq *vq);

#endif
