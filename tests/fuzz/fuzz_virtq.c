/*
 * libFuzzer harness for the split-virtqueue walker (devices/virtio/virtq.c):
 * the input is the queue configuration and the contents of guest RAM.
 */
#include <errno.h>
#include <stdbool.h>

#include "virtio/virtq.h"
#include "fuzz.h"

#define MEM_SIZE	0x10000u	/* 64 KiB: a u16 reaches every byte */
#define MAX_POPS	64

/*
 * Input (little-endian; mkcorpus.py writes the seeds):
 *   u8  log2 of the queue size (taken mod 11, so up to 1024)
 *   u8  flags: 1 EVENT_IDX, 2 INDIRECT_DESC, 4 queue not ready, 8 give each
 *       chain back once (virtq_unpop) and return them in one virtq_push_batch
 *   u16 last_avail, u16 used_idx (device state to start from)
 *   u16 desc_gpa, u16 avail_gpa, u16 used_gpa
 *   the rest: guest RAM from gpa 0, zero beyond the input
 */
#define FL_EVENT_IDX	1
#define FL_INDIRECT	2
#define FL_NOT_READY	4
#define FL_UNPOP_BATCH	8

static struct guest_mem mem;
static struct virtq_elem elem, again;
static uint16_t heads[MAX_POPS];
static uint32_t lens[MAX_POPS];
static volatile uint8_t sink;

/* Every segment is guest RAM the device may use: read the out ones, write the in ones. */
static void use_elem(const struct virtq_elem *e)
{
	uint64_t out = 0, in = 0;
	unsigned int i;

	FUZZ_CHECK(e->n_out + e->n_in <= VIRTQ_MAX_SEGS);
	for (i = 0; i < e->n_out + e->n_in; i++) {
		uint8_t *p = e->iov[i].iov_base;
		size_t len = e->iov[i].iov_len;

		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(fuzz_in_ram(&mem, p, len));
		if (i < e->n_out) {
			out += len;
			sink ^= p[0] ^ p[len - 1];
		} else {
			in += len;
			p[0] = 0x5a;
			p[len - 1] = 0xa5;
		}
	}
	FUZZ_CHECK(out == e->out_bytes && in == e->in_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtq vq = { 0 };
	uint8_t flags;
	unsigned int i;
	int ret;

	if (!mem.base)
		fuzz_mem_alloc(&mem, MEM_SIZE, MEM_SIZE);
	vq.mem = &mem;
	vq.size = (uint16_t)(1u << (fuzz_u8(&in) % 11));
	flags = fuzz_u8(&in);
	vq.event_idx = flags & FL_EVENT_IDX;
	vq.indirect = flags & FL_INDIRECT;
	vq.ready = !(flags & FL_NOT_READY);
	vq.last_avail = fuzz_u16(&in);
	vq.used_idx = fuzz_u16(&in);
	vq.desc_gpa = fuzz_u16(&in);
	vq.avail_gpa = fuzz_u16(&in);
	vq.used_gpa = fuzz_u16(&in);
	memset(mem.base, 0, MEM_SIZE);
	memcpy(mem.base, in.p, in.n < MEM_SIZE ? in.n : MEM_SIZE);

	/* the transport refuses such a queue; the walker must cope all the same */
	(void)virtq_validate(&vq);
	for (i = 0; i < MAX_POPS; i++) {
		uint16_t before = vq.last_avail;

		ret = virtq_pop(&vq, &elem);
		if (ret <= 0) {
			FUZZ_CHECK(ret == 0 || (ret == -EINVAL && vq.broken));
			FUZZ_CHECK(vq.last_avail == before);
			break;
		}
		FUZZ_CHECK(ret == 1 && elem.head < vq.size);
		FUZZ_CHECK(vq.last_avail == (uint16_t)(before + 1));
		if (flags & FL_UNPOP_BATCH) {
			/* nothing changed the ring: the same chain comes back */
			virtq_unpop(&vq, 1);
			FUZZ_CHECK(vq.last_avail == before);
			FUZZ_CHECK(virtq_pop(&vq, &again) == 1);
			FUZZ_CHECK(again.head == elem.head && again.n_out == elem.n_out &&
				   again.n_in == elem.n_in && again.in_bytes == elem.in_bytes &&
				   again.out_bytes == elem.out_bytes);
		}
		use_elem(&elem);
		heads[i] = elem.head;
		lens[i] = (uint32_t)elem.in_bytes;
		if (!(flags & FL_UNPOP_BATCH)) {
			virtq_push(&vq, &elem, lens[i]);
			(void)virtq_should_notify(&vq);
		}
	}
	if (flags & FL_UNPOP_BATCH && i) {
		virtq_push_batch(&vq, heads, lens, i);
		(void)virtq_should_notify(&vq);
	}
	if (vq.broken) {
		virtq_reset(&vq);
		FUZZ_CHECK(!vq.broken && vq.last_avail == 0);
		(void)virtq_pop(&vq, &elem);
	}
	return 0;
}
