/* virtio-blk requests against a temp image, and the image checks and locks. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../err_capture.h"
#include "virtio/blk.h"
#include "../ram_split.h"

/* virtio 1.x 5.2, written out here so the test checks the device's numbers */
#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WRITE_ZEROES	13
#define S_OK		0
#define S_IOERR		1
#define S_UNSUPP	2
#define F_RO		5
#define F_DISCARD	13
#define F_WRITE_ZEROES	14

#define MEM_SIZE	(1u << 20)
#define DESC_GPA	0x1000ULL
#define AVAIL_GPA	0x2000ULL
#define USED_GPA	0x3000ULL
#define HDR_GPA		0x10000ULL
#define SEG_GPA		0x11000ULL	/* discard / write zeroes segments */
#define DATA_GPA	0x20000ULL
#define STATUS_GPA	0x40000ULL
#define ITABLE_GPA	0x50000ULL	/* an indirect table */
#define QSIZE		16
#define IMG_SECTORS	128

#define D_NEXT		1
#define D_WRITE		2

static struct guest_mem mem;
static struct virtq vq;
static struct virtio_dev dev;
static struct blk_image img;
static char dir[64], path[96];
static unsigned int irqs, config_irqs;

static void fake_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (virtq_should_notify(&d->vqs[q]))
		irqs++;
}

static void fake_notify_config(struct virtio_dev *d)
{
	(void)d;
	config_irqs++;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static uint8_t *gp(uint64_t gpa)
{
	return mem.base + gpa;
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint8_t *d = gp(DESC_GPA + 16ULL * i);
	uint16_t next = (uint16_t)(i + 1);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void offer_head0(void)
{
	uint16_t *idx = (uint16_t *)gp(AVAIL_GPA + 2);

	*(uint16_t *)gp(AVAIL_GPA + 4 + 2ULL * (*idx % QSIZE)) = 0;
	(*idx)++;
}

static uint32_t last_used_len(void)
{
	uint16_t idx = *(uint16_t *)gp(USED_GPA + 2);

	return *(uint32_t *)gp(USED_GPA + 8 + 8ULL * ((uint16_t)(idx - 1) % QSIZE));
}

static uint16_t used_idx(void)
{
	return *(uint16_t *)gp(USED_GPA + 2);
}

static void put_hdr(uint32_t type, uint64_t sector)
{
	memset(gp(HDR_GPA), 0, 16);
	memcpy(gp(HDR_GPA), &type, 4);
	memcpy(gp(HDR_GPA + 8), &sector, 8);
}

/* header, then @len data bytes (device-writable if @data_in), then the status byte */
static int submit(uint32_t type, uint64_t sector, uint32_t len, bool data_in)
{
	unsigned int n = 0;

	put_hdr(type, sector);
	*gp(STATUS_GPA) = 0xee;
	desc(n++, HDR_GPA, 16, D_NEXT);
	if (len)
		desc(n++, DATA_GPA, len, D_NEXT | (data_in ? D_WRITE : 0));
	desc(n, STATUS_GPA, 1, D_WRITE);
	offer_head0();
	return blk_serve_queue(&dev, &img, 0, QSIZE);
}

static uint8_t status(void)
{
	return *gp(STATUS_GPA);
}

/* DISCARD / WRITE_ZEROES with one segment. */
static int submit_dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	put_hdr(type, 0);
	memcpy(gp(SEG_GPA), &sector, 8);
	memcpy(gp(SEG_GPA + 8), &num, 4);
	memcpy(gp(SEG_GPA + 12), &flags, 4);
	*gp(STATUS_GPA) = 0xee;
	desc(0, HDR_GPA, 16, D_NEXT);
	desc(1, SEG_GPA, 16, D_NEXT);
	desc(2, STATUS_GPA, 1, D_WRITE);
	offer_head0();
	return blk_serve_queue(&dev, &img, 0, QSIZE);
}

static void fill_file(uint8_t byte)
{
	uint8_t buf[IMG_SECTORS * 512];

	memset(buf, byte, sizeof(buf));
	assert_int_equal(pwrite(img.fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
}

static void file_bytes(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void make_file(const char *p, off_t size)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static void open_image(bool readonly)
{
	assert_int_equal(blk_image_open(&img, path, readonly), 0);
	memcpy(img.id, "kvmini-test", 11);
	dev.host_features = blk_host_features(&img);
	dev.driver_features = dev.host_features;
}

static int setup(void **state)
{
	(void)state;
	if (!mem.base)
		assert_int_equal(test_mem_alloc(&mem, MEM_SIZE, 0xc0000000ULL), 0);
	memset(mem.base, 0, MEM_SIZE);
	snprintf(dir, sizeof(dir), "/tmp/kvmini-blk-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	make_file(path, IMG_SECTORS * 512);

	vq = (struct virtq){
		.mem = &mem, .size = QSIZE, .ready = true, .event_idx = true,
		.desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA,
	};
	dev = (struct virtio_dev){
		.name = "virtio-blk test", .num_queues = 1, .vqs = &vq,
		.transport = &fake_transport,
	};
	irqs = config_irqs = 0;
	img.fd = -1;
	return 0;
}

static int teardown(void **state)
{
	char other[128];

	(void)state;
	blk_image_close(&img);
	unlink(path);
	snprintf(other, sizeof(other), "%s/other", dir);
	unlink(other);
	rmdir(dir);
	return 0;
}

/*
 * A read of more than 4 GiB (17 in-segments over the same 256 MiB of guest
 * RAM) inside a sparse 5 GiB image: the le32 used length could not report
 * it (it wrapped to a small value), so the request fails with IOERR
 * before any I/O.
 */
static void test_read_over_4g_refused(void **state)
{
	const uint64_t big = 256ULL << 20, segs = 17;
	struct guest_mem bigmem;
	uint8_t *g;
	unsigned int i;

	(void)state;
	make_file(path, (off_t)(5ULL << 30));
	open_image(false);
	assert_int_equal(pwrite(img.fd, "x", 1, 0), 1);
	assert_int_equal(test_mem_alloc(&bigmem, big, 0xc0000000ULL), 0);
	g = bigmem.base;
	vq.mem = &bigmem;
	put_hdr(T_IN, 0);
	memcpy(g + HDR_GPA, gp(HDR_GPA), 16);
	g[STATUS_GPA] = 0xee;
	/* ring, header and indirect table in the first 1 MiB, data segments after it */
	vq.indirect = true;
	for (i = 0; i < segs + 2; i++) {
		uint64_t addr = i == 0 ? HDR_GPA : i == segs + 1 ? STATUS_GPA : MEM_SIZE;
		uint32_t len = i == 0 ? 16 : i == segs + 1 ? 1 : (uint32_t)(big - MEM_SIZE);
		uint16_t flags = i == 0 ? D_NEXT : i == segs + 1 ? D_WRITE : D_NEXT | D_WRITE;
		uint16_t next = (uint16_t)(i + 1);
		uint8_t *d = g + ITABLE_GPA + 16ULL * i;

		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
	}
	{
		uint64_t addr = ITABLE_GPA;
		uint32_t len = (uint32_t)(16 * (segs + 2));
		uint16_t flags = 4;	/* VIRTQ_DESC_F_INDIRECT */

		memcpy(g + DESC_GPA, &addr, 8);
		memcpy(g + DESC_GPA + 8, &len, 4);
		memcpy(g + DESC_GPA + 12, &flags, 2);
	}
	*(uint16_t *)(g + AVAIL_GPA + 4) = 0;
	*(uint16_t *)(g + AVAIL_GPA + 2) = 1;
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), 1);
	assert_int_equal(g[STATUS_GPA], S_IOERR);
	assert_int_equal(*(uint32_t *)(g + USED_GPA + 8), 1);	/* the status byte only */
	assert_int_equal(g[MEM_SIZE], 0);			/* nothing read */
	vq.mem = &mem;
	guest_mem_free(&bigmem);
}

static void test_write_read_round_trip(void **state)
{
	uint8_t pattern[1024], back[1024];
	unsigned int i;

	(void)state;
	open_image(false);
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	memcpy(gp(DATA_GPA), pattern, sizeof(pattern));
	assert_int_equal(submit(T_OUT, 2, sizeof(pattern), false), 1);
	assert_int_equal(status(), S_OK);
	assert_int_equal(last_used_len(), 1);
	assert_int_equal(irqs, 1);
	file_bytes(2 * 512, back, sizeof(back));
	assert_memory_equal(back, pattern, sizeof(pattern));

	memset(gp(DATA_GPA), 0, sizeof(pattern));
	assert_int_equal(submit(T_IN, 2, sizeof(pattern), true), 1);
	assert_int_equal(status(), S_OK);
	assert_int_equal(last_used_len(), sizeof(pattern) + 1);
	assert_memory_equal(gp(DATA_GPA), pattern, sizeof(pattern));
	assert_int_equal(used_idx(), 2);
}

/* Header split over two descriptors; data and status sharing the last one. */
static void test_split_segments(void **state)
{
	uint8_t back[512];

	(void)state;
	open_image(false);
	fill_file(0x5a);
	put_hdr(T_IN, 1);
	desc(0, HDR_GPA, 8, D_NEXT);
	desc(1, HDR_GPA + 8, 8, D_NEXT);
	desc(2, DATA_GPA, 513, D_WRITE);	/* 512 data bytes + status */
	gp(DATA_GPA)[512] = 0xee;
	offer_head0();
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), 1);
	assert_int_equal(gp(DATA_GPA)[512], S_OK);
	memset(back, 0x5a, sizeof(back));
	assert_memory_equal(gp(DATA_GPA), back, sizeof(back));
	assert_int_equal(last_used_len(), 513);
}

static void test_out_of_range(void **state)
{
	uint8_t zero[512] = { 0 }, back[512];

	(void)state;
	open_image(false);
	assert_int_equal(submit(T_IN, IMG_SECTORS, 512, true), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(last_used_len(), 1);
	assert_int_equal(submit(T_IN, IMG_SECTORS - 1, 1024, true), 1);
	assert_int_equal(status(), S_IOERR);
	/* sector * 512 wraps to a small offset */
	assert_int_equal(submit(T_IN, (UINT64_MAX / 512) + 2, 512, true), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(submit(T_IN, UINT64_MAX, 512, true), 1);
	assert_int_equal(status(), S_IOERR);

	memset(gp(DATA_GPA), 0xab, 1024);
	assert_int_equal(submit(T_OUT, IMG_SECTORS - 1, 1024, false), 1);
	assert_int_equal(status(), S_IOERR);
	file_bytes((IMG_SECTORS - 1) * 512, back, sizeof(back));
	assert_memory_equal(back, zero, sizeof(zero));	/* nothing written */

	/* the last sector itself is fine */
	assert_int_equal(submit(T_OUT, IMG_SECTORS - 1, 512, false), 1);
	assert_int_equal(status(), S_OK);
}

static void test_partial_sector(void **state)
{
	(void)state;
	open_image(false);
	assert_int_equal(submit(T_IN, 0, 100, true), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(submit(T_OUT, 0, 513, false), 1);
	assert_int_equal(status(), S_IOERR);
}

static void test_readonly(void **state)
{
	uint8_t zero[512] = { 0 }, back[512];

	(void)state;
	open_image(true);
	assert_true(dev.host_features >> F_RO & 1);
	assert_false(dev.host_features >> F_DISCARD & 1);
	dev.driver_features |= 1ULL << F_DISCARD | 1ULL << F_WRITE_ZEROES;	/* hostile */

	memset(gp(DATA_GPA), 0xab, 512);
	assert_int_equal(submit(T_OUT, 0, 512, false), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(submit_dwz(T_WRITE_ZEROES, 0, 1, 0), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(submit_dwz(T_DISCARD, 0, 1, 0), 1);
	assert_int_equal(status(), S_IOERR);
	file_bytes(0, back, sizeof(back));
	assert_memory_equal(back, zero, sizeof(zero));

	assert_int_equal(submit(T_IN, 0, 512, true), 1);
	assert_int_equal(status(), S_OK);
	assert_int_equal(submit(T_FLUSH, 0, 0, false), 1);
	assert_int_equal(status(), S_OK);
}

static void test_flush(void **state)
{
	(void)state;
	open_image(false);
	assert_int_equal(submit(T_FLUSH, 0, 0, false), 1);
	assert_int_equal(status(), S_OK);
	assert_int_equal(last_used_len(), 1);
}

static void expect_zeroed(uint64_t first, uint64_t count)
{
	uint8_t back[IMG_SECTORS * 512];
	uint64_t i;

	file_bytes(0, back, sizeof(back));
	for (i = 0; i < sizeof(back); i++) {
		bool inside = i >= first * 512 && i < (first + count) * 512;

		if (back[i] != (inside ? 0 : 0xaa))
			fail_msg("byte %llu is 0x%02x", (unsigned long long)i, back[i]);
	}
}

static void test_discard(void **state)
{
	(void)state;
	open_image(false);
	fill_file(0xaa);
	assert_int_equal(submit_dwz(T_DISCARD, 8, 16, 0), 1);
	assert_int_equal(status(), S_OK);
	expect_zeroed(8, 16);
}

static void test_write_zeroes(void **state)
{
	(void)state;
	open_image(false);
	fill_file(0xaa);
	assert_int_equal(submit_dwz(T_WRITE_ZEROES, 3, 5, 0), 1);
	assert_int_equal(status(), S_OK);
	expect_zeroed(3, 5);
	fill_file(0xaa);
	assert_int_equal(submit_dwz(T_WRITE_ZEROES, 9, 1, 1), 1);	/* may unmap */
	assert_int_equal(status(), S_OK);
	expect_zeroed(9, 1);
}

/* Without hole punching or zero ranges, zeroes are written. */
static void test_zeroes_fallback(void **state)
{
	(void)state;
	open_image(false);
	img.no_punch_hole = img.no_zero_range = true;
	fill_file(0xaa);
	assert_int_equal(submit_dwz(T_DISCARD, 0, 2, 0), 1);
	assert_int_equal(status(), S_OK);
	expect_zeroed(0, 2);
}

static void test_discard_errors(void **state)
{
	(void)state;
	open_image(false);
	fill_file(0xaa);
	assert_int_equal(submit_dwz(T_DISCARD, 0, 1, 1), 1);	/* unmap on discard */
	assert_int_equal(status(), S_UNSUPP);
	assert_int_equal(submit_dwz(T_WRITE_ZEROES, 0, 1, 2), 1);	/* unknown flag */
	assert_int_equal(status(), S_UNSUPP);
	assert_int_equal(submit_dwz(T_DISCARD, IMG_SECTORS - 1, 2, 0), 1);
	assert_int_equal(status(), S_IOERR);
	assert_int_equal(submit_dwz(T_WRITE_ZEROES, UINT64_MAX, 1, 0), 1);
	assert_int_equal(status(), S_IOERR);
	expect_zeroed(0, 0);

	/* segment data not a multiple of 16 bytes */
	put_hdr(T_DISCARD, 0);
	desc(0, HDR_GPA, 16, D_NEXT);
	desc(1, SEG_GPA, 12, D_NEXT);
	desc(2, STATUS_GPA, 1, D_WRITE);
	offer_head0();
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), 1);
	assert_int_equal(status(), S_IOERR);

	dev.driver_features &= ~(1ULL << F_DISCARD);	/* not negotiated */
	assert_int_equal(submit_dwz(T_DISCARD, 0, 1, 0), 1);
	assert_int_equal(status(), S_UNSUPP);
	expect_zeroed(0, 0);
}

static void test_get_id(void **state)
{
	uint8_t want[20] = "kvmini-test";

	(void)state;
	open_image(false);
	memset(gp(DATA_GPA), 0xff, 32);
	assert_int_equal(submit(T_GET_ID, 0, 20, true), 1);
	assert_int_equal(status(), S_OK);
	assert_memory_equal(gp(DATA_GPA), want, 20);
	assert_int_equal(last_used_len(), 21);
	assert_int_equal(gp(DATA_GPA)[20], 0xff);	/* nothing past the buffer */
}

static void test_unknown_type(void **state)
{
	(void)state;
	open_image(false);
	assert_int_equal(submit(99, 0, 512, true), 1);
	assert_int_equal(status(), S_UNSUPP);
	assert_int_equal(last_used_len(), 1);
}

static void test_budget(void **state)
{
	unsigned int i;

	(void)state;
	open_image(false);
	put_hdr(T_FLUSH, 0);
	desc(0, HDR_GPA, 16, D_NEXT);
	desc(1, STATUS_GPA, 1, D_WRITE);
	for (i = 0; i < 3; i++)
		offer_head0();
	assert_int_equal(blk_serve_queue(&dev, &img, 0, 2), 2);
	assert_int_equal(blk_serve_queue(&dev, &img, 0, 2), 1);
	assert_int_equal(blk_serve_queue(&dev, &img, 0, 2), 0);
	assert_int_equal(used_idx(), 3);
}

static void expect_needs_reset(void)
{
	const char *err;

	err_begin();
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), -EINVAL);
	err = err_end();
	assert_true(dev.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(vq.broken);
	assert_int_equal(config_irqs, 1);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "virtio-blk test"));
}

static void test_header_too_short(void **state)
{
	(void)state;
	open_image(false);
	desc(0, HDR_GPA, 8, D_NEXT);
	desc(1, STATUS_GPA, 1, D_WRITE);
	offer_head0();
	expect_needs_reset();
}

static void test_no_status_byte(void **state)
{
	(void)state;
	open_image(false);
	put_hdr(T_OUT, 0);
	desc(0, HDR_GPA, 16, D_NEXT);
	desc(1, DATA_GPA, 512, 0);
	offer_head0();
	expect_needs_reset();
}

/* A bad ring is reported the same way; a second breakage logs nothing. */
static void test_bad_chain_logs_once(void **state)
{
	const char *err;

	(void)state;
	open_image(false);
	desc(0, MEM_SIZE, 16, 0);
	offer_head0();
	expect_needs_reset();

	dev.status = 0;		/* the driver resets the device... */
	virtq_reset(&vq);
	err_begin();		/* ...and breaks it again */
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), -EINVAL);
	err = err_end();
	assert_true(dev.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(config_irqs, 2);
	assert_string_equal(err, "");
}

/* ---- stopping a large request ---- */

#define BIG_GPA		0x80000ULL	/* 512 KiB of guest data, reused by every segment */
#define BIG_SEG		(512u << 10)
#define BIG_SEGS	20		/* 10 MiB: two full chunks and a half */

static unsigned int go_on_calls, go_on_allowed;

static bool go_on_limited(void *opaque)
{
	(void)opaque;
	return go_on_calls++ < go_on_allowed;
}

/* A 10 MiB write of 0xab at sector 0 through one indirect chain. */
static void post_big_write(void)
{
	unsigned int i, n = BIG_SEGS + 2;

	make_file(path, 16 << 20);
	open_image(false);
	memset(gp(BIG_GPA), 0xab, BIG_SEG);
	put_hdr(T_OUT, 0);
	*gp(STATUS_GPA) = 0xee;
	vq.indirect = true;
	for (i = 0; i < n; i++) {
		uint64_t addr = i == 0 ? HDR_GPA : i == n - 1 ? STATUS_GPA : BIG_GPA;
		uint32_t len = i == 0 ? 16 : i == n - 1 ? 1 : BIG_SEG;
		uint16_t flags = i == n - 1 ? D_WRITE : D_NEXT;
		uint16_t next = (uint16_t)(i + 1);
		uint8_t *d = gp(ITABLE_GPA + 16ULL * i);

		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		memcpy(d + 12, &flags, 2);
		memcpy(d + 14, &next, 2);
	}
	{
		uint64_t addr = ITABLE_GPA;
		uint32_t len = 16 * n;
		uint16_t flags = 4;	/* VIRTQ_DESC_F_INDIRECT */

		memcpy(gp(DESC_GPA), &addr, 8);
		memcpy(gp(DESC_GPA + 8), &len, 4);
		memcpy(gp(DESC_GPA + 12), &flags, 2);
	}
	offer_head0();
}

static uint8_t file_byte(uint64_t off)
{
	uint8_t b;

	file_bytes(off, &b, 1);
	return b;
}

/*
 * A stop asked for after the first chunk: exactly one chunk reaches the
 * image, the request is not completed (no used entry, status unwritten),
 * and it is served in full, from the start, by the next round.
 */
static void test_stop_large_request(void **state)
{
	struct blk_ctl ctl = { .go_on = go_on_limited };

	(void)state;
	post_big_write();
	go_on_calls = 0;
	go_on_allowed = 1;		/* before the request: yes; after chunk 1: stop */
	assert_int_equal(blk_serve_queue_ctl(&dev, &img, 0, QSIZE, &ctl), 0);
	assert_true(ctl.stopped);
	assert_int_equal(go_on_calls, 2);
	assert_true(ctl.bytes == BLK_CHUNK_BYTES);
	assert_int_equal(used_idx(), 0);
	assert_int_equal(status(), 0xee);
	assert_int_equal(irqs, 0);
	assert_int_equal(file_byte(0), 0xab);
	assert_int_equal(file_byte(BLK_CHUNK_BYTES - 1), 0xab);
	assert_int_equal(file_byte(BLK_CHUNK_BYTES), 0);
	assert_int_equal(file_byte(BIG_SEGS * BIG_SEG - 1), 0);

	/* nobody reset the device: the next round does the whole request */
	ctl = (struct blk_ctl){ .go_on = go_on_limited };
	go_on_calls = 0;
	go_on_allowed = 100;
	assert_int_equal(blk_serve_queue_ctl(&dev, &img, 0, QSIZE, &ctl), 1);
	assert_false(ctl.stopped);
	assert_true(ctl.bytes == BIG_SEGS * BIG_SEG);
	assert_int_equal(go_on_calls, 4);	/* the request, then 2 between its 3 chunks */
	assert_int_equal(used_idx(), 1);
	assert_int_equal(status(), S_OK);
	assert_int_equal(file_byte(BIG_SEGS * BIG_SEG - 1), 0xab);
	assert_int_equal(file_byte(BIG_SEGS * BIG_SEG), 0);
}

/* A stop asked for before a request: nothing is taken from the ring. */
static void test_stop_before_request(void **state)
{
	struct blk_ctl ctl = { .go_on = go_on_limited };

	(void)state;
	post_big_write();
	go_on_calls = 0;
	go_on_allowed = 0;
	assert_int_equal(blk_serve_queue_ctl(&dev, &img, 0, QSIZE, &ctl), 0);
	assert_true(ctl.stopped);
	assert_true(ctl.bytes == 0);
	assert_int_equal(file_byte(0), 0);
	assert_int_equal(blk_serve_queue(&dev, &img, 0, QSIZE), 1);
	assert_int_equal(status(), S_OK);
}

static void test_config_space(void **state)
{
	uint8_t c[BLK_CONFIG_SIZE];
	uint64_t capacity;
	uint32_t v;

	(void)state;
	open_image(false);
	blk_build_config(&img, c);
	memcpy(&capacity, c, 8);
	assert_int_equal(capacity, IMG_SECTORS);
	memcpy(&v, c + 20, 4);
	assert_int_equal(v, 512);	/* blk_size */
	memcpy(&v, c + 12, 4);
	assert_int_equal(v, VIRTQ_MAX_SEGS - 2);	/* seg_max */
	memcpy(&v, c + 40, 4);
	assert_true(v >= 1);		/* max_discard_seg */
	assert_int_equal(c[56], 1);	/* write_zeroes_may_unmap */
	assert_true(dev.host_features >> F_DISCARD & 1);
	assert_true(dev.host_features >> F_WRITE_ZEROES & 1);
	assert_true(dev.host_features >> VIRTIO_F_VERSION_1 & 1);
	assert_false(dev.host_features >> F_RO & 1);
}

/* One line naming the option and the path; @err the expected errno. */
static void expect_open_fails(const char *p, bool readonly, int err, const char *msg)
{
	struct blk_image other;
	const char *text;

	err_begin();
	assert_int_equal(blk_image_open(&other, p, readonly), err);
	text = err_end();
	assert_int_equal(other.fd, -1);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "--disk path="));
	assert_non_null(strstr(text, p));
	if (!strstr(text, msg))
		fail_msg("message lacks '%s': %s", msg, text);
}

static void test_image_missing(void **state)
{
	(void)state;
	unlink(path);
	expect_open_fails(path, false, -ENOENT, "no such file");
	expect_open_fails(path, true, -ENOENT, "no such file");
}

static void test_image_directory(void **state)
{
	(void)state;
	expect_open_fails(dir, false, -EISDIR, "directory");
	expect_open_fails(dir, true, -EISDIR, "directory");
}

static void test_image_bad_size(void **state)
{
	(void)state;
	make_file(path, 1000);
	expect_open_fails(path, false, -EINVAL, "multiple of 512");
	make_file(path, 0);
	expect_open_fails(path, true, -EINVAL, "empty");
}

static void test_image_not_regular(void **state)
{
	(void)state;
	expect_open_fails("/dev/null", true, -EINVAL, "not a regular file");
}

#define LOCKED "in use by another process (locked); stop it or use readonly=on on both"

static void test_lock_kvmini_vs_kvmini(void **state)
{
	struct blk_image ro2;

	(void)state;
	open_image(false);
	expect_open_fails(path, false, -EBUSY, LOCKED);
	expect_open_fails(path, true, -EBUSY, LOCKED);
	blk_image_close(&img);

	open_image(true);
	assert_int_equal(blk_image_open(&ro2, path, true), 0);	/* readers share */
	expect_open_fails(path, false, -EBUSY, LOCKED);
	blk_image_close(&ro2);
	blk_image_close(&img);

	open_image(false);	/* released on close */
}

/* Another process's OFD lock on @byte, as QEMU takes them (shared, one byte). */
static int qemu_style_lock(off_t byte)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

static bool qemu_style_lock_fails(off_t byte)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	int fd = open(path, O_RDONLY), ret;

	assert_true(fd >= 0);
	ret = fcntl(fd, F_OFD_SETLK, &fl);
	close(fd);
	return ret < 0;
}

static void test_lock_vs_qemu(void **state)
{
	int fd;

	(void)state;
	/* a QEMU reader holds byte 100 (consistent read): no kvmini writer */
	fd = qemu_style_lock(100);
	expect_open_fails(path, false, -EBUSY, LOCKED);
	open_image(true);
	blk_image_close(&img);
	close(fd);

	/* a QEMU writer holds byte 101 (write): no kvmini at all */
	fd = qemu_style_lock(101);
	expect_open_fails(path, false, -EBUSY, LOCKED);
	expect_open_fails(path, true, -EBUSY, LOCKED);
	close(fd);

	/* kvmini writing: QEMU cannot take its bytes */
	open_image(false);
	assert_true(qemu_style_lock_fails(100));
	assert_true(qemu_style_lock_fails(201));
	blk_image_close(&img);

	/* kvmini reading: a QEMU reader may join; byte 201 tells writers no */
	open_image(true);
	assert_false(qemu_style_lock_fails(100));
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = 201, .l_len = 1 };
		int probe = open(path, O_RDONLY);

		assert_true(probe >= 0);
		assert_int_equal(fcntl(probe, F_OFD_GETLK, &fl), 0);
		assert_int_not_equal(fl.l_type, F_UNLCK);
		close(probe);
	}
}

static int teardown_all(void **state)
{
	(void)state;
	guest_mem_free(&mem);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_read_over_4g_refused),
		T(test_write_read_round_trip),
		T(test_split_segments),
		T(test_out_of_range),
		T(test_partial_sector),
		T(test_readonly),
		T(test_flush),
		T(test_discard),
		T(test_write_zeroes),
		T(test_zeroes_fallback),
		T(test_discard_errors),
		T(test_get_id),
		T(test_unknown_type),
		T(test_budget),
		T(test_header_too_short),
		T(test_no_status_byte),
		T(test_bad_chain_logs_once),
		T(test_stop_large_request),
		T(test_stop_before_request),
		T(test_config_space),
		T(test_image_missing),
		T(test_image_directory),
		T(test_image_bad_size),
		T(test_image_not_regular),
		T(test_lock_kvmini_vs_kvmini),
		T(test_lock_vs_qemu),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
