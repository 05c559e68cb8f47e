/*
 * Split virtqueues (virtio 1.x, 2.7), device side. The driver owns the
 * rings and may rewrite them at any moment: every value is read once into
 * a local, checked, and only then used; host pointers come from guest_ptr().
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "le.h"
#include "virtq.h"

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4

#define VIRTQ_AVAIL_F_NO_INTERRUPT	1

#define DESC_SIZE	16	/* le64 addr, le32 len, le16 flags, le16 next */
#define DESC_ALIGN	16
#define AVAIL_ALIGN	2
#define USED_ALIGN	4

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];	/* size entries, then le16 used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];	/* size entries, then le16 avail_event */
};

/* One descriptor, copied out of guest memory and converted to host order. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The three areas as host pointers, or -EINVAL if any is misplaced. */
struct rings {
	const uint8_t *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

static uint64_t avail_bytes(const struct virtq *vq)
{
	return 4 + 2ULL * vq->size + (vq->event_idx ? 2 : 0);
}

static uint64_t used_bytes(const struct virtq *vq)
{
	return 4 + 8ULL * vq->size + (vq->event_idx ? 2 : 0);
}

static int get_rings(const struct virtq *vq, struct rings *r)
{
	if (!vq->mem || vq->size == 0 || vq->size > VIRTQ_MAX_SIZE ||
	    (vq->size & (vq->size - 1)))
		return -EINVAL;
	if ((vq->desc_gpa & (DESC_ALIGN - 1)) || (vq->avail_gpa & (AVAIL_ALIGN - 1)) ||
	    (vq->used_gpa & (USED_ALIGN - 1)))
		return -EINVAL;
	r->desc = guest_ptr(vq->mem, vq->desc_gpa, (uint64_t)DESC_SIZE * vq->size);
	r->avail = guest_ptr(vq->mem, vq->avail_gpa, avail_bytes(vq));
	r->used = guest_ptr(vq->mem, vq->used_gpa, used_bytes(vq));
	if (!r->desc || !r->avail || !r->used)
		return -EINVAL;
	return 0;
}

int virtq_validate(struct virtq *vq)
{
	struct rings r;

	return get_rings(vq, &r);
}

/* Single fetch: the driver may change the table while we look at it. */
static void read_desc(const uint8_t *table, unsigned int i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	d->addr = get_le64(raw);
	d->len = get_le32(raw + 8);
	d->flags = get_le16(raw + 12);
	d->next = get_le16(raw + 14);
}

static uint16_t load_acquire16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static uint16_t load_relaxed16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static int broken(struct virtq *vq)
{
	vq->broken = true;
	return -EINVAL;
}

/* Where a chain walk stands: which table, how far, what it has collected. */
struct walk {
	const uint8_t *table;
	unsigned int table_size;
	unsigned int visited;	/* descriptors seen in this table */
	unsigned int total;	/* descriptors seen in the whole chain */
	bool indirect;		/* inside an indirect table */
	bool seen_in;
};

static int add_segment(struct virtq *vq, struct virtq_elem *e, struct walk *w,
		       const struct desc *d)
{
	bool in = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (in)
		w->seen_in = true;
	else if (w->seen_in)
		return -EINVAL;	/* device-readable after device-writable */
	/* zero-length descriptors carry nothing: skip them, no pointer made */
	if (d->len == 0)
		return 0;
	if (e->n_out + e->n_in == VIRTQ_MAX_SEGS)
		return -EINVAL;
	p = guest_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return -EINVAL;
	e->iov[e->n_out + e->n_in] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (in) {
		e->n_in++;
		e->in_bytes += d->len;
	} else {
		e->n_out++;
		e->out_bytes += d->len;
	}
	return 0;
}

static int enter_indirect(struct virtq *vq, struct walk *w, const struct desc *d)
{
	if (!vq->indirect || w->indirect || (d->flags & VIRTQ_DESC_F_NEXT))
		return -EINVAL;
	if (d->len == 0 || d->len % DESC_SIZE || d->len / DESC_SIZE > VIRTQ_MAX_SEGS)
		return -EINVAL;
	w->table = guest_ptr(vq->mem, d->addr, d->len);
	if (!w->table)
		return -EINVAL;
	w->table_size = d->len / DESC_SIZE;
	w->visited = 0;
	w->indirect = true;
	return 0;
}

/*
 * Follow the chain from @head. A chain that visits more descriptors than
 * its table holds must loop; VIRTQ_MAX_SEGS bounds the work either way.
 */
static int walk_chain(struct virtq *vq, const uint8_t *desc_table, uint16_t head,
		      struct virtq_elem *e)
{
	struct walk w = { .table = desc_table, .table_size = vq->size };
	unsigned int i = head;
	struct desc d;
	int ret;

	for (;;) {
		if (w.visited == w.table_size || w.total == VIRTQ_MAX_SEGS)
			return -EINVAL;
		read_desc(w.table, i, &d);
		w.visited++;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			ret = enter_indirect(vq, &w, &d);
			if (ret)
				return ret;
			i = 0;
			continue;
		}
		w.total++;
		ret = add_segment(vq, e, &w, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= w.table_size)
			return -EINVAL;
		i = d.next;
	}
}

/*
 * With EVENT_IDX, avail_event tells the driver when to kick next. It is
 * published when the ring looks empty, then the ring is checked again
 * (full barrier between), so a buffer added meanwhile is never missed.
 */
static uint16_t avail_idx_rearm(struct virtq *vq, const struct rings *r, uint16_t idx)
{
	uint16_t *avail_event;

	if (!vq->event_idx || idx != vq->last_avail)
		return idx;
	avail_event = (uint16_t *)&r->used->ring[vq->size];
	__atomic_store_n(avail_event, htole16(vq->last_avail), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load_acquire16(&r->avail->idx);
}

int virtq_pop(struct virtq *vq, struct virtq_elem *e)
{
	struct rings r;
	uint16_t idx, head;
	int ret;

	if (vq->broken)
		return -EINVAL;
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))	/* pairs with virtio_enable_queue */
		return 0;
	if (get_rings(vq, &r))
		return broken(vq);
	/* acquire: ring entries and descriptors are read after the index */
	idx = avail_idx_rearm(vq, &r, load_acquire16(&r.avail->idx));
	if (idx == vq->last_avail)
		return 0;
	if ((uint16_t)(idx - vq->last_avail) > vq->size)
		return broken(vq);

	head = load_relaxed16(&r.avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size)
		return broken(vq);
	e->head = head;
	e->n_out = e->n_in = 0;
	e->out_bytes = e->in_bytes = 0;
	ret = walk_chain(vq, r.desc, head, e);
	if (ret)
		return broken(vq);
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t written)
{
	struct vring_used_elem *u;
	struct rings r;

	if (get_rings(vq, &r)) {
		vq->broken = true;
		return;
	}
	u = &r.used->ring[vq->used_idx & (vq->size - 1)];
	u->id = htole32(e->head);
	u->len = htole32(written);
	vq->used_idx++;
	/* release: the entry is visible before the index that publishes it */
	__atomic_store_n(&r.used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

void virtq_push_batch(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		      unsigned int n)
{
	struct vring_used_elem *u;
	struct rings r;

	if (get_rings(vq, &r)) {
		vq->broken = true;
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		u = &r.used->ring[(uint16_t)(vq->used_idx + i) & (vq->size - 1)];
		u->id = htole32(heads[i]);
		u->len = htole32(lens[i]);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	__atomic_store_n(&r.used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

void virtq_unpop(struct virtq *vq, unsigned int n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

/* virtio 2.7.10: has used_event been passed between @old and @new? */
static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, used_event;
	struct rings r;
	bool valid;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) || get_rings(vq, &r))
		return false;
	/* our used->idx store must be visible before we read the driver's wish */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load_relaxed16(&r.avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);

	used_event = load_relaxed16(&r.avail->ring[vq->size]);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	return need_event(used_event, vq->used_idx, old);
}

void virtq_reset(struct virtq *vq)
{
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->broken = false;
}
