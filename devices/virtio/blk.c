/*
 * virtio-blk (device id 2) on raw or qcow2 images (devices/block/qcow2.c):
 * --disk path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=NAME].
 * Each disk has its own I/O thread (worker.c); a request goes kick eventfd ->
 * blk_serve -> virtq_pop -> image_rw (preadv/pwritev or qcow2_read/write)
 * -> virtq_push -> interrupt.
 *
 * Why a thread doing synchronous preadv/pwritev rather than io_uring: it
 * keeps the vCPU threads free of I/O, needs no extra library, behaves the
 * same on every kernel and filesystem, and a page-cache-backed raw file
 * rarely blocks. One request in flight per disk is the cost; io_uring can
 * replace the inner calls if the nested bed's measurements ask for depth.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blk.h"
#include "block/lock.h"
#include "block/qcow2.h"
#include "counter.h"
#include "device.h"
#include "errmsg.h"
#include "inventory.h"
#include "iov.h"
#include "le.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"
#include "vm.h"
#include "worker.h"

#define VIRTIO_ID_BLOCK		2

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* Request types and statuses (5.2.6) */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2

#define VIRTIO_BLK_WZ_F_UNMAP		1

#define REQ_HDR_SIZE	16	/* le32 type, le32 reserved, le64 sector */
#define DWZ_SEG_SIZE	16	/* le64 sector, le32 num_sectors, le32 flags */

#define BLK_NUM_QUEUES		1
#define BLK_QUEUE_SIZE		256
#define BLK_SEG_MAX		(VIRTQ_MAX_SEGS - 2)	/* header and status take two */
#define BLK_MAX_DWZ_SECTORS	(1u << 22)		/* 2 GiB per discard/zeroes segment */
#define BLK_MAX_DWZ_SEGS	32
#define BLK_DISCARD_ALIGN	8			/* sectors: 4 KiB, the usual fs block */
#define BLK_BUDGET		256	/* requests per round before others get the lock */
/* data per read/write: the le32 used length must hold it plus the status byte */
#define BLK_MAX_RW_BYTES	0xfffffe00ULL

/* ---- the image ---- */

static int open_error(const char *path, bool readonly, int err, struct errmsg *e)
{
	switch (err) {
	case ENOENT:
		return errmsg_set(e, -err, "path=%s: no such file; create the image first, e.g. "
				  "truncate -s 1G %s", path, path);
	case EISDIR:
		return errmsg_set(e, -err, "path=%s: is a directory; give a raw disk image file",
				  path);
	case EACCES:
	case EPERM:
		if (readonly)
			return errmsg_set(e, -err, "path=%s: permission denied; make the image "
					  "readable", path);
		return errmsg_set(e, -err, "path=%s: permission denied; make the image writable "
				  "or add readonly=on", path);
	case EROFS:
		return errmsg_set(e, -err, "path=%s: on a read-only file system; add readonly=on",
				  path);
	default:
		return errmsg_set(e, -err, "path=%s: cannot open the image: %s", path,
				  strerror(err));
	}
}

static int image_size(struct blk_image *img, enum disk_format fmt, struct errmsg *e)
{
	const char *path = img->path;
	struct stat st;
	int ret;

	if (fstat(img->fd, &st) < 0)
		return open_error(path, img->readonly, errno, e);
	if (S_ISDIR(st.st_mode))
		return open_error(path, img->readonly, EISDIR, e);
	if (S_ISREG(st.st_mode)) {
		img->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(img->fd, BLKGETSIZE64, &img->size) < 0)
			return open_error(path, img->readonly, errno, e);
	} else {
		return errmsg_set(e, -EINVAL, "path=%s: not a regular file or block device; "
				  "give a raw disk image file", path);
	}
	if (fmt == DISK_FORMAT_QCOW2 || (fmt == DISK_FORMAT_PROBE && qcow2_probe(img->fd))) {
		struct qcow2_open_args a = {
			.path = path, .readonly = img->readonly,
			.probed = fmt == DISK_FORMAT_PROBE, .depth = QCOW2_MAX_DEPTH,
		};

		ret = qcow2_open(&img->qcow2, img->fd, &a, e);
		if (ret)
			return ret;
		img->size = qcow2_size(img->qcow2);
		return 0;
	}
	if (img->size == 0)
		return errmsg_set(e, -EINVAL, "path=%s: the image is empty; give it a size, e.g. "
				  "truncate -s 1G %s", path, path);
	if (img->size % BLK_SECTOR_SIZE)
		return errmsg_set(e, -EINVAL, "path=%s: size %llu is not a multiple of 512 bytes; "
				  "round it up with truncate -s %%512 %s", path,
				  (unsigned long long)img->size, path);
	return 0;
}

static int lock_error(struct blk_image *img, int ret, struct errmsg *e)
{
	if (ret == -EAGAIN || ret == -EACCES)
		return errmsg_set(e, -EBUSY, "path=%s: the image is in use by another process "
				  "(locked); stop it or use readonly=on on both", img->path);
	if (ret) {
		/* as QEMU: a filesystem without OFD locks is usable, unprotected */
		kv_warn("--disk path=%s: cannot lock the image (%s); nothing stops another "
			"process from using it at the same time", img->path, strerror(-ret));
	}
	return 0;
}

/*
 * snapshot=on: the image read-only under a qcow2 overlay in $TMPDIR,
 * unlinked as soon as it exists so that every exit deletes it.
 */
static int open_snapshot(struct blk_image *img, const struct disk_config *dc,
			 struct errmsg *e)
{
	static const char *const fmts[] = { NULL, "raw", "qcow2" };
	const char *dir = getenv("TMPDIR");
	struct qcow2_layer *base;
	struct qcow2_open_args a = { .path = dc->path, .readonly = dc->readonly };
	char tmp[PATH_MAX];
	int ret;

	ret = qcow2_layer_open(&base, dc->path, fmts[dc->format], QCOW2_MAX_DEPTH, e);
	if (ret)
		return ret;
	if (base->size % BLK_SECTOR_SIZE || !base->size) {
		qcow2_layer_close(base);
		return errmsg_set(e, -EINVAL, "path=%s: size %llu is 0 or not a multiple of 512 "
				  "bytes", dc->path, (unsigned long long)base->size);
	}
	if (snprintf(tmp, sizeof(tmp), "%s/kvmini-snapshot-XXXXXX", dir && *dir ? dir : "/tmp")
	    >= (int)sizeof(tmp) || (img->fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		ret = errmsg_set(e, -errno, "path=%s: snapshot=on: cannot create the overlay in "
				 "%s: %s; set TMPDIR to a writable directory", dc->path,
				 dir && *dir ? dir : "/tmp", strerror(errno));
		qcow2_layer_close(base);
		return ret;
	}
	unlink(tmp);
	a.backing = base;	/* the overlay owns it from here on */
	ret = qcow2_create(img->fd, base->size, NULL, NULL, e);
	if (ret) {
		qcow2_layer_close(base);
		return ret;
	}
	ret = qcow2_open(&img->qcow2, img->fd, &a, e);
	if (!ret)
		img->size = qcow2_size(img->qcow2);
	img->temporary = true;
	return ret;
}

int blk_image_open_conf(struct blk_image *img, const struct disk_config *dc, struct errmsg *e)
{
	int ret;

	memset(img, 0, sizeof(*img));
	img->path = dc->path;
	img->readonly = dc->readonly;
	img->fd = -1;
	if (dc->snapshot) {
		ret = open_snapshot(img, dc, e);
		if (ret)
			goto err;
		return 0;
	}
	img->fd = open(dc->path, (dc->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0)
		return open_error(dc->path, dc->readonly, errno, e);
	/* the name a live snapshot's overlay gives its backing file: resolved while we can */
	img->real = realpath(dc->path, NULL);
	/* locked before the header is read: nobody changes it under us */
	ret = lock_error(img, image_lock(img->fd, dc->readonly), e);
	if (!ret)
		ret = image_size(img, dc->format, e);
	if (ret)
		goto err;
	return 0;
err:
	blk_image_close(img);
	return ret;
}

int blk_image_open_err(struct blk_image *img, const char *path, bool readonly,
		       struct errmsg *e)
{
	struct disk_config *dc = calloc(1, sizeof(*dc));
	int ret;

	if (!dc)
		return errmsg_set(e, -ENOMEM, "path=%s: out of memory", path);
	snprintf(dc->path, sizeof(dc->path), "%s", path);
	dc->readonly = readonly;
	ret = blk_image_open_conf(img, dc, e);
	img->path = path;	/* the caller's string outlives dc */
	free(dc);
	return ret;
}

int blk_image_open(struct blk_image *img, const char *path, bool readonly)
{
	struct errmsg e;
	int ret = blk_image_open_err(img, path, readonly, &e);

	if (ret)
		kv_err("--disk %s", e.msg);
	return ret;
}

static int image_flush(struct blk_image *img);

int blk_image_snapshot(struct blk_image *img, int fd, const char *overlay, struct errmsg *e)
{
	const char *fmt = img->qcow2 ? "qcow2" : "raw";
	struct qcow2_open_args a = { .path = overlay };
	struct qcow2_layer *old = NULL;
	struct qcow2 *q = NULL;
	struct stat st;
	char *path, *real;
	int ret, fl;

	if (img->readonly)
		return errmsg_set(e, -EROFS, "path=%s: a read-only disk has nothing to snapshot",
				  img->path);
	if (img->temporary)
		return errmsg_set(e, -EINVAL, "path=%s: the disk has snapshot=on: its writes are "
				  "in a temporary overlay, not in the image", img->path);
	if (!img->real)
		return errmsg_set(e, -EINVAL, "path=%s: its full path is unknown", img->path);
	if (qcow2_chain_depth(img->qcow2) + 1 >= QCOW2_MAX_DEPTH)
		return errmsg_set(e, -EMLINK, "path=%s: its backing chain is already %u deep; "
				  "merge it first (qemu-img commit)", img->path,
				  qcow2_chain_depth(img->qcow2) + 1);
	fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size || fl < 0 ||
	    (fl & O_ACCMODE) != O_RDWR || (fl & O_APPEND))
		return errmsg_set(e, -EINVAL, "%s: the overlay must be a new, empty file, open "
				  "for reading and writing (not appending)", overlay);
	ret = image_lock(fd, false);
	if (ret == -EAGAIN || ret == -EACCES)
		return errmsg_set(e, -EBUSY, "%s: locked by another process", overlay);
	if (ret)	/* as at open: a file system without OFD locks */
		kv_warn("%s: cannot lock it (%s); other programs may open it", overlay,
			strerror(-ret));
	path = strdup(overlay);
	real = strdup(overlay);
	if (!path || !real) {
		ret = errmsg_set(e, -ENOMEM, "out of memory");
		goto err;
	}
	a.path = path;
	/* the overlay names the old top by its full path, as the host sees it */
	ret = qcow2_create(fd, img->size, img->real, fmt, e);
	if (!ret && fdatasync(fd) < 0)
		ret = errmsg_set(e, -errno, "%s: %s", overlay, strerror(errno));
	if (ret)
		goto err;
	if (!img->qcow2 && fdatasync(img->fd) < 0) {
		ret = errmsg_set(e, -errno, "path=%s: cannot flush the image: %s", img->path,
				 strerror(errno));
		goto err;
	}
	ret = qcow2_layer_wrap(&old, img->fd, img->qcow2, img->size, img->path, e);
	if (ret)
		goto err;
	a.backing = old;
	ret = qcow2_open(&q, fd, &a, e);	/* owns @old, even on error: it is borrowed */
	if (ret) {
		qcow2_unwrap(img->qcow2);
		goto err;
	}
	/* from here on the old top is a read-only base: others may read it too */
	(void)image_lock_share(img->fd);
	old->borrowed = false;
	free(img->path_buf);
	free(img->real);
	img->fd = fd;
	img->qcow2 = q;
	img->path = img->path_buf = path;
	img->real = real;
	return 0;
err:
	(void)image_unlock(fd);
	free(path);
	free(real);
	return ret;
}

void blk_image_close(struct blk_image *img)
{
	qcow2_close(img->qcow2);	/* and its backing files */
	img->qcow2 = NULL;
	free(img->path_buf);
	img->path_buf = NULL;
	free(img->real);
	img->real = NULL;
	if (img->fd >= 0)
		close(img->fd);	/* drops the OFD locks */
	img->fd = -1;
}

uint64_t blk_host_features(const struct blk_image *img)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
		     1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;

	if (img->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

/* struct virtio_blk_config offsets (5.2.4) */
void blk_build_config(const struct blk_image *img, uint8_t config[BLK_CONFIG_SIZE])
{
	memset(config, 0, BLK_CONFIG_SIZE);
	put_le64(config + 0, img->size / BLK_SECTOR_SIZE);	/* capacity */
	put_le32(config + 12, BLK_SEG_MAX);
	put_le32(config + 20, BLK_SECTOR_SIZE);		/* blk_size */
	config[34] = BLK_NUM_QUEUES;			/* num_queues, le16 */
	put_le32(config + 36, BLK_MAX_DWZ_SECTORS);	/* max_discard_sectors */
	put_le32(config + 40, BLK_MAX_DWZ_SEGS);	/* max_discard_seg */
	put_le32(config + 44, BLK_DISCARD_ALIGN);	/* discard_sector_alignment */
	put_le32(config + 48, BLK_MAX_DWZ_SECTORS);	/* max_write_zeroes_sectors */
	put_le32(config + 52, BLK_MAX_DWZ_SEGS);	/* max_write_zeroes_seg */
	config[56] = 1;					/* write_zeroes_may_unmap */
}

/* ---- requests ---- */

/* [sector * 512, + len) inside the image, without overflow. */
static bool range_ok(const struct blk_image *img, uint64_t sector, uint64_t len)
{
	uint64_t sectors = img->size / BLK_SECTOR_SIZE;

	return sector <= sectors && len <= img->size - sector * BLK_SECTOR_SIZE;
}

/* preadv/pwritev the whole vector, resuming after short transfers. */
static int rw_all(struct blk_image *img, bool write, struct iovec *iov, unsigned int n,
		  uint64_t off)
{
	while (n) {
		ssize_t r = write ? pwritev(img->fd, iov, (int)n, (off_t)off) :
				    preadv(img->fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;	/* 0: the image shrank under us */
		off += (uint64_t)r;
		iov_advance(&iov, &n, (size_t)r);
	}
	return 0;
}

/* One chunk of a read or write, through the image's format. */
static int image_rw(struct blk_image *img, bool write, struct iovec *iov, unsigned int n,
		    uint64_t off, size_t len)
{
	if (!img->qcow2)
		return rw_all(img, write, iov, n, off);
	return write ? qcow2_write(img->qcow2, iov, n, off, len) :
		       qcow2_read(img->qcow2, iov, n, off, len);
}

static int image_flush(struct blk_image *img)
{
	if (img->readonly)
		return 0;
	if (img->qcow2)
		return qcow2_flush(img->qcow2);
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

/* Between two chunks of work: may it go on? */
static bool may_go_on(struct blk_ctl *ctl)
{
	return !ctl || !ctl->go_on || ctl->go_on(ctl->opaque);
}

static size_t chunk_of(uint64_t left)
{
	return left < BLK_CHUNK_BYTES ? (size_t)left : BLK_CHUNK_BYTES;
}

/* A read or write, BLK_CHUNK_BYTES at a time. A status, or -ECANCELED if @ctl stopped it. */
static int blk_rw(struct blk_image *img, bool write, uint64_t sector, const struct iovec *iov,
		  unsigned int n, size_t skip, size_t len, struct blk_ctl *ctl)
{
	struct iovec data[VIRTQ_MAX_SEGS];
	size_t done, chunk;
	unsigned int m;

	if (write && img->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % BLK_SECTOR_SIZE || len > BLK_MAX_RW_BYTES || !range_ok(img, sector, len))
		return VIRTIO_BLK_S_IOERR;
	for (done = 0; done < len; done += chunk) {
		chunk = chunk_of(len - done);
		if (done && !may_go_on(ctl))
			return -ECANCELED;
		m = iov_slice(iov, n, skip + done, chunk, data);
		if (image_rw(img, write, data, m, sector * BLK_SECTOR_SIZE + done, chunk))
			return VIRTIO_BLK_S_IOERR;
		if (ctl)
			ctl->bytes += chunk;
	}
	return VIRTIO_BLK_S_OK;
}

static int write_zero_bytes(struct blk_image *img, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	while (len) {
		size_t chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t r = pwrite(img->fd, zeroes, chunk, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static bool falloc_unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

/*
 * Make [off, off+len) read as zeroes: punch a hole if unmapping is
 * allowed, else zero the range in place; write zeroes where the file
 * supports neither. Discarded ranges read as zeroes too.
 */
static int zero_range(struct blk_image *img, uint64_t off, uint64_t len, bool unmap)
{
	if (img->qcow2)
		return qcow2_zero(img->qcow2, off, len, unmap);
	if (unmap && !img->no_punch_hole) {
		if (!fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
		if (!falloc_unsupported(errno))
			return -errno;
		img->no_punch_hole = true;
	}
	if (!img->no_zero_range) {
		if (!fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
		if (!falloc_unsupported(errno))
			return -errno;
		img->no_zero_range = true;
	}
	return write_zero_bytes(img, off, len);
}

struct dwz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* zero_range() in chunks: 0, -EIO, or -ECANCELED if @ctl stopped it. */
static int zero_chunks(struct blk_image *img, uint64_t off, uint64_t len, bool unmap,
		       struct blk_ctl *ctl)
{
	uint64_t done;
	size_t chunk;

	for (done = 0; done < len; done += chunk) {
		chunk = chunk_of(len - done);
		if (done && !may_go_on(ctl))
			return -ECANCELED;
		if (zero_range(img, off + done, chunk, unmap))
			return -EIO;
		if (ctl)
			ctl->bytes += chunk;
	}
	return 0;
}

/*
 * DISCARD and WRITE_ZEROES: all segments are copied and checked before
 * any is applied. A status, or -ECANCELED if @ctl stopped it.
 */
static int blk_discard_zeroes(struct blk_image *img, bool discard, const struct iovec *iov,
			      unsigned int n, size_t len, struct blk_ctl *ctl)
{
	struct dwz_seg segs[BLK_MAX_DWZ_SEGS];
	unsigned int i, nr = (unsigned int)(len / DWZ_SEG_SIZE);

	if (img->readonly || len == 0 || len % DWZ_SEG_SIZE ||
	    len / DWZ_SEG_SIZE > BLK_MAX_DWZ_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < nr; i++) {
		uint8_t raw[DWZ_SEG_SIZE];
		struct dwz_seg *s = &segs[i];

		iov_to_buf(iov, n, REQ_HDR_SIZE + (size_t)i * DWZ_SEG_SIZE, raw, sizeof(raw));
		s->sector = get_le64(raw);
		s->num_sectors = get_le32(raw + 8);
		s->flags = get_le32(raw + 12);
		/* 5.2.6.2: unknown flags, and unmap on a discard, are unsupported */
		if (s->flags & ~(uint32_t)VIRTIO_BLK_WZ_F_UNMAP ||
		    (discard && (s->flags & VIRTIO_BLK_WZ_F_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors > BLK_MAX_DWZ_SECTORS ||
		    !range_ok(img, s->sector, (uint64_t)s->num_sectors * BLK_SECTOR_SIZE))
			return VIRTIO_BLK_S_IOERR;
	}
	for (i = 0; i < nr; i++) {
		bool unmap = discard || (segs[i].flags & VIRTIO_BLK_WZ_F_UNMAP);
		int ret;

		if (!segs[i].num_sectors)
			continue;
		if (i && !may_go_on(ctl))
			return -ECANCELED;
		ret = zero_chunks(img, segs[i].sector * BLK_SECTOR_SIZE,
				  (uint64_t)segs[i].num_sectors * BLK_SECTOR_SIZE, unmap, ctl);
		if (ret)
			return ret == -ECANCELED ? ret : VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * One request: header in the first out bytes, data, status in the last
 * in byte. Returns 0 with *written set, -EINVAL (and *why) if the chain
 * cannot carry a request at all, or -ECANCELED if @ctl stopped it before
 * the end (nothing reported to the driver).
 */
static int blk_handle(struct virtio_dev *d, struct blk_image *img, struct virtq_elem *e,
		      uint32_t *written, const char **why, struct blk_ctl *ctl)
{
	const struct iovec *out = e->iov, *in = e->iov + e->n_out;
	const struct iovec *last;
	uint8_t hdr[REQ_HDR_SIZE];
	size_t in_len, out_len, n;
	int status;
	uint32_t type;
	uint64_t sector;

	if (e->out_bytes < REQ_HDR_SIZE) {
		*why = "request header shorter than 16 bytes";
		return -EINVAL;
	}
	if (e->n_in == 0) {
		*why = "request without room for the status byte";
		return -EINVAL;
	}
	iov_to_buf(out, e->n_out, 0, hdr, sizeof(hdr));
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	in_len = (size_t)e->in_bytes - 1;	/* the last in byte is the status */
	out_len = (size_t)e->out_bytes - REQ_HDR_SIZE;
	*written = 1;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		status = blk_rw(img, false, sector, in, e->n_in, 0, in_len, ctl);
		if (status == VIRTIO_BLK_S_OK)
			*written += (uint32_t)in_len;
		counter_add(&d->st_ops[1], 1);
		counter_add(&d->st_bytes[1], status == VIRTIO_BLK_S_OK ? in_len : 0);
		break;
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(img, true, sector, out, e->n_out, REQ_HDR_SIZE, out_len, ctl);
		counter_add(&d->st_ops[0], 1);
		counter_add(&d->st_bytes[0], status == VIRTIO_BLK_S_OK ? out_len : 0);
		break;
	case VIRTIO_BLK_T_FLUSH:
		counter_add(&d->st_flushes, 1);
		status = image_flush(img) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		n = iov_from_buf(in, e->n_in, 0, img->id,
				 in_len < BLK_ID_BYTES ? in_len : BLK_ID_BYTES);
		*written += (uint32_t)n;
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!virtio_has_feature(d, type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD :
							      VIRTIO_BLK_F_WRITE_ZEROES)) {
			status = VIRTIO_BLK_S_UNSUPP;
			break;
		}
		status = blk_discard_zeroes(img, type == VIRTIO_BLK_T_DISCARD, out, e->n_out,
					    out_len, ctl);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status < 0)
		return status;		/* -ECANCELED */
	last = &in[e->n_in - 1];
	((uint8_t *)last->iov_base)[last->iov_len - 1] = (uint8_t)status;
	return 0;
}

int blk_serve_queue(struct virtio_dev *d, struct blk_image *img, unsigned int q,
		    unsigned int budget)
{
	return blk_serve_queue_ctl(d, img, q, budget, NULL);
}

int blk_serve_queue_ctl(struct virtio_dev *d, struct blk_image *img, unsigned int q,
			unsigned int budget, struct blk_ctl *ctl)
{
	struct virtq *vq = &d->vqs[q];
	const char *why = "invalid descriptor chain or ring";
	struct virtq_elem e;
	unsigned int done = 0;
	uint32_t written;
	int ret = 0;

	if (ctl)
		ctl->stopped = false;
	while (done < budget) {
		if (!may_go_on(ctl)) {
			ctl->stopped = true;
			break;
		}
		ret = virtq_pop(vq, &e);
		if (ret <= 0)
			break;
		ret = blk_handle(d, img, &e, &written, &why, ctl);
		if (ret == -ECANCELED) {
			/* not completed; served again from the start if nobody resets */
			virtq_unpop(vq, 1);
			ctl->stopped = true;
			ret = 0;
			break;
		}
		if (ret) {
			vq->broken = true;
			break;
		}
		virtq_push(vq, &e, written);
		done++;
	}
	virtio_queue_served(d, q, done, ret < 0 ? why : NULL);
	return ret < 0 ? -EINVAL : (int)done;
}

/* ---- the device: one per --disk, each with its I/O thread ---- */

struct blk_disk {
	struct device dev;
	struct virtio_dev vdev;
	struct blk_image img;
	struct blk_image *host;		/* the spec's image img copies, kept across VMs */
	char name[48];
	uint8_t config[BLK_CONFIG_SIZE];
	struct virtio_worker worker;
	/* serialises serving against reset/activate from vCPU threads */
	pthread_mutex_t *lock;
	pthread_mutex_t lock_mem;	/* what lock points to */
	bool active;
	/* a round in progress gives up the lock at the next chunk for these */
	unsigned int resets_waiting;	/* atomic: blk_reset() wants the lock */
};

/*
 * The disk's I/O thread: its worker's loop, and the image. No writev, no
 * tun or vhost ioctls: the net class has those.
 */
static const char *const blk_syscalls[] = {
	"preadv", "pwritev",	/* reads, writes */
	"pread64",		/* qcow2 metadata */
	"pwrite64",		/* write-zeroes without fallocate, qcow2 metadata */
	"fdatasync", "fsync",	/* flush */
	"fallocate",		/* discard, write-zeroes */
	NULL
};

static const struct sandbox_io_class blk_io_class = {
	.name = "blk",
	.syscalls = blk_syscalls,
	.base = &virtio_worker_class,
};
SANDBOX_IO_CLASS(blk_io_class);

/*
 * Asked between requests and between chunks of one: a reset waiting for
 * the lock, or kvmini stopping (--timeout, a signal, the guest's exit),
 * ends the round within one chunk, whatever the guest queued.
 */
static bool blk_go_on(void *opaque)
{
	struct blk_disk *b = opaque;

	return !__atomic_load_n(&b->resets_waiting, __ATOMIC_SEQ_CST) &&
	       !virtio_worker_stopping(&b->worker) &&
	       !atomic_load(&b->vdev.vm->stopping);
}

/* I/O thread: a kick or a wake arrived. True if requests are left. */
static bool blk_serve(void *opaque)
{
	struct blk_disk *b = opaque;
	struct blk_ctl ctl = { .go_on = blk_go_on, .opaque = b };
	bool more = false;
	unsigned int q;

	pthread_mutex_lock(b->lock);
	for (q = 0; b->active && q < BLK_NUM_QUEUES && !ctl.stopped; q++)
		if (blk_serve_queue_ctl(&b->vdev, &b->img, q, BLK_BUDGET, &ctl) == BLK_BUDGET)
			more = true;
	pthread_mutex_unlock(b->lock);
	/*
	 * Come back after a reset or a live snapshot had its chance: a request
	 * given back unserved (stopped) is still in the ring, and the guest
	 * that queued it will not kick again for it.
	 */
	return more || (ctl.stopped && !virtio_worker_stopping(&b->worker) &&
			!atomic_load(&b->vdev.vm->stopping));
}

/* I/O thread, its loop ended: what a qcow2 image keeps for later goes to disk now. */
static void blk_finish(void *opaque)
{
	struct blk_disk *b = opaque;

	pthread_mutex_lock(b->lock);
	if (b->img.qcow2 && qcow2_settle(b->img.qcow2))
		kv_warn("%s: cannot settle the qcow2 image; qemu-img check may report leaked "
			"clusters", b->name);
	pthread_mutex_unlock(b->lock);
}

static int blk_activate(struct virtio_dev *d)
{
	struct blk_disk *b = d->priv;

	if (!d->vqs)
		return -EINVAL;
	pthread_mutex_lock(b->lock);
	b->active = true;
	pthread_mutex_unlock(b->lock);
	virtio_worker_wake(&b->worker);	/* buffers may be waiting already */
	return 0;
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk_disk *b = d->priv;

	(void)q;
	virtio_worker_wake(&b->worker);
}

static void blk_reset(struct virtio_dev *d)
{
	struct blk_disk *b = d->priv;
	unsigned int q;

	/* a round in progress stops at its next chunk and lets us in */
	__atomic_add_fetch(&b->resets_waiting, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(b->lock);
	__atomic_sub_fetch(&b->resets_waiting, 1, __ATOMIC_SEQ_CST);
	b->active = false;
	for (q = 0; d->vqs && q < d->num_queues; q++)
		virtq_reset(&d->vqs[q]);
	pthread_mutex_unlock(b->lock);
}

static void blk_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct blk_disk *b = d->priv;

	virtio_config_copy(b->config, BLK_CONFIG_SIZE, off, data, len);
}

static const struct virtio_dev_ops blk_ops = {
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.config_read = blk_config_read,
	/* no config_write: writeback needs VIRTIO_BLK_F_CONFIG_WCE, not offered */
	.reset = blk_reset,
};

static void blk_remove(struct blk_disk *b)
{
	virtio_worker_stop(&b->worker);
	/* the I/O thread is gone: nothing uses the transport's kick fds now */
	virtio_remove(&b->vdev);
	pthread_mutex_lock(b->lock);
	b->active = false;
	virtio_worker_destroy(&b->worker);
	b->img.fd = -1;		/* the spec's image stays open for the next VM */
	pthread_mutex_unlock(b->lock);
}

static struct device_type blk_type;

static void blk_destroy(struct device *dev)
{
	struct blk_disk *b = container_of(dev, struct blk_disk, dev);

	blk_remove(b);
	pthread_mutex_destroy(b->lock);
	free(b);
}

static int blk_describe(struct device *dev, struct inventory *inv)
{
	struct blk_disk *b = container_of(dev, struct blk_disk, dev);

	return virtio_describe(&b->vdev, dev, inv);
}

static void blk_stats(struct device *dev,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	struct blk_disk *b = container_of(dev, struct blk_disk, dev);

	virtio_dev_stats(&b->vdev, "writes", "reads", counter_get(&b->worker.kicks), fn, ctx);
}

static void blk_disk_info(struct device *dev, struct device_disk_info *out)
{
	struct blk_disk *b = container_of(dev, struct blk_disk, dev);
	const struct blk_image *img = b->host;	/* this thread switches it */

	memcpy(out->id, b->img.id, BLK_ID_BYTES);
	out->path = img->real ? img->real : img->path;
	out->format = img->qcow2 ? "qcow2" : "raw";
	out->size = img->size;
	out->depth = qcow2_chain_depth(img->qcow2);
	out->readonly = img->readonly;
	out->temporary = img->temporary;
}

static int blk_snapshot_op(struct device *dev, int fd, const char *file, struct errmsg *err)
{
	return blk_disk_snapshot(dev, fd, file, err);
}

static const struct device_ops blk_device_ops = {
	.describe = blk_describe,
	.stats = blk_stats,
	.disk_info = blk_disk_info,
	.snapshot_disk = blk_snapshot_op,
	.destroy = blk_destroy,
};

/* One disk on the image its spec opened before the first VM. */
static int blk_create(struct vm *vm, const struct device_env *env, const void *conf,
		      void *host, unsigned int index, struct errmsg *err)
{
	const struct disk_config *dc = conf;
	const struct blk_image *image = host;
	struct blk_disk *b;
	char id[32], thread[32];
	int ret;

	if (!image || image->fd < 0)
		return errmsg_set(err, -EBADF, "path=%s: the image was not opened during setup",
				  dc->path);
	b = calloc(1, sizeof(*b));
	if (!b)
		return errmsg_set(err, -ENOMEM, "path=%s: out of memory", dc->path);
	pthread_mutex_init(&b->lock_mem, NULL);
	b->lock = &b->lock_mem;
	b->img = *image;	/* borrows the fd */
	b->host = host;
	snprintf(thread, sizeof(thread), "kvmini-blk%u", index);
	ret = virtio_worker_init(&b->worker, vm, thread, &blk_io_class, blk_serve, b);
	b->worker.finish = blk_finish;
	if (ret) {
		pthread_mutex_destroy(&b->lock_mem);
		free(b);
		goto err_thread;
	}
	device_add(vm, &b->dev, &blk_type, &blk_device_ops);	/* from here on, destroy undoes it */

	if (dc->id[0])
		snprintf(id, sizeof(id), "%s", dc->id);
	else
		snprintf(id, sizeof(id), "kvmini-disk%u", index);
	/* the id ends up zero padded, as GET_ID wants */
	memset(b->img.id, 0, sizeof(b->img.id));
	memcpy(b->img.id, id, strlen(id) < BLK_ID_BYTES ? strlen(id) : BLK_ID_BYTES);
	snprintf(b->name, sizeof(b->name), "virtio-blk %s", id);
	blk_build_config(&b->img, b->config);

	b->vdev = (struct virtio_dev){
		.ops = &blk_ops,
		.priv = b,
		.name = b->name,
		.device_id = VIRTIO_ID_BLOCK,
		.host_features = blk_host_features(&b->img),
		.num_queues = BLK_NUM_QUEUES,
		.queue_max_size = BLK_QUEUE_SIZE,
		.config_size = BLK_CONFIG_SIZE,
	};
	ret = virtio_add(vm, &b->vdev, env->transport);
	if (ret)
		return ret;	/* the transport said why */
	ret = virtio_worker_watch_kicks(&b->worker, &b->vdev);
	if (ret) {
		err->type = NULL;	/* not about the options */
		return errmsg_set(err, ret, "%s: cannot watch the queue doorbell: %s", b->name,
				  strerror(-ret));
	}
	ret = virtio_worker_start(&b->worker);
	if (ret)
		goto err_thread;
	return 0;
err_thread:
	return errmsg_set(err, ret, "path=%s: cannot start the disk's I/O thread: %s", dc->path,
			  strerror(-ret));
}

int blk_disk_snapshot(struct device *dev, int fd, const char *overlay, struct errmsg *e)
{
	struct blk_disk *b;
	char id[BLK_ID_BYTES];
	int ret;

	if (dev->type != &blk_type)
		return errmsg_set(e, -EINVAL, "%s: not a disk", dev->name);
	b = container_of(dev, struct blk_disk, dev);
	/* as a reset does: a round under way gives the lock up at its next chunk */
	__atomic_add_fetch(&b->resets_waiting, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(b->lock);	/* no request is being served */
	__atomic_sub_fetch(&b->resets_waiting, 1, __ATOMIC_SEQ_CST);
	ret = blk_image_snapshot(b->host, fd, overlay, e);
	if (!ret) {
		memcpy(id, b->img.id, sizeof(id));
		b->img = *b->host;
		memcpy(b->img.id, id, sizeof(id));
	}
	pthread_mutex_unlock(b->lock);
	return ret;
}

static void blk_close_host(void *host)
{
	struct blk_image *img = host;

	blk_image_close(img);	/* drops the OFD locks */
	free(img);
}

/* Open and lock the image before the first VM. */
static int blk_open_host(const void *conf, const struct device_env *env, void **host,
			 struct errmsg *err)
{
	const struct disk_config *dc = conf;
	struct blk_image *img = calloc(1, sizeof(*img));
	int ret;

	(void)env;
	if (!img)
		return errmsg_set(err, -ENOMEM, "path=%s: out of memory", dc->path);
	ret = blk_image_open_conf(img, dc, err);
	if (ret) {
		free(img);
		return ret;
	}
	*host = img;
	return 0;
}

static struct device_type blk_type = {
	.name = "disk",
	.phase = PHASE_DEVICE,
	.conf_size = sizeof(struct disk_config),
	.max = MAX_DISKS,
	.help = "  --disk path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=NAME]\n"
		"                       raw or qcow2 disk image as a virtio-blk device;\n"
		"                       snapshot=on: writes go to a temporary overlay; repeatable\n",
	.help_after = "timeout",
	.parse = disk_config_parse,
	.conflicts = disk_config_conflicts,
	.open_host = blk_open_host,
	.close_host = blk_close_host,
	.create = blk_create,
};
DEVICE_REGISTER(blk_type);
