/*
 * virtio-blk (virtio 1.x, 5.2) over raw image files: the parts that run
 * without KVM, so tests can drive them with a guest_mem and a temp file.
 */
#ifndef KVMINI_VIRTIO_BLK_H
#define KVMINI_VIRTIO_BLK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "errmsg.h"
#include "virtio.h"

#define BLK_SECTOR_SIZE	512
#define BLK_ID_BYTES	20	/* GET_ID answer */
#define BLK_CONFIG_SIZE	60	/* struct virtio_blk_config up to write_zeroes_may_unmap */

#define MAX_DISKS 8
#define DISK_ID_MAX 20		/* virtio-blk serial: 20 bytes */

enum disk_format { DISK_FORMAT_PROBE, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

/* The options of one disk: path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=NAME] */
struct disk_config {
	char path[PATH_MAX];
	char id[DISK_ID_MAX + 1];	/* "": a default from the disk's index */
	bool readonly;
	bool snapshot;			/* writes go to a temporary overlay */
	enum disk_format format;	/* PROBE: qcow2 by its magic, else raw */
};

/* The disk type's option parser and its check against an earlier disk (blk_conf.c). */
int disk_config_parse(void *conf, const char *opts, struct errmsg *err);
int disk_config_conflicts(const void *prev, const void *conf, const char *opts,
			  struct errmsg *err);

struct qcow2;

/* One open, locked image. */
struct blk_image {
	const char *path;	/* for messages */
	int fd;
	struct qcow2 *qcow2;	/* NULL: raw */
	uint64_t size;		/* bytes, a multiple of BLK_SECTOR_SIZE */
	bool readonly;
	bool temporary;		/* snapshot=on: the top is kvmini's unlinked overlay */
	char *path_buf;		/* owns path after a live snapshot */
	char *real;		/* the full path, for a live snapshot's overlay; NULL: unknown */
	char id[BLK_ID_BYTES];	/* zero padded, not NUL-terminated when full */
	bool no_punch_hole;	/* fallocate modes the file turned out not to support */
	bool no_zero_range;
};

/*
 * Open @path (read-write unless @readonly), check it is a usable raw image
 * and lock it against other kvmini and QEMU processes. 0, or -errno with
 * @e saying what failed ("path=FILE: ...") and the fix.
 */
int blk_image_open_err(struct blk_image *img, const char *path, bool readonly,
		       struct errmsg *e);
/* The same with a disk's format and snapshot=on. */
int blk_image_open_conf(struct blk_image *img, const struct disk_config *dc, struct errmsg *e);
/*
 * Live snapshot, on a disk whose queue is quiesced: flush, write a qcow2
 * header naming the current image (by its full path) as backing file into
 * @fd (a new, empty file the caller made, known to users as @overlay),
 * and serve the disk from it; the old image stays open as its read-only
 * base, locked shared. On error the disk stays on its current image.
 */
int blk_image_snapshot(struct blk_image *img, int fd, const char *overlay, struct errmsg *e);
/* blk_image_snapshot() on the disk device @dev (of type "disk"), under its lock. */
struct device;
int blk_disk_snapshot(struct device *dev, int fd, const char *overlay, struct errmsg *e);

/* The same, printing @e as the command line names it (--disk ...). */
int blk_image_open(struct blk_image *img, const char *path, bool readonly);
void blk_image_close(struct blk_image *img);

/* Features the device offers, and its config space (little-endian). */
uint64_t blk_host_features(const struct blk_image *img);
void blk_build_config(const struct blk_image *img, uint8_t config[BLK_CONFIG_SIZE]);

/*
 * Serve up to @budget available requests on queue @q of @d from @img,
 * then ask the transport to interrupt the driver if any completed.
 * Returns how many were served, or -EINVAL after the driver broke the
 * rules (the device is then marked NEEDS_RESET).
 */
int blk_serve_queue(struct virtio_dev *d, struct blk_image *img, unsigned int q,
		    unsigned int budget);

/*
 * Reads, writes and zeroing run BLK_CHUNK_BYTES at a time, so one request
 * (up to 4 GiB, or 64 GiB of zeroes) never runs unchecked.
 */
#define BLK_CHUNK_BYTES	(4u << 20)

struct blk_ctl {
	/*
	 * Called before each request and between chunks of one; false stops
	 * the round there. The request in progress is then not completed:
	 * it goes back to the available ring, as if never taken.
	 */
	bool (*go_on)(void *opaque);
	void *opaque;
	uint64_t bytes;		/* out, summed: image bytes read, written or zeroed */
	bool stopped;		/* out: go_on() ended the last call */
};

/* blk_serve_queue() that asks @ctl (may be NULL) whether to go on. */
int blk_serve_queue_ctl(struct virtio_dev *d, struct blk_image *img, unsigned int q,
			unsigned int budget, struct blk_ctl *ctl);

#endif
