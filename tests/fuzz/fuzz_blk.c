/*
 * libFuzzer harness for virtio-blk request handling (devices/virtio/blk.c):
 * blk_serve_queue() on a queue whose rings and buffers are the input, over
 * a memfd image, without KVM.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "fuzz.h"

#define MEM_SIZE	0x10000u	/* 64 KiB: a u16 reaches every byte */
#define IMG_MAX		(256u * BLK_SECTOR_SIZE)
#define IMG_FILL	0xa5

/* virtio 1.x 5.2.3, written out so the harness states what it negotiates */
#define F_DISCARD	13
#define F_WRITE_ZEROES	14

/*
 * Input (little-endian; mkcorpus.py writes the seeds):
 *   u8  log2 of the queue size (taken mod 11)
 *   u8  flags, below
 *   u16 last_avail, u16 used_idx, u16 desc_gpa, u16 avail_gpa, u16 used_gpa
 *   u8  image size in sectors, minus one
 *   u8  budget (requests to serve)
 *   the rest: guest RAM from gpa 0, zero beyond the input
 */
#define FL_EVENT_IDX		1
#define FL_INDIRECT		2
#define FL_READONLY		4
#define FL_DISCARD		8	/* driver accepted DISCARD */
#define FL_WRITE_ZEROES		16	/* driver accepted WRITE_ZEROES */
#define FL_NO_PUNCH_HOLE	32	/* behave as on a file system without it */
#define FL_NO_ZERO_RANGE	64

static struct guest_mem mem;
static int img_fd = -1;
static uint8_t img_buf[IMG_MAX], img_check[IMG_MAX];

static void fake_notify_queue(struct virtio_dev *d, unsigned int q)
{
	(void)virtq_should_notify(&d->vqs[q]);
}

static void fake_notify_config(struct virtio_dev *d)
{
	(void)d;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static void init_once(void)
{
	fuzz_mem_alloc(&mem, MEM_SIZE, MEM_SIZE);
	img_fd = memfd_create("kvmini-fuzz-blk", MFD_CLOEXEC);
	FUZZ_CHECK(img_fd >= 0);
	memset(img_buf, IMG_FILL, sizeof(img_buf));
}

/* Same image contents for every input, so that runs reproduce. */
static void reset_image(struct blk_image *img, uint64_t size)
{
	FUZZ_CHECK(ftruncate(img_fd, 0) == 0);
	FUZZ_CHECK(ftruncate(img_fd, (off_t)size) == 0);
	FUZZ_CHECK(pwrite(img_fd, img_buf, size, 0) == (ssize_t)size);
	img->path = "fuzz.img";
	img->fd = img_fd;
	img->size = size;
	memcpy(img->id, "kvmini-fuzz", 11);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct blk_image img = { 0 };
	struct virtio_dev dev = { 0 };
	struct virtq vq = { 0 };
	unsigned int budget;
	uint64_t img_size;
	uint8_t flags;
	int ret;

	if (img_fd < 0)
		init_once();
	vq.mem = &mem;
	vq.ready = true;
	vq.size = (uint16_t)(1u << (fuzz_u8(&in) % 11));
	flags = fuzz_u8(&in);
	vq.event_idx = flags & FL_EVENT_IDX;
	vq.indirect = flags & FL_INDIRECT;
	vq.last_avail = fuzz_u16(&in);
	vq.used_idx = fuzz_u16(&in);
	vq.desc_gpa = fuzz_u16(&in);
	vq.avail_gpa = fuzz_u16(&in);
	vq.used_gpa = fuzz_u16(&in);
	img_size = (fuzz_u8(&in) + 1u) * (uint64_t)BLK_SECTOR_SIZE;
	budget = fuzz_u8(&in);
	memset(mem.base, 0, MEM_SIZE);
	memcpy(mem.base, in.p, in.n < MEM_SIZE ? in.n : MEM_SIZE);

	reset_image(&img, img_size);
	img.readonly = flags & FL_READONLY;
	img.no_punch_hole = flags & FL_NO_PUNCH_HOLE;
	img.no_zero_range = flags & FL_NO_ZERO_RANGE;

	dev.name = "virtio-blk fuzz";
	dev.num_queues = 1;
	dev.vqs = &vq;
	dev.transport = &fake_transport;
	dev.host_features = blk_host_features(&img);
	dev.driver_features = dev.host_features &
		~(1ULL << F_DISCARD | 1ULL << F_WRITE_ZEROES);
	if (flags & FL_DISCARD)
		dev.driver_features |= 1ULL << F_DISCARD;
	if (flags & FL_WRITE_ZEROES)
		dev.driver_features |= 1ULL << F_WRITE_ZEROES;

	ret = blk_serve_queue(&dev, &img, 0, budget);
	if (ret < 0)
		FUZZ_CHECK(ret == -EINVAL && (dev.status & VIRTIO_STATUS_NEEDS_RESET));
	else
		FUZZ_CHECK((unsigned int)ret <= budget);

	/* a read-only image never changes, whatever the driver asks */
	if (img.readonly) {
		FUZZ_CHECK(pread(img_fd, img_check, img_size, 0) == (ssize_t)img_size);
		FUZZ_CHECK(!memcmp(img_check, img_buf, img_size));
	}
	return 0;
}
