/*
 * qcow2 (docs/interop/qcow2.txt of QEMU), versions 2 and 3: header checks,
 * the L1/L2 mapping with a small write-through L2 cache, 16-bit refcounts,
 * allocation at the end of the file, zlib-compressed clusters (read), and
 * backing chains. The order of metadata writes keeps a killed kvmini's
 * image free of corruption (leaks at worst): docs/design.md says which.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "block/lock.h"
#include "block/qcow2.h"
#include "iov.h"
#include "util.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
#define V2_HEADER_LEN		72
#define V3_HEADER_LEN		104
#define MIN_CLUSTER_BITS	9
#define MAX_CLUSTER_BITS	21

#define INCOMPAT_DIRTY		(1ULL << 0)
#define INCOMPAT_CORRUPT	(1ULL << 1)
#define INCOMPAT_DATA_FILE	(1ULL << 2)
#define INCOMPAT_COMPRESSION	(1ULL << 3)
#define INCOMPAT_EXTL2		(1ULL << 4)

#define EXT_END			0
#define EXT_BACKING_FMT		0xe2792acau

#define OFFSET_MASK		0x00fffffffffffe00ULL	/* L1, L2 and refcount table */
#define OFLAG_COPIED		(1ULL << 63)		/* refcount exactly 1 */
#define OFLAG_COMPRESSED	(1ULL << 62)
#define OFLAG_ZERO		1ULL			/* v3: reads as zeroes */
#define MAX_HOST_OFFSET		(1ULL << 56)

#define L2_CACHE_BYTES		(4u << 20)
#define L2_CACHE_MIN		4
#define L2_CACHE_MAX		64
#define MAX_REFCOUNT		0xffffu
#define RESERVE_CLUSTERS	256	/* refcounts set, and synced, ahead of use */
#define MAX_FREED		1024	/* frees waiting for the next flush */

struct l2_slot {
	uint64_t off;		/* host offset of the table; 0: empty */
	uint64_t used;		/* LRU stamp */
	uint8_t *buf;		/* the table as on disk, big-endian */
};

struct qcow2 {
	int fd;
	const char *path;
	bool readonly;
	unsigned int version;
	unsigned int cluster_bits;
	uint64_t cluster_size;
	uint64_t size;			/* virtual */
	unsigned int l2_bits;		/* entries per L2 table: 1 << l2_bits */
	uint64_t *l1;			/* host order */
	uint64_t *l2_ok;		/* per L1 entry: the table offset checked; 0: none */
	uint64_t *meta;			/* sorted cluster indices of the metadata at open */
	size_t n_meta;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *rt;			/* refcount table, host order */
	uint64_t rt_entries;
	uint64_t rt_offset;
	uint64_t rc_per_block;		/* 16-bit refcounts in one block */
	uint64_t next_free;		/* cluster index: allocations go here, the end */
	uint64_t open_end;		/* bytes: the file's end when opened, in clusters */
	uint64_t reserved_end;		/* cluster index: refcounts 1 up to here */
	uint64_t freed[MAX_FREED];	/* host offsets, refcount 0 at the next flush */
	unsigned int n_freed;
	struct l2_slot *l2;
	unsigned int n_l2;
	uint64_t l2_clock;
	uint8_t *cbuf;			/* a whole cluster: COW, new L2 tables */
	uint8_t *mbuf;			/* a whole cluster: new refcount blocks, tables */
	uint8_t *zbuf;			/* compressed input: up to two clusters */
	uint8_t *dbuf;			/* the last cluster decompressed */
	uint64_t dbuf_entry;		/* its L2 entry; 0: none */
	z_stream zs;
	bool zs_ready;
	struct qcow2_layer *backing;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- file I/O: whole transfers or -errno (-EIO for a short read) ---- */

static int rw_buf(int fd, bool write, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return rw_buf(fd, false, buf, len, off);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return rw_buf(fd, true, (void *)buf, len, off);
}

static int iov_rw(int fd, bool write, const struct iovec *src, unsigned int n, size_t skip,
		  size_t len, uint64_t off)
{
	struct iovec v[IOV_MAX], *iov = v;
	unsigned int m;

	if (n > IOV_MAX)
		return -EINVAL;
	m = iov_slice(src, n, skip, len, v);
	while (m) {
		ssize_t r = write ? pwritev(fd, iov, (int)m, (off_t)off) :
				    preadv(fd, iov, (int)m, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		iov_advance(&iov, &m, (size_t)r);
	}
	return 0;
}

/* Zero @len bytes of the vector from @skip on. */
static void iov_zero(const struct iovec *iov, unsigned int n, size_t skip, size_t len)
{
	static const uint8_t zeroes[4096];

	while (len) {
		size_t c = len < sizeof(zeroes) ? len : sizeof(zeroes);

		iov_from_buf(iov, n, skip, zeroes, c);
		skip += c;
		len -= c;
	}
}

/* ---- layers: what a qcow2 reads where it has nothing of its own ---- */

static int layer_read(struct qcow2_layer *l, const struct iovec *iov, unsigned int n,
		      size_t skip, uint64_t off, uint64_t len)
{
	uint64_t have = off < l->size ? l->size - off : 0;
	uint64_t part = len < have ? len : have;
	int ret = 0;

	if (part) {
		if (l->q) {
			struct iovec v[IOV_MAX];
			unsigned int m;

			if (n > IOV_MAX)
				return -EINVAL;
			m = iov_slice(iov, n, skip, (size_t)part, v);
			ret = qcow2_read(l->q, v, m, off, part);
		} else {
			ret = iov_rw(l->fd, false, iov, n, skip, (size_t)part, off);
		}
	}
	if (!ret && part < len)
		iov_zero(iov, n, skip + (size_t)part, (size_t)(len - part));
	return ret;
}

/* ---- the refcounts ---- */

/* The host offset of the refcount block covering cluster @idx, 0: none. */
static uint64_t rc_block(const struct qcow2 *q, uint64_t idx)
{
	uint64_t b = idx / q->rc_per_block;

	return b < q->rt_entries ? q->rt[b] & OFFSET_MASK : 0;
}

static int rc_get(struct qcow2 *q, uint64_t idx, uint16_t *v)
{
	uint64_t blk = rc_block(q, idx);
	uint8_t raw[2];
	int ret;

	*v = 0;
	if (!blk)
		return 0;
	ret = pread_all(q->fd, raw, 2, blk + (idx % q->rc_per_block) * 2);
	if (!ret)
		*v = (uint16_t)(raw[0] << 8 | raw[1]);
	return ret;
}

/* Set the refcount of @idx, whose block exists. */
static int rc_set(struct qcow2 *q, uint64_t idx, uint16_t v)
{
	uint64_t blk = rc_block(q, idx);
	uint8_t raw[2];

	if (!blk)
		return -EIO;
	put_be16(raw, v);
	return pwrite_all(q->fd, raw, 2, blk + (idx % q->rc_per_block) * 2);
}

static int rc_add(struct qcow2 *q, uint64_t idx, int delta)
{
	uint16_t v;
	int ret = rc_get(q, idx, &v);

	if (ret)
		return ret;
	if ((delta > 0 && v == MAX_REFCOUNT) || (delta < 0 && v == 0) || !rc_block(q, idx))
		return -EIO;
	return rc_set(q, idx, (uint16_t)(v + delta));
}

/*
 * A bigger refcount table at the end of the file, with the new refcount
 * blocks its own clusters need right after it. Nothing points at the new
 * clusters until the header does (one 12-byte write): a crash before
 * that leaves leaks only. The old table is freed last.
 */
static int sync_fd(struct qcow2 *q)
{
	return fdatasync(q->fd) < 0 ? -errno : 0;
}

/* Refcount blocks missing for clusters [start, end) */
static uint64_t rt_missing(const struct qcow2 *q, uint64_t start, uint64_t end)
{
	uint64_t i, n = 0;

	for (i = start / q->rc_per_block; i <= (end - 1) / q->rc_per_block; i++)
		if (i >= q->rt_entries || !q->rt[i])
			n++;
	return n;
}

static int rt_grow(struct qcow2 *q, uint64_t need_entries)
{
	uint64_t per_cluster = q->cluster_size / 8;
	uint64_t entries = q->rt_entries * 2, start = q->next_free, k, m = 0, i, j, c;
	uint64_t old_off = q->rt_offset, old_clusters = q->rt_entries / per_cluster;
	uint64_t *rt;
	uint8_t hdr[12];
	int ret;

	if (entries < need_entries)
		entries = need_entries;
	entries = ALIGN_UP(entries, per_cluster);
	/* k table clusters, then m blocks for what [start, start + k + m) lacks */
	for (;;) {
		uint64_t want;

		if (entries * 8 > QCOW2_MAX_RT_BYTES)
			return -EFBIG;
		k = entries / per_cluster;
		want = rt_missing(q, start, start + k + m);
		if (want != m) {
			m = want;
			continue;
		}
		if ((start + k + m - 1) / q->rc_per_block < entries)
			break;
		entries += per_cluster;
	}
	if ((start + k + m) << q->cluster_bits >= MAX_HOST_OFFSET)
		return -EFBIG;
	rt = calloc(entries, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	memcpy(rt, q->rt, q->rt_entries * sizeof(*rt));
	/* the new blocks, each counting the new clusters it covers */
	j = 0;
	for (i = start / q->rc_per_block; i <= (start + k + m - 1) / q->rc_per_block; i++) {
		uint64_t blk;

		if (i < q->rt_entries && q->rt[i])
			continue;
		blk = (start + k + j++) << q->cluster_bits;
		memset(q->mbuf, 0, q->cluster_size);
		for (c = start; c < start + k + m; c++)
			if (c / q->rc_per_block == i)
				put_be16(q->mbuf + (c % q->rc_per_block) * 2, 1);
		ret = pwrite_all(q->fd, q->mbuf, q->cluster_size, blk);
		if (ret)
			goto err;
		rt[i] = blk;
	}
	/* new clusters that existing blocks cover */
	for (c = start; c < start + k + m; c++) {
		if (!rc_block(q, c))
			continue;
		ret = rc_set(q, c, 1);
		if (ret)
			goto err;
	}
	for (i = 0; i < k; i++) {
		for (j = 0; j < per_cluster; j++)
			put_be64(q->mbuf + j * 8, rt[i * per_cluster + j]);
		ret = pwrite_all(q->fd, q->mbuf, q->cluster_size,
				 (start + i) << q->cluster_bits);
		if (ret)
			goto err;
	}
	put_be64(hdr, start << q->cluster_bits);
	put_be32(hdr + 8, (uint32_t)k);
	ret = sync_fd(q);	/* the new table on disk before the header names it */
	if (!ret)
		ret = pwrite_all(q->fd, hdr, sizeof(hdr), 48);
	if (!ret)
		ret = sync_fd(q);	/* and the header before the old table is freed */
	if (ret)
		goto err;
	free(q->rt);
	q->rt = rt;
	q->rt_entries = entries;
	q->rt_offset = start << q->cluster_bits;
	q->next_free = start + k + m;
	for (c = 0; c < old_clusters; c++)
		(void)rc_add(q, (old_off >> q->cluster_bits) + c, -1);	/* else a leak */
	return 0;
err:
	free(rt);
	return ret;
}

/*
 * Refcount 1 for the next clusters at the end of the file, synced before
 * any of them is handed out: whatever order the disk puts later writes
 * in, nothing can refer to a cluster whose count is not on it. A missing
 * refcount block is made at the end first, counting itself, and synced
 * before the table names it. A crash leaks the clusters not used yet;
 * qcow2_close() gives them back.
 */
static int reserve_clusters(struct qcow2 *q)
{
	for (;;) {
		uint64_t idx = q->next_free, b = idx / q->rc_per_block, n, i;
		uint8_t e[8];
		int ret;

		if ((idx + 1) << q->cluster_bits >= MAX_HOST_OFFSET)
			return -EFBIG;
		if (b >= q->rt_entries) {
			ret = rt_grow(q, b + 1);
			if (ret)
				return ret;
			continue;
		}
		if (!q->rt[b]) {
			memset(q->mbuf, 0, q->cluster_size);
			put_be16(q->mbuf + (idx % q->rc_per_block) * 2, 1);
			ret = pwrite_all(q->fd, q->mbuf, q->cluster_size, idx << q->cluster_bits);
			if (!ret)
				ret = sync_fd(q);
			put_be64(e, idx << q->cluster_bits);
			if (!ret)
				ret = pwrite_all(q->fd, e, 8, q->rt_offset + b * 8);
			if (ret)
				return ret;
			q->rt[b] = idx << q->cluster_bits;
			q->next_free = idx + 1;
			continue;
		}
		/* within this block, and short of the largest offset */
		n = q->rc_per_block - idx % q->rc_per_block;
		if (n > RESERVE_CLUSTERS)
			n = RESERVE_CLUSTERS;
		if ((idx + n + 1) << q->cluster_bits >= MAX_HOST_OFFSET)
			n = 1;
		for (i = 0; i < n; i++)
			put_be16(q->mbuf + i * 2, 1);
		ret = pwrite_all(q->fd, q->mbuf, (size_t)n * 2,
				 (q->rt[b] & OFFSET_MASK) + (idx % q->rc_per_block) * 2);
		if (!ret)
			ret = sync_fd(q);
		if (ret)
			return ret;
		q->reserved_end = idx + n;
		return 0;
	}
}

/* One new cluster at the end of the file, its refcount 1 (and on disk) already. */
static int alloc_cluster(struct qcow2 *q, uint64_t *off)
{
	int ret;

	if (q->next_free >= q->reserved_end) {
		ret = reserve_clusters(q);
		if (ret)
			return ret;
	}
	*off = q->next_free++ << q->cluster_bits;
	return 0;
}

/* The reserved clusters nobody used: refcount 0 again, so a clean close leaks none. */
static void unreserve_clusters(struct qcow2 *q)
{
	uint64_t n = q->reserved_end > q->next_free ? q->reserved_end - q->next_free : 0;
	uint64_t blk = rc_block(q, q->next_free);

	if (!n || !blk)
		return;
	memset(q->mbuf, 0, (size_t)n * 2);
	(void)pwrite_all(q->fd, q->mbuf, (size_t)n * 2,
			 blk + (q->next_free % q->rc_per_block) * 2);
	q->reserved_end = q->next_free;
}

/*
 * References dropped (an L2 entry or an L1 entry changed) count one less
 * only after the change is on disk (the next flush, or a full list): else
 * a crash could leave a reference to a free cluster. A cluster whose
 * count reaches 0 goes back to the host.
 */
static int apply_frees(struct qcow2 *q)
{
	unsigned int i;
	int ret;

	if (!q->n_freed)
		return 0;
	ret = sync_fd(q);
	for (i = 0; !ret && i < q->n_freed; i++) {
		uint64_t off = q->freed[i];
		uint16_t v;

		ret = rc_get(q, off >> q->cluster_bits, &v);
		if (ret || !v)
			continue;	/* already wrong: leave it */
		ret = rc_set(q, off >> q->cluster_bits, (uint16_t)(v - 1));
		if (!ret && v == 1)
			(void)fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)off, (off_t)q->cluster_size);
	}
	q->n_freed = 0;
	return ret;
}

/* One reference to the cluster at @off is gone: one less at the next flush. */
static int free_cluster(struct qcow2 *q, uint64_t off)
{
	if (q->n_freed == MAX_FREED) {
		int ret = apply_frees(q);

		if (ret)
			return ret;
	}
	q->freed[q->n_freed++] = off;
	return 0;
}

/* ---- L2 tables ---- */

static int l2_load(struct qcow2 *q, uint64_t off, struct l2_slot **out)
{
	struct l2_slot *s, *victim = &q->l2[0];
	unsigned int i;
	int ret;

	if (!off || off & (q->cluster_size - 1))
		return -EIO;	/* an L1 entry into the header, or unaligned */
	for (i = 0; i < q->n_l2; i++) {
		s = &q->l2[i];
		if (s->off == off) {
			s->used = ++q->l2_clock;
			*out = s;
			return 0;
		}
		if (s->used < victim->used)
			victim = s;
	}
	victim->off = 0;
	ret = pread_all(q->fd, victim->buf, q->cluster_size, off);
	if (ret)
		return ret;
	victim->off = off;
	victim->used = ++q->l2_clock;
	*out = victim;
	return 0;
}

static void compressed_span(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len);

/* Whether cluster @c held metadata when the image was opened (binary search). */
static bool is_meta(const struct qcow2 *q, uint64_t c)
{
	size_t lo = 0, hi = q->n_meta;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->meta[mid] == c)
			return true;
		if (q->meta[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * Whether entry @e of a table the file brought is unusable: it points at
 * or past the file's end when opened (kvmini's own clusters will be
 * there), or into the header, an L1, L2 or refcount table or block (an
 * in-place write there, or a free of it, would change the metadata).
 */
static bool bad_entry(const struct qcow2 *q, uint64_t e)
{
	uint64_t off, len, c;

	if (e & OFLAG_COMPRESSED) {
		compressed_span(q, e, &off, &len);
		if (!off)
			return false;	/* decompress() refuses it when read */
	} else {
		off = e & OFFSET_MASK;
		len = q->cluster_size;
		if (!off)
			return false;
	}
	if (off >= q->open_end || len > q->open_end - off)
		return true;
	for (c = off >> q->cluster_bits; c <= (off + len - 1) >> q->cluster_bits; c++)
		if (is_meta(q, c))
			return true;
	return false;
}

/*
 * The L2 table at @off, reached through L1 entry @i1, checked before its
 * first use. A table that was in the file when it was opened may only
 * point at data inside that file (bad_entry()). Once a table has passed,
 * the entries kvmini writes into it (clusters it allocated past that end)
 * are its own; a table that fails is never used, for reads or writes.
 */
static int l2_table(struct qcow2 *q, uint64_t i1, uint64_t off, struct l2_slot **out)
{
	uint64_t i;
	int ret = l2_load(q, off, out);

	if (ret || off >= q->open_end || q->l2_ok[i1] == off)
		return ret;
	for (i = 0; i < 1ULL << q->l2_bits; i++)
		if (bad_entry(q, be64((*out)->buf + i * 8)))
			return -EIO;
	q->l2_ok[i1] = off;
	return 0;
}

/* Entry @i2 of the table in @s. */
static uint64_t l2_get(const struct l2_slot *s, uint64_t i2)
{
	return be64(s->buf + i2 * 8);
}

/* The L2 entry for guest offset @g; 0 where no L2 table exists. */
static int l2_entry(struct qcow2 *q, uint64_t g, uint64_t *entry)
{
	uint64_t i1 = g >> (q->cluster_bits + q->l2_bits);
	uint64_t i2 = (g >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1);
	struct l2_slot *s;
	int ret;

	*entry = 0;
	if (i1 >= q->l1_size)
		return -EIO;
	if (!(q->l1[i1] & OFFSET_MASK))
		return 0;
	ret = l2_table(q, i1, q->l1[i1] & OFFSET_MASK, &s);
	if (!ret)
		*entry = l2_get(s, i2);
	return ret;
}

/* The host clusters a compressed entry's data spans. */
static void compressed_span(const struct qcow2 *q, uint64_t e, uint64_t *off, uint64_t *len)
{
	unsigned int x = 62 - (q->cluster_bits - 8);
	uint64_t sectors = (e >> x) & ((1ULL << (q->cluster_bits - 8)) - 1);

	*off = e & ((1ULL << x) - 1);
	*len = (sectors + 1) * 512 - (*off & 511);
}

/* The L2 entry @e, replaced: the clusters it referred to, one reference less each. */
static int drop_refs(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len, c;
	int ret = 0;

	if (e & OFLAG_COMPRESSED) {
		compressed_span(q, e, &off, &len);
		for (c = off >> q->cluster_bits; !ret && c <= (off + len - 1) >> q->cluster_bits;
		     c++)
			ret = free_cluster(q, c << q->cluster_bits);
		q->dbuf_entry = 0;
		return ret;
	}
	if (e & OFFSET_MASK)
		ret = free_cluster(q, e & OFFSET_MASK);
	return ret;
}

/*
 * A copy of an L2 table shared with an internal snapshot. As in QEMU, a
 * data cluster counts one reference per L1 table (active or snapshot)
 * that reaches it, so the copy takes no new counts; its entries are shared
 * (refcount 2 or more) until written, so none is COPIED.
 */
static void l2_unshare(struct qcow2 *q, uint8_t *table)
{
	uint64_t i;

	for (i = 0; i < 1ULL << q->l2_bits; i++)
		put_be64(table + i * 8, be64(table + i * 8) & ~OFLAG_COPIED);
}

/*
 * The L2 table for guest offset @g, ours to change: a new one (zeroes)
 * or a copy of one shared with an internal snapshot, each written (and
 * synced) before the L1 entry points at it; the shared one then counts
 * one reference less.
 */
static int l2_for_write(struct qcow2 *q, uint64_t g, struct l2_slot **out)
{
	uint64_t i1 = g >> (q->cluster_bits + q->l2_bits);
	uint64_t e = q->l1[i1], off = e & OFFSET_MASK, new;
	struct l2_slot *s;
	uint8_t raw[8];
	int ret;

	if (off && (e & OFLAG_COPIED))
		return l2_table(q, i1, off, out);
	ret = alloc_cluster(q, &new);
	if (ret)
		return ret;
	if (off) {
		ret = l2_table(q, i1, off, &s);
		if (ret)
			return ret;
		memcpy(q->cbuf, s->buf, q->cluster_size);
		l2_unshare(q, q->cbuf);
	} else {
		memset(q->cbuf, 0, q->cluster_size);
	}
	if (!ret)
		ret = pwrite_all(q->fd, q->cbuf, q->cluster_size, new);
	if (!ret)
		ret = sync_fd(q);	/* the table (and counts) before the L1 entry */
	if (ret)
		return ret;
	put_be64(raw, new | OFLAG_COPIED);
	ret = pwrite_all(q->fd, raw, 8, q->l1_offset + i1 * 8);
	if (ret)
		return ret;
	q->l1[i1] = new | OFLAG_COPIED;
	if (off)
		ret = free_cluster(q, off);	/* the snapshot's table keeps its own count */
	return ret ? ret : l2_load(q, new, out);
}

static int l2_set(struct qcow2 *q, struct l2_slot *s, uint64_t g, uint64_t entry)
{
	uint64_t i2 = (g >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1);
	uint8_t raw[8];
	int ret;

	put_be64(raw, entry);
	ret = pwrite_all(q->fd, raw, 8, s->off + i2 * 8);
	if (!ret)
		memcpy(s->buf + i2 * 8, raw, 8);
	else
		s->off = 0;	/* unsure what the disk holds: read it again */
	return ret;
}

/* ---- reads ---- */

static int decompress(struct qcow2 *q, uint64_t e)
{
	uint64_t off, len;
	ssize_t r;
	int zr;

	if (q->dbuf_entry == e)
		return 0;
	compressed_span(q, e, &off, &len);
	if (!off || len > 2 * q->cluster_size)
		return -EIO;
	do
		r = pread(q->fd, q->zbuf, (size_t)len, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r <= 0)	/* the last one may end past the end of the file */
		return r < 0 ? -errno : -EIO;
	q->dbuf_entry = 0;
	if (inflateReset(&q->zs) != Z_OK)
		return -EIO;
	q->zs.next_in = q->zbuf;
	q->zs.avail_in = (uInt)r;
	q->zs.next_out = q->dbuf;
	q->zs.avail_out = (uInt)q->cluster_size;
	zr = inflate(&q->zs, Z_FINISH);
	if ((zr != Z_STREAM_END && zr != Z_OK && zr != Z_BUF_ERROR) || q->zs.avail_out)
		return -EIO;
	q->dbuf_entry = e;
	return 0;
}

/* @len bytes at @g, inside one cluster, whose L2 entry is @e. */
static int read_piece(struct qcow2 *q, uint64_t e, const struct iovec *iov, unsigned int n,
		      size_t skip, uint64_t g, uint64_t len)
{
	uint64_t in = g & (q->cluster_size - 1);
	int ret;

	if (e & OFLAG_COMPRESSED) {
		ret = decompress(q, e);
		if (!ret)
			iov_from_buf(iov, n, skip, q->dbuf + in, (size_t)len);
		return ret;
	}
	if (q->version >= 3 && (e & OFLAG_ZERO)) {
		iov_zero(iov, n, skip, (size_t)len);
		return 0;
	}
	if (!(e & OFFSET_MASK)) {
		if (q->backing)
			return layer_read(q->backing, iov, n, skip, g, len);
		iov_zero(iov, n, skip, (size_t)len);
		return 0;
	}
	if (e & (q->cluster_size - 1) & OFFSET_MASK)
		return -EIO;	/* unaligned data cluster */
	return iov_rw(q->fd, false, iov, n, skip, (size_t)len, (e & OFFSET_MASK) + in);
}

/* Bytes from @g to the end of its cluster, at most @left. */
static uint64_t piece_at(const struct qcow2 *q, uint64_t g, uint64_t left)
{
	uint64_t piece = q->cluster_size - (g & (q->cluster_size - 1));

	return piece < left ? piece : left;
}

static bool in_range(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return off <= q->size && len <= q->size - off;
}

/* A data cluster whose bytes are in the file (not compressed, zero or unallocated). */
static bool plain(const struct qcow2 *q, uint64_t e)
{
	return !(e & OFLAG_COMPRESSED) && (e & OFFSET_MASK) && !(q->version >= 3 && (e & OFLAG_ZERO));
}

static bool owned(const struct qcow2 *q, uint64_t e);

/*
 * From @g on, at most @left bytes: the longest span whose clusters are
 * data clusters back to back in the file (for a write: ours alone, in an
 * L2 table of ours, so written in place). *@span 0: @g's own cluster is
 * not one; else *@host is where @g's byte is. One preadv or pwritev then
 * serves what would be one per cluster.
 */
static int host_span(struct qcow2 *q, uint64_t g, uint64_t left, bool write, uint64_t *host,
		     uint64_t *span)
{
	uint64_t piece = piece_at(q, g, left), first = 0;
	int ret;

	*span = 0;
	for (;;) {
		uint64_t at = g + *span, e;

		if (write && !(q->l1[at >> (q->cluster_bits + q->l2_bits)] & OFLAG_COPIED))
			return 0;	/* a table shared with an internal snapshot */
		ret = l2_entry(q, at, &e);
		if (ret)
			return ret;
		if (!(write ? owned(q, e) : plain(q, e)))
			return 0;
		if (e & (q->cluster_size - 1) & OFFSET_MASK)
			return -EIO;	/* unaligned data cluster */
		if (!*span)
			first = e & OFFSET_MASK;
		else if ((e & OFFSET_MASK) != first + (((at >> q->cluster_bits) -
							 (g >> q->cluster_bits)) << q->cluster_bits))
			return 0;
		if (!*span)
			*host = first + (g & (q->cluster_size - 1));
		*span += piece;
		if (*span >= left)
			return 0;
		piece = piece_at(q, g + *span, left - *span);
	}
}

int qcow2_read(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
	       uint64_t len)
{
	uint64_t done, piece, host;
	int ret;

	if (!in_range(q, off, len))
		return -EIO;
	for (done = 0; done < len; done += piece) {
		uint64_t g = off + done, e;

		ret = host_span(q, g, len - done, false, &host, &piece);
		if (!ret && piece) {
			ret = iov_rw(q->fd, false, iov, n, (size_t)done, (size_t)piece, host);
			if (ret)
				return ret;
			continue;
		}
		piece = piece_at(q, g, len - done);
		if (!ret)
			ret = l2_entry(q, g, &e);
		if (!ret)
			ret = read_piece(q, e, iov, n, (size_t)done, g, piece);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- writes ---- */

/* Whether @e names a data cluster of ours alone, written in place. */
static bool owned(const struct qcow2 *q, uint64_t e)
{
	return (e & OFLAG_COPIED) && !(e & OFLAG_COMPRESSED) && (e & OFFSET_MASK) &&
	       !(q->version >= 3 && (e & OFLAG_ZERO));
}

/*
 * Write @len bytes at @g inside one cluster: in place if the cluster is
 * ours alone, else into a new cluster (the old contents around the
 * piece copied first), then the L2 entry.
 */
static int write_piece(struct qcow2 *q, const struct iovec *iov, unsigned int n, size_t skip,
		       uint64_t g, uint64_t len)
{
	uint64_t in = g & (q->cluster_size - 1), start = g - in, e, new;
	struct l2_slot *s;
	struct iovec whole = { .iov_base = q->cbuf, .iov_len = q->cluster_size };
	int ret;

	ret = l2_for_write(q, g, &s);
	if (ret)
		return ret;
	e = l2_get(s, (g >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1));
	if (owned(q, e)) {
		if (e & (q->cluster_size - 1) & OFFSET_MASK)
			return -EIO;
		return iov_rw(q->fd, true, iov, n, skip, (size_t)len, (e & OFFSET_MASK) + in);
	}
	if (len == q->cluster_size) {
		/* a whole cluster: straight from the guest's buffers */
		ret = alloc_cluster(q, &new);
		if (!ret)
			ret = iov_rw(q->fd, true, iov, n, skip, (size_t)len, new);
	} else {
		ret = read_piece(q, e, &whole, 1, 0, start, q->cluster_size);
		if (ret)
			return ret;
		iov_to_buf(iov, n, skip, q->cbuf + in, (size_t)len);
		ret = alloc_cluster(q, &new);
		if (!ret)
			ret = pwrite_all(q->fd, q->cbuf, q->cluster_size, new);
	}
	if (!ret)
		ret = l2_set(q, s, g, new | OFLAG_COPIED);
	if (!ret)
		ret = drop_refs(q, e);	/* what the cluster was: shared, compressed, zero */
	return ret;
}

/*
 * Up to @max whole clusters from the aligned @g on, in one L2 table, that
 * all need new clusters: one pwritev of their data into consecutive
 * reserved clusters, then one write of their L2 entries. *@done: how many
 * (0: fewer than two qualified, write them one by one).
 */
static int write_run(struct qcow2 *q, const struct iovec *iov, unsigned int n, size_t skip,
		     uint64_t g, uint64_t max, uint64_t *done)
{
	uint64_t i2 = (g >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1), k, i, new;
	struct l2_slot *s;
	int ret;

	*done = 0;
	if (max > (1ULL << q->l2_bits) - i2)
		max = (1ULL << q->l2_bits) - i2;
	if (max < 2)
		return 0;
	ret = l2_for_write(q, g, &s);
	for (k = 0; !ret && k < max; k++)
		if (owned(q, l2_get(s, i2 + k)))
			break;
	if (ret || k < 2)
		return ret;
	if (q->next_free >= q->reserved_end) {
		ret = reserve_clusters(q);	/* touches no L2 table: s stays */
		if (ret)
			return ret;
	}
	if (k > q->reserved_end - q->next_free)
		k = q->reserved_end - q->next_free;
	new = q->next_free << q->cluster_bits;
	q->next_free += k;
	ret = iov_rw(q->fd, true, iov, n, skip, (size_t)(k << q->cluster_bits), new);
	if (ret)
		return ret;
	for (i = 0; i < k; i++)
		put_be64(q->mbuf + i * 8, (new + (i << q->cluster_bits)) | OFLAG_COPIED);
	ret = pwrite_all(q->fd, q->mbuf, (size_t)k * 8, s->off + i2 * 8);
	if (ret) {
		s->off = 0;	/* unsure what the disk holds: read it again */
		return ret;
	}
	for (i = 0; !ret && i < k; i++)
		ret = drop_refs(q, be64(s->buf + (i2 + i) * 8));
	memcpy(s->buf + i2 * 8, q->mbuf, (size_t)k * 8);
	*done = k;
	return ret;
}

int qcow2_write(struct qcow2 *q, const struct iovec *iov, unsigned int n, uint64_t off,
		uint64_t len)
{
	uint64_t done, piece, run;
	int ret;

	if (q->readonly || !in_range(q, off, len))
		return -EIO;
	for (done = 0; done < len; done += piece) {
		uint64_t g = off + done, host;

		ret = host_span(q, g, len - done, true, &host, &piece);
		if (ret)
			return ret;
		if (piece) {	/* in place */
			ret = iov_rw(q->fd, true, iov, n, (size_t)done, (size_t)piece, host);
			if (ret)
				return ret;
			continue;
		}
		piece = piece_at(q, g, len - done);
		if (piece == q->cluster_size) {
			ret = write_run(q, iov, n, (size_t)done, g, (len - done) >> q->cluster_bits,
					&run);
			if (ret)
				return ret;
			if (run) {
				piece = run << q->cluster_bits;
				continue;
			}
		}
		ret = write_piece(q, iov, n, (size_t)done, g, piece);
		if (ret)
			return ret;
	}
	return 0;
}

static int zero_bytes(struct qcow2 *q, uint64_t g, uint64_t len)
{
	static uint8_t zeroes[4096];
	uint64_t done, c;
	int ret;

	for (done = 0; done < len; done += c) {
		struct iovec v = { .iov_base = zeroes };

		c = len - done < sizeof(zeroes) ? len - done : sizeof(zeroes);
		v.iov_len = (size_t)c;
		ret = qcow2_write(q, &v, 1, g + done, c);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A whole cluster to zeroes. v3: the zero flag (freeing the cluster if
 * @unmap, else zeroing it in place). v2: no entry reads as zeroes only
 * without a backing file; with one, zeroes are written.
 */
static int zero_cluster(struct qcow2 *q, uint64_t g, bool unmap)
{
	uint64_t i1 = g >> (q->cluster_bits + q->l2_bits), e, host, want;
	bool own;
	struct l2_slot *s;
	int ret;

	if (!(q->l1[i1] & OFFSET_MASK) && !q->backing)
		return 0;	/* reads as zeroes already */
	if (q->version < 3 && q->backing)
		return zero_bytes(q, g, q->cluster_size);
	ret = l2_for_write(q, g, &s);
	if (ret)
		return ret;
	e = l2_get(s, (g >> q->cluster_bits) & ((1ULL << q->l2_bits) - 1));
	host = e & OFFSET_MASK;
	own = (e & OFLAG_COPIED) && !(e & OFLAG_COMPRESSED) && host;
	if (own && !unmap && !(e & OFLAG_ZERO))
		return zero_bytes(q, g, q->cluster_size);	/* stays allocated */
	want = q->version >= 3 ? OFLAG_ZERO : 0;
	if (e == want || (!e && !q->backing))
		return 0;
	ret = l2_set(q, s, g, want);	/* no reference first, then the refcount */
	if (!ret)
		ret = drop_refs(q, e);
	return ret;
}

/* Whether the cluster at @g reads as zeroes without a look at its data: no allocation then. */
static int reads_zero(struct qcow2 *q, uint64_t g, bool *zero)
{
	uint64_t e;
	int ret = l2_entry(q, g, &e);

	*zero = !ret && !(e & OFLAG_COMPRESSED) &&
		((q->version >= 3 && (e & OFLAG_ZERO)) || (!(e & OFFSET_MASK) && !q->backing));
	return ret;
}

int qcow2_zero(struct qcow2 *q, uint64_t off, uint64_t len, bool unmap)
{
	uint64_t done, piece;
	bool zero;
	int ret;

	if (q->readonly || !in_range(q, off, len))
		return -EIO;
	for (done = 0; done < len; done += piece) {
		uint64_t g = off + done;

		piece = piece_at(q, g, len - done);
		if (piece == q->cluster_size)
			ret = zero_cluster(q, g, unmap);
		else if (!(ret = reads_zero(q, g, &zero)) && !zero)
			ret = zero_bytes(q, g, piece);
		if (ret)
			return ret;
	}
	return 0;
}

int qcow2_flush(struct qcow2 *q)
{
	int ret;

	if (q->readonly)
		return 0;
	ret = apply_frees(q);	/* syncs first */
	if (!ret)
		unreserve_clusters(q);
	return ret ? ret : sync_fd(q);
}

int qcow2_settle(struct qcow2 *q)
{
	if (q->readonly || (!q->n_freed && q->reserved_end <= q->next_free))
		return 0;	/* no system call: nothing waits */
	return qcow2_flush(q);
}

uint64_t qcow2_size(const struct qcow2 *q)
{
	return q->size;
}

/* ---- opening ---- */

bool qcow2_probe(int fd)
{
	uint8_t m[4];

	return pread_all(fd, m, sizeof(m), 0) == 0 && be32(m) == QCOW2_MAGIC;
}

static int refuse(struct errmsg *e, const char *path, const char *what)
{
	return errmsg_set(e, -ENOTSUP, "path=%s: qcow2 image %s: not supported", path, what);
}

static int corrupt(struct errmsg *e, const char *path, const char *what)
{
	return errmsg_set(e, -EINVAL, "path=%s: not a valid qcow2 image: %s; check it with "
			  "qemu-img check %s", path, what, path);
}

/* The table of @count 8-byte entries at @off, inside the file of @fsize bytes. */
static int read_table(int fd, uint64_t off, uint64_t count, uint64_t fsize, uint64_t **out)
{
	uint64_t *t, i;
	int ret;

	if (off > fsize || count * 8 > fsize - off)
		return -EINVAL;
	t = calloc(count ? count : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ret = pread_all(fd, t, (size_t)(count * 8), off);
	if (ret) {
		free(t);
		return ret;
	}
	for (i = 0; i < count; i++)
		t[i] = be64((uint8_t *)&t[i]);
	*out = t;
	return 0;
}

struct hdr_info {
	uint64_t backing_off;
	uint32_t backing_len;
	char backing_fmt[16];
	uint64_t incompat, autoclear;
	uint32_t header_len;
};

/* Header extensions (after the header, inside cluster 0): the backing format. */
static int read_extensions(struct qcow2 *q, const uint8_t *c0, struct hdr_info *h,
			   struct errmsg *e)
{
	uint64_t pos = h->header_len;

	while (pos + 8 <= q->cluster_size) {
		uint32_t type = be32(c0 + pos), len = be32(c0 + pos + 4);

		pos += 8;
		if (type == EXT_END)
			return 0;
		if (len > q->cluster_size - pos)
			return corrupt(e, q->path, "a header extension runs past the first cluster");
		if (type == EXT_BACKING_FMT) {
			if (!len || len >= sizeof(h->backing_fmt))
				return refuse(e, q->path, "with a backing format name of that length");
			memcpy(h->backing_fmt, c0 + pos, len);
			h->backing_fmt[len] = 0;
		}
		pos += ALIGN_UP((uint64_t)len, 8);
	}
	return corrupt(e, q->path, "the header extensions have no end");
}

static int check_features(struct qcow2 *q, const struct hdr_info *h, struct errmsg *e)
{
	uint64_t known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE |
			 INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
	char what[96];

	if (h->incompat & INCOMPAT_DATA_FILE)
		return refuse(e, q->path, "with an external data file");
	if (h->incompat & INCOMPAT_EXTL2)
		return refuse(e, q->path, "with extended L2 entries (subclusters)");
	if (h->incompat & INCOMPAT_COMPRESSION)
		return refuse(e, q->path, "with a compression type other than zlib");
	if (h->incompat & ~known) {
		snprintf(what, sizeof(what), "with unknown incompatible feature bits 0x%llx",
			 (unsigned long long)(h->incompat & ~known));
		return refuse(e, q->path, what);
	}
	if (h->incompat & INCOMPAT_CORRUPT)
		return errmsg_set(e, -EINVAL, "path=%s: the qcow2 image is marked corrupt; "
				  "repair it with qemu-img check -r all %s", q->path, q->path);
	if ((h->incompat & INCOMPAT_DIRTY) && !q->readonly)
		return errmsg_set(e, -EINVAL, "path=%s: the qcow2 image was not closed cleanly "
				  "(dirty, lazy refcounts); repair it with qemu-img check -r all %s "
				  "or use readonly=on", q->path, q->path);
	return 0;
}

static int parse_header(struct qcow2 *q, const uint8_t *c0, uint64_t fsize,
			struct hdr_info *h, struct errmsg *e)
{
	uint64_t l2_span, need;
	char what[96];

	q->version = be32(c0 + 4);
	if (q->version != 2 && q->version != 3) {
		snprintf(what, sizeof(what), "version %u", q->version);
		return refuse(e, q->path, what);
	}
	h->backing_off = be64(c0 + 8);
	h->backing_len = be32(c0 + 16);
	if (be32(c0 + 32))
		return refuse(e, q->path, "with encryption");
	q->size = be64(c0 + 24);
	q->l1_size = be32(c0 + 36);
	q->l1_offset = be64(c0 + 40);
	q->rt_offset = be64(c0 + 48);
	q->rt_entries = (uint64_t)be32(c0 + 56) * (q->cluster_size / 8);
	h->header_len = V2_HEADER_LEN;
	if (q->version == 3) {
		uint32_t order = be32(c0 + 96);

		h->incompat = be64(c0 + 72);
		h->autoclear = be64(c0 + 88);
		h->header_len = be32(c0 + 100);
		if (order != 4) {
			snprintf(what, sizeof(what), "with %u-bit refcounts (only 16 are)",
				 order < 32 ? 1u << order : 0);
			return refuse(e, q->path, what);
		}
		if (h->header_len < V3_HEADER_LEN || h->header_len > q->cluster_size - 8)
			return corrupt(e, q->path, "header length out of range");
	}
	if (q->size % 512 || !q->size)
		return refuse(e, q->path, "whose size is 0 or not a multiple of 512 bytes");
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return refuse(e, q->path, "with an L1 table over 32 MiB");
	if (q->rt_entries * 8 > QCOW2_MAX_RT_BYTES || !q->rt_entries)
		return corrupt(e, q->path, "refcount table empty or over 8 MiB");
	l2_span = 1ULL << (q->cluster_bits + q->l2_bits);
	need = q->size / l2_span + (q->size % l2_span != 0);
	if (need > q->l1_size)
		return corrupt(e, q->path, "the L1 table is too small for the image's size");
	if ((q->l1_offset | q->rt_offset) & (q->cluster_size - 1) || !q->rt_offset ||
	    (q->l1_size && !q->l1_offset))
		return corrupt(e, q->path, "table offsets not aligned to clusters");
	if (q->l1_offset > fsize || (uint64_t)q->l1_size * 8 > fsize - q->l1_offset ||
	    q->rt_offset > fsize || q->rt_entries * 8 > fsize - q->rt_offset)
		return corrupt(e, q->path, "a table lies past the end of the file");
	return 0;
}

static int open_backing(struct qcow2 *q, const uint8_t *c0, const struct hdr_info *h,
			const struct qcow2_open_args *a, struct errmsg *e)
{
	char name[QCOW2_MAX_NAME + 1], full[PATH_MAX];
	const char *slash = strrchr(a->path, '/');
	const char *fmt = h->backing_fmt[0] ? h->backing_fmt : NULL;

	if (h->backing_len > QCOW2_MAX_NAME)
		return refuse(e, q->path, "with a backing file name over 1023 bytes");
	if (h->backing_off > q->cluster_size || h->backing_len > q->cluster_size - h->backing_off)
		return corrupt(e, q->path, "the backing file name is outside the first cluster");
	memcpy(name, c0 + h->backing_off, h->backing_len);
	name[h->backing_len] = 0;
	if (strlen(name) != h->backing_len || !name[0])
		return corrupt(e, q->path, "the backing file name is empty or holds a NUL");
	if (a->probed)
		return errmsg_set(e, -EPERM, "path=%s: the image looks like qcow2 and names a "
				  "backing file (%s); kvmini does not follow it on a guessed format: "
				  "add format=qcow2 if you trust the image", q->path, name);
	if (!a->depth)
		return refuse(e, q->path, "with a backing chain deeper than 16 files");
	if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
		char what[64];

		snprintf(what, sizeof(what), "with a backing file of format '%s'", fmt);
		return refuse(e, q->path, what);
	}
	if (name[0] == '/' || !slash)
		snprintf(full, sizeof(full), "%s", name);
	else if (snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - a->path), a->path,
			  name) >= (int)sizeof(full))
		return corrupt(e, q->path, "the backing file's path is too long");
	return qcow2_layer_open(&q->backing, full, fmt, a->depth - 1, e);
}

static bool tables_inside(const struct qcow2 *q)
{
	uint64_t i;

	for (i = 0; i < q->l1_size; i++)
		if ((q->l1[i] & OFFSET_MASK) >= q->open_end)
			return false;
	for (i = 0; i < q->rt_entries; i++)
		if ((q->rt[i] & OFFSET_MASK) >= q->open_end)
			return false;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The clusters of the header, the L1 and refcount tables, L2 tables and refcount blocks. */
static int collect_meta(struct qcow2 *q)
{
	uint64_t l1c = ((uint64_t)q->l1_size * 8 + q->cluster_size - 1) >> q->cluster_bits;
	uint64_t rtc = (q->rt_entries * 8 + q->cluster_size - 1) >> q->cluster_bits, i;
	size_t n = 0, cap = 1 + l1c + rtc + q->l1_size + q->rt_entries;

	q->meta = malloc(cap * sizeof(*q->meta));
	if (!q->meta)
		return -ENOMEM;
	q->meta[n++] = 0;
	for (i = 0; i < l1c; i++)
		q->meta[n++] = (q->l1_offset >> q->cluster_bits) + i;
	for (i = 0; i < rtc; i++)
		q->meta[n++] = (q->rt_offset >> q->cluster_bits) + i;
	for (i = 0; i < q->l1_size; i++)
		if (q->l1[i] & OFFSET_MASK)
			q->meta[n++] = (q->l1[i] & OFFSET_MASK) >> q->cluster_bits;
	for (i = 0; i < q->rt_entries; i++)
		if (q->rt[i] & OFFSET_MASK)
			q->meta[n++] = (q->rt[i] & OFFSET_MASK) >> q->cluster_bits;
	qsort(q->meta, n, sizeof(*q->meta), cmp_u64);
	q->n_meta = n;
	return 0;
}

static int alloc_buffers(struct qcow2 *q)
{
	unsigned int i;

	q->n_l2 = (unsigned int)(L2_CACHE_BYTES / q->cluster_size);
	if (q->n_l2 < L2_CACHE_MIN)
		q->n_l2 = L2_CACHE_MIN;
	if (q->n_l2 > L2_CACHE_MAX)
		q->n_l2 = L2_CACHE_MAX;
	q->l2 = calloc(q->n_l2, sizeof(*q->l2));
	q->cbuf = malloc(q->cluster_size);
	q->dbuf = malloc(q->cluster_size);
	q->zbuf = malloc(2 * q->cluster_size);
	q->mbuf = malloc(q->cluster_size);
	if (!q->l2 || !q->cbuf || !q->dbuf || !q->zbuf || !q->mbuf)
		return -ENOMEM;
	for (i = 0; i < q->n_l2; i++) {
		q->l2[i].buf = malloc(q->cluster_size);
		if (!q->l2[i].buf)
			return -ENOMEM;
	}
	/* the stream's memory now, not on the I/O thread */
	if (inflateInit2(&q->zs, -15) != Z_OK)
		return -ENOMEM;
	q->zs_ready = true;
	return 0;
}

int qcow2_open(struct qcow2 **out, int fd, const struct qcow2_open_args *a,
	       struct errmsg *e)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	struct hdr_info h = { 0 };
	uint8_t *c0 = NULL, head[V3_HEADER_LEN];
	struct stat st;
	ssize_t got;
	int ret;

	if (!q) {
		qcow2_layer_close(a->backing);
		return errmsg_set(e, -ENOMEM, "path=%s: out of memory", a->path);
	}
	q->fd = fd;
	q->path = a->path;
	q->readonly = a->readonly;
	q->backing = a->backing;
	if (fstat(fd, &st) < 0) {
		ret = errmsg_set(e, -errno, "path=%s: %s", a->path, strerror(errno));
		goto err;
	}
	memset(head, 0, sizeof(head));
	got = pread(fd, head, sizeof(head), 0);
	if (got < V2_HEADER_LEN || (be32(head + 4) == 3 && got < V3_HEADER_LEN)) {
		ret = corrupt(e, a->path, "the header is truncated");
		goto err;
	}
	if (be32(head) != QCOW2_MAGIC) {
		ret = corrupt(e, a->path, "no qcow2 magic");
		goto err;
	}
	q->cluster_bits = be32(head + 20);
	if (q->cluster_bits < MIN_CLUSTER_BITS || q->cluster_bits > MAX_CLUSTER_BITS) {
		ret = refuse(e, a->path, "with clusters outside 512 B to 2 MiB");
		goto err;
	}
	q->cluster_size = 1ULL << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->rc_per_block = q->cluster_size / 2;
	c0 = calloc(1, q->cluster_size);
	if (!c0) {
		ret = errmsg_set(e, -ENOMEM, "path=%s: out of memory", a->path);
		goto err;
	}
	/* cluster 0 may be cut short by the end of the file: the rest reads as zeroes */
	(void)pread(fd, c0, q->cluster_size, 0);
	ret = parse_header(q, c0, (uint64_t)st.st_size, &h, e);
	if (!ret)
		ret = check_features(q, &h, e);
	if (!ret && q->version == 3)
		ret = read_extensions(q, c0, &h, e);
	if (!ret && h.backing_off && h.backing_len && !q->backing)
		ret = open_backing(q, c0, &h, a, e);
	if (ret)
		goto err;
	q->l2_ok = calloc(q->l1_size ? q->l1_size : 1, sizeof(*q->l2_ok));
	if (!q->l2_ok) {
		ret = errmsg_set(e, -ENOMEM, "path=%s: out of memory", a->path);
		goto err;
	}
	if (read_table(fd, q->l1_offset, q->l1_size, (uint64_t)st.st_size, &q->l1) ||
	    read_table(fd, q->rt_offset, q->rt_entries, (uint64_t)st.st_size, &q->rt)) {
		ret = corrupt(e, a->path, "cannot read the L1 or refcount table");
		goto err;
	}
	if (alloc_buffers(q)) {
		ret = errmsg_set(e, -ENOMEM, "path=%s: out of memory", a->path);
		goto err;
	}
	q->next_free = ALIGN_UP((uint64_t)st.st_size, q->cluster_size) >> q->cluster_bits;
	q->open_end = q->next_free << q->cluster_bits;
	if (!tables_inside(q)) {
		ret = corrupt(e, a->path, "an L1 or refcount table entry points past the end of "
			      "the file");
		goto err;
	}
	if (collect_meta(q)) {
		ret = errmsg_set(e, -ENOMEM, "path=%s: out of memory", a->path);
		goto err;
	}
	if (!q->readonly && h.autoclear) {
		/* bits we do not keep up to date are cleared before the first write */
		uint8_t zero[8] = { 0 };

		if (pwrite_all(fd, zero, 8, 88)) {
			ret = errmsg_set(e, -EIO, "path=%s: cannot update the header", a->path);
			goto err;
		}
	}
	free(c0);
	*out = q;
	return 0;
err:
	free(c0);
	qcow2_close(q);
	return ret;
}

void qcow2_close(struct qcow2 *q)
{
	unsigned int i;

	if (!q)
		return;
	if (q->rt && q->mbuf)
		(void)qcow2_settle(q);
	qcow2_layer_close(q->backing);
	for (i = 0; q->l2 && i < q->n_l2; i++)
		free(q->l2[i].buf);
	if (q->zs_ready)
		inflateEnd(&q->zs);
	free(q->l2);
	free(q->cbuf);
	free(q->dbuf);
	free(q->zbuf);
	free(q->mbuf);
	free(q->l1);
	free(q->l2_ok);
	free(q->meta);
	free(q->rt);
	free(q);
}

int qcow2_layer_open(struct qcow2_layer **out, const char *path, const char *fmt,
		     unsigned int depth, struct errmsg *e)
{
	size_t plen = strlen(path) + 1;
	struct qcow2_layer *l = calloc(1, sizeof(*l) + plen);
	struct stat st;
	int ret;

	if (!l)
		return errmsg_set(e, -ENOMEM, "path=%s: out of memory", path);
	memcpy(l->path, path, plen);
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		ret = errmsg_set(e, -errno, "backing file %s: cannot open it: %s", path,
				 strerror(errno));
		free(l);
		return ret;
	}
	if (fstat(l->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = errmsg_set(e, -EINVAL, "backing file %s: not a regular file", path);
		goto err;
	}
	ret = image_lock(l->fd, true);
	if (ret == -EAGAIN || ret == -EACCES) {
		ret = errmsg_set(e, -EBUSY, "backing file %s: in use by a writer (locked); stop "
				 "it first", path);
		goto err;
	}
	l->size = (uint64_t)st.st_size;
	if (fmt ? !strcmp(fmt, "qcow2") : qcow2_probe(l->fd)) {
		struct qcow2_open_args a = {
			.path = l->path, .readonly = true, .probed = !fmt, .depth = depth,
		};

		ret = qcow2_open(&l->q, l->fd, &a, e);
		if (ret)
			goto err;
		l->size = qcow2_size(l->q);
	}
	*out = l;
	return 0;
err:
	close(l->fd);
	free(l);
	return ret;
}

void qcow2_layer_close(struct qcow2_layer *l)
{
	if (!l)
		return;
	if (!l->borrowed) {
		qcow2_close(l->q);
		close(l->fd);	/* drops its locks */
	}
	free(l);
}

int qcow2_layer_wrap(struct qcow2_layer **out, int fd, struct qcow2 *q, uint64_t size,
		     const char *path, struct errmsg *e)
{
	size_t plen = strlen(path) + 1;
	struct qcow2_layer *l = calloc(1, sizeof(*l) + plen);
	int ret;

	if (!l)
		return errmsg_set(e, -ENOMEM, "path=%s: out of memory", path);
	if (q) {
		ret = qcow2_flush(q);	/* frees applied, reserved clusters given back */
		if (ret) {
			free(l);
			return errmsg_set(e, ret, "path=%s: cannot flush the image: %s", path,
					  strerror(-ret));
		}
		q->readonly = true;
	}
	memcpy(l->path, path, plen);
	l->fd = fd;
	l->q = q;
	l->size = size;
	l->borrowed = true;
	*out = l;
	return 0;
}

void qcow2_unwrap(struct qcow2 *q)
{
	if (q)
		q->readonly = false;
}

unsigned int qcow2_chain_depth(const struct qcow2 *q)
{
	unsigned int n = 0;

	for (; q && q->backing; q = q->backing->q)
		n++;
	return n;
}

/* ---- creating an overlay ---- */

int qcow2_create(int fd, uint64_t size, const char *backing, const char *backing_fmt,
		 struct errmsg *e)
{
	const unsigned int bits = 16;
	const uint64_t cs = 1ULL << bits, l2_span = 1ULL << (bits + bits - 3);
	uint64_t l1_size = size / l2_span + (size % l2_span != 0);
	uint64_t l1_clusters = ALIGN_UP(l1_size * 8, cs) / cs, i;
	size_t blen = backing ? strlen(backing) : 0, flen = backing ? strlen(backing_fmt) : 0;
	uint8_t *c = calloc(1, cs);
	uint64_t pos = V3_HEADER_LEN;
	int ret;

	if (!c)
		return errmsg_set(e, -ENOMEM, "out of memory");
	if (size % 512 || l1_size * 8 > QCOW2_MAX_L1_BYTES || blen > QCOW2_MAX_NAME ||
	    flen > 15 || l1_clusters + 3 > cs / 2) {
		free(c);
		return errmsg_set(e, -EINVAL, "cannot make a qcow2 image of %llu bytes over %s",
				  (unsigned long long)size, backing ? backing : "nothing");
	}
	put_be32(c, QCOW2_MAGIC);
	put_be32(c + 4, 3);
	put_be32(c + 20, bits);
	put_be64(c + 24, size);
	put_be32(c + 36, (uint32_t)l1_size);
	put_be64(c + 40, 3 * cs);		/* L1 from cluster 3 */
	put_be64(c + 48, cs);			/* refcount table: cluster 1 */
	put_be32(c + 56, 1);
	put_be32(c + 96, 4);			/* 16-bit refcounts */
	put_be32(c + 100, V3_HEADER_LEN);
	if (backing) {
		put_be32(c + pos, EXT_BACKING_FMT);
		put_be32(c + pos + 4, (uint32_t)flen);
		memcpy(c + pos + 8, backing_fmt, flen);
		pos += 8 + ALIGN_UP((uint64_t)flen, 8);
	}
	pos += 8;				/* the end extension: zeroes */
	if (backing) {
		put_be64(c + 8, pos);
		put_be32(c + 16, (uint32_t)blen);
		memcpy(c + pos, backing, blen);
	}
	ret = pwrite_all(fd, c, cs, 0);
	memset(c, 0, cs);
	put_be64(c, 2 * cs);			/* the one refcount block: cluster 2 */
	if (!ret)
		ret = pwrite_all(fd, c, cs, cs);
	memset(c, 0, cs);
	for (i = 0; i < 3 + l1_clusters; i++)
		put_be16(c + i * 2, 1);
	if (!ret)
		ret = pwrite_all(fd, c, cs, 2 * cs);
	if (!ret && ftruncate(fd, (off_t)((3 + l1_clusters) * cs)) < 0)
		ret = -errno;
	if (!ret && fdatasync(fd) < 0)
		ret = -errno;
	free(c);
	if (ret)
		return errmsg_set(e, ret, "cannot write the qcow2 image: %s", strerror(-ret));
	return 0;
}
