/*
 * A hostile virtio-blk driver: "attack=NAME" on the command line picks one
 * way to break the rules (descriptors outside RAM or wrapping 2^64, loops,
 * huge lengths, read-only registers, MSI-X out of range, resets mid-request).
 * After each case kvmini must still run and the device must either keep
 * working or report NEEDS_RESET; the guest then resets it, sets it up again
 * and reads sector 0 ("kvmini-hostile-disk"). Every case prints one line.
 *
 * Success: "hostile: PASS" and 0 through the exit device (kvmini status 1).
 * Failure: "hostile: FAIL: ..." and 1 (status 3). Needs --memory 256M.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"
#include "virtio.h"

#define MARKER		"kvmini-hostile-disk"
#define MARKER_LEN	19
#define TOP		0xffffffffffffffffull
#define ITABLE_MAX	256	/* kvmini's VIRTQ_MAX_SEGS: indirect entries at most */

/* PCI config registers the attacks touch */
#define PCI_CLASS_REV		0x08
#define PCI_HDR_BIST		0x0c
#define PCI_BAR1		0x14
#define PCI_SUBSYS		0x2c
#define PCI_INT			0x3c
#define MSIX_CTRL		2
#define MSIX_ENABLE		0x8000
#define MSIX_MASKALL		0x4000
#define MSIX_TABLE		4
#define MSIX_PBA		8

static struct vio dev;
static struct vring ring;
static uint64_t ram_end;
static uint64_t features = VIRTIO_F_VERSION_1;

/* Buffers of the hand-made requests. */
static struct vblk_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t st;
static uint8_t wbuf[2 * SECTOR] __attribute__((aligned(512)));	/* DATA: the first sector */
static uint8_t rbuf[SECTOR] __attribute__((aligned(512)));
static struct vq_desc itable[ITABLE_MAX] __attribute__((aligned(16)));

static void fail(const char *what) __attribute__((noreturn));
static void fail(const char *what)
{
	vio_fail(what);
}

/* ---- set-up, recovery ---- */

static void setup(void)
{
	vio_negotiate(&dev, features);
	vio_queue_setup(&dev, &ring);
	vio_driver_ok(&dev);
}

static void read_marker(const char *when)
{
	uint8_t s;

	memset(rbuf, 0, sizeof(rbuf));
	s = vblk_request(&dev, T_IN, 0, rbuf, SECTOR, true);
	if (s != S_OK) {
		fw_printf("hostile: read sector 0 %s: status %u (%s)\n", when, s,
			  vblk_status_name(s));
		fail("a normal read failed");
	}
	if (memcmp(rbuf, MARKER, MARKER_LEN)) {
		fw_printf("hostile: read sector 0 %s: wrong data\n", when);
		fail("a normal read returned the wrong data");
	}
}

/* Reset, set up again, read: only this device failed, and it recovers. */
static void recover(void)
{
	setup();
	read_marker("after reset");
}

/* The device must have set NEEDS_RESET for @what, and returned nothing. */
static void expect_needs_reset(const char *what)
{
	struct vq_used_elem e;
	uint16_t used = ring.used.idx;

	if (vio_wait(&dev, &e)) {
		fw_printf("hostile: %s: completed (id %u, len %u, status %u)\n", what, e.id,
			  e.len, st);
		fail("the device accepted a broken request");
	}
	if (ring.used.idx != used)
		fail("the device returned a chain it rejected");
	fw_printf("hostile: %s: NEEDS_RESET, recovered\n", what);
	recover();
}

/* The request completed with @want; the device needs no reset. */
static void expect_status(const char *what, uint8_t want)
{
	struct vq_used_elem e;

	if (!vio_wait(&dev, &e))
		fail("the device wants a reset after a request it could answer");
	if (st != want || e.len != 1) {
		fw_printf("hostile: %s: status %u (%s), used len %u\n", what, st,
			  vblk_status_name(st), e.len);
		fail("unexpected status");
	}
	fw_printf("hostile: %s: %s, device still works\n", what, vblk_status_name(want));
	read_marker("after the request");
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	ring.desc[i] = (struct vq_desc){ addr, len, flags, next };
}

static void set_hdr(uint32_t type, uint64_t sector)
{
	hdr = (struct vblk_hdr){ .type = type, .sector = sector };
	st = S_NONE;
}

/* A write of sector 1 through descriptors 0-2, any of them replaced. */
static void post_write(uint64_t h, uint32_t hlen, uint64_t d, uint32_t dlen, uint64_t s,
		       uint32_t slen)
{
	set_hdr(T_OUT, 1);
	desc(0, h, hlen, DESC_F_NEXT, 1);
	desc(1, d, dlen, DESC_F_NEXT, 2);
	desc(2, s, slen, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
}

#define HDR	(uintptr_t)&hdr, sizeof(hdr)
#define DATA	(uintptr_t)wbuf, SECTOR
#define STATUS	(uintptr_t)&st, 1

static void bad_write(const char *what, uint64_t h, uint32_t hlen, uint64_t d,
		      uint32_t dlen, uint64_t s, uint32_t slen)
{
	post_write(h, hlen, d, dlen, s, slen);
	expect_needs_reset(what);
}

/* ---- descriptors ---- */

static void attack_desc_outside(void)
{
	bad_write("data straddles the end of RAM", HDR, ram_end - 256, SECTOR, STATUS);
	bad_write("data at the end of RAM", HDR, ram_end, SECTOR, STATUS);
	bad_write("data at 4 GiB", HDR, 1ull << 32, SECTOR, STATUS);
	bad_write("data in the device's own BAR", HDR, dev.bar, SECTOR, STATUS);
	bad_write("data in the LAPIC page", HDR, 0xfee00000, SECTOR, STATUS);
	bad_write("header beyond RAM", ram_end + 0x1000, 16, DATA, STATUS);
	bad_write("status byte at the end of RAM", HDR, DATA, ram_end, 1);
}

static void attack_desc_wrap(void)
{
	bad_write("data wraps 2^64 into RAM", HDR, TOP - 0xfff, 0x2000, STATUS);
	bad_write("data ends exactly at 2^64", HDR, TOP - 511, SECTOR, STATUS);
	bad_write("data at 2^64 - 1, 2 bytes", HDR, TOP, 2, STATUS);
	bad_write("header wraps 2^64 into RAM", TOP - 7, 16, DATA, STATUS);
	bad_write("status wraps 2^64 into RAM", HDR, DATA, TOP, 2);
}

static void attack_desc_huge(void)
{
	bad_write("data length 0xffffffff", HDR, (uintptr_t)wbuf, 0xffffffff, STATUS);
	bad_write("data length 2 GiB", HDR, (uintptr_t)wbuf, 0x80000000, STATUS);
	bad_write("data length RAM + 1 from 0", HDR, 0, (uint32_t)ram_end + 1, STATUS);
	bad_write("header length 0xffffffff", (uintptr_t)&hdr, 0xffffffff, DATA, STATUS);
	bad_write("status length 0xffffffff", HDR, DATA, (uintptr_t)&st, 0xffffffff);
}

/*
 * Data segments whose lengths add up past 2^32 (all inside RAM: 16 times
 * the whole 256 MiB), through an indirect table. Summed in 32 bits they
 * would look like a one-sector request (or an empty one).
 */
static void sum_request(const char *what, uint32_t type, bool extra_sector)
{
	bool in = type == T_IN;
	unsigned int n = 0, i;

	set_hdr(type, 0);
	itable[n++] = (struct vq_desc){ (uintptr_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1 };
	for (i = 0; i < 16; i++, n++)
		itable[n] = (struct vq_desc){ 0, (uint32_t)ram_end,
			(uint16_t)(DESC_F_NEXT | (in ? DESC_F_WRITE : 0)), (uint16_t)(n + 1) };
	if (extra_sector) {
		itable[n] = (struct vq_desc){ (uintptr_t)wbuf, SECTOR,
			(uint16_t)(DESC_F_NEXT | (in ? DESC_F_WRITE : 0)), (uint16_t)(n + 1) };
		n++;
	}
	itable[n] = (struct vq_desc){ (uintptr_t)&st, 1, DESC_F_WRITE, 0 };
	n++;
	desc(0, (uintptr_t)itable, n * sizeof(struct vq_desc), DESC_F_INDIRECT, 0);
	vio_post(&dev, 0);
	expect_status(what, S_IOERR);
}

static void attack_desc_sum(void)
{
	if (ram_end != 0x10000000)
		fail("desc-sum needs --memory 256M");
	sum_request("write, data lengths sum to 2^32 + 512", T_OUT, true);
	sum_request("write, data lengths sum to 2^32", T_OUT, false);
	sum_request("read, data lengths sum to 2^32 + 512", T_IN, true);
}

static void attack_desc_loop(void)
{
	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, DESC_F_NEXT, 0);
	vio_post(&dev, 0);
	expect_needs_reset("chain 0 -> 1 -> 0");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE | DESC_F_NEXT, 2);
	vio_post(&dev, 0);
	expect_needs_reset("status descriptor points at itself");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	for (unsigned int i = 1; i < QSIZE; i++)
		desc(i, DATA, DESC_F_NEXT, (uint16_t)((i + 1) % QSIZE));
	vio_post(&dev, 0);
	expect_needs_reset("chain through all 8 descriptors and back");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE | DESC_F_NEXT, QSIZE);
	vio_post(&dev, 0);
	expect_needs_reset("next = queue size");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 0xffff);
	vio_post(&dev, 0);
	expect_needs_reset("next = 0xffff");
}

/* ---- indirect tables ---- */

static void post_indirect(uint64_t addr, uint32_t len, uint16_t flags)
{
	desc(0, addr, len, (uint16_t)(DESC_F_INDIRECT | flags), 1);
	desc(1, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
}

/* A valid 3-entry write table for sector 1 in itable[]. */
static void fill_itable(uint32_t type, uint64_t sector, uint8_t *buf)
{
	set_hdr(type, sector);
	itable[0] = (struct vq_desc){ (uintptr_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1 };
	itable[1] = (struct vq_desc){ (uintptr_t)buf, SECTOR,
		(uint16_t)(DESC_F_NEXT | (type == T_IN ? DESC_F_WRITE : 0)), 2 };
	itable[2] = (struct vq_desc){ (uintptr_t)&st, 1, DESC_F_WRITE, 0 };
}

static void bad_indirect(const char *what, uint64_t addr, uint32_t len)
{
	fill_itable(T_OUT, 1, wbuf);
	post_indirect(addr, len, 0);
	expect_needs_reset(what);
}

static void attack_indirect_outside(void)
{
	bad_indirect("table straddles the end of RAM", ram_end - 16, 48);
	bad_indirect("table at the end of RAM", ram_end, 48);
	bad_indirect("table at 4 GiB", 1ull << 32, 48);
	bad_indirect("table in the device's own BAR", dev.bar, 48);
	bad_indirect("table wraps 2^64 into RAM", TOP - 15, 48);
	bad_indirect("table length 0xfffffff0", (uintptr_t)itable, 0xfffffff0);
	bad_indirect("table length not a multiple of 16", (uintptr_t)itable, 40);
	bad_indirect("table length 0", (uintptr_t)itable, 0);
	bad_indirect("table of 257 entries", (uintptr_t)itable, 257 * 16);

	fill_itable(T_OUT, 1, wbuf);
	itable[1].addr = ram_end - 8;
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("table entry straddles the end of RAM");

	fill_itable(T_OUT, 1, wbuf);
	itable[1].addr = TOP - 255;
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("table entry wraps 2^64");
}

static void attack_indirect_loop(void)
{
	struct vq_used_elem e;

	/* a valid indirect read first: the feature works */
	fill_itable(T_IN, 0, rbuf);
	memset(rbuf, 0, sizeof(rbuf));
	desc(0, (uintptr_t)itable, 48, DESC_F_INDIRECT, 0);
	vio_post(&dev, 0);
	if (!vio_wait(&dev, &e) || st != S_OK || memcmp(rbuf, MARKER, MARKER_LEN))
		fail("a valid indirect read failed");
	fw_printf("hostile: valid indirect read: OK\n");

	fill_itable(T_OUT, 1, wbuf);
	itable[2].flags |= DESC_F_NEXT;
	itable[2].next = 0;
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("table entries 0 -> 1 -> 2 -> 0");

	fill_itable(T_OUT, 1, wbuf);
	itable[1].next = 1;
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("table entry points at itself");

	for (unsigned int i = 0; i < ITABLE_MAX; i++)
		itable[i] = (struct vq_desc){ (uintptr_t)wbuf, SECTOR, DESC_F_NEXT,
					      (uint16_t)((i + 1) % ITABLE_MAX) };
	set_hdr(T_OUT, 1);
	itable[0] = (struct vq_desc){ (uintptr_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1 };
	post_indirect((uintptr_t)itable, ITABLE_MAX * 16, 0);
	expect_needs_reset("256-entry table in one loop");

	fill_itable(T_OUT, 1, wbuf);
	itable[2].flags |= DESC_F_NEXT;
	itable[2].next = 3;
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("table entry next beyond the table");

	fill_itable(T_OUT, 1, wbuf);
	itable[1] = (struct vq_desc){ (uintptr_t)itable, 48, DESC_F_INDIRECT, 0 };
	post_indirect((uintptr_t)itable, 48, 0);
	expect_needs_reset("indirect table inside an indirect table");

	fill_itable(T_OUT, 1, wbuf);
	post_indirect((uintptr_t)itable, 48, DESC_F_NEXT);
	expect_needs_reset("indirect descriptor with NEXT set");
}

/* ---- rings ---- */

static void bad_ring(const char *what, uint16_t size, uint64_t d, uint64_t a, uint64_t u)
{
	vio_negotiate(&dev, features);
	memset(&ring, 0, sizeof(ring));
	wr16(dev.common + CC_Q_SELECT, 0);
	wr16(dev.common + CC_Q_SIZE, size);
	wr64(dev.common + CC_Q_DESC, d);
	wr64(dev.common + CC_Q_DRIVER, a);
	wr64(dev.common + CC_Q_DEVICE, u);
	wr16(dev.common + CC_Q_ENABLE, 1);
	if (!(vio_status(&dev) & ST_NEEDS_RESET) || rd16(dev.common + CC_Q_ENABLE))
		fail("a queue with a bad size or ring enabled");
	fw_printf("hostile: %s: NEEDS_RESET, recovered\n", what);
	recover();
}

#define D	(uintptr_t)ring.desc
#define A	(uintptr_t)&ring.avail
#define U	(uintptr_t)&ring.used

static void attack_ring_outside(void)
{
	bad_ring("descriptor table at the end of RAM", QSIZE, ram_end, A, U);
	bad_ring("descriptor table straddles the end of RAM", QSIZE, ram_end - 64, A, U);
	bad_ring("descriptor table wraps 2^64 into RAM", QSIZE, TOP - 63, A, U);
	bad_ring("available ring at 2^64 - 2", QSIZE, D, TOP - 1, U);
	bad_ring("available ring in the device's own BAR", QSIZE, D, dev.bar, U);
	bad_ring("used ring straddles the end of RAM", QSIZE, D, A, ram_end - 4);
	bad_ring("used ring at 4 GiB", QSIZE, D, A, 1ull << 32);
	bad_ring("used ring wraps 2^64 into RAM", QSIZE, D, A, TOP - 3);
	bad_ring("descriptor table misaligned", QSIZE, D + 8, A, U);
	/* with EVENT_IDX the rings grow by 2 bytes: used_event, avail_event */
	bad_ring("avail ring whose used_event crosses the end of RAM", QSIZE, D, ram_end - 20,
		 U);
	bad_ring("used ring whose avail_event crosses the end of RAM", QSIZE, D, A,
		 ram_end - 68);
}

static void attack_queue_size(void)
{
	bad_ring("queue size 0", 0, D, A, U);
	bad_ring("queue size 3", 3, D, A, U);
	bad_ring("queue size 512 (above the maximum)", 512, D, A, U);
	bad_ring("queue size 0xffff", 0xffff, D, A, U);
}

static void attack_avail_bad(void)
{
	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	dev.avail_idx = (uint16_t)(dev.avail_idx + QSIZE);	/* idx jumps by 9 > size */
	vio_post(&dev, 0);
	expect_needs_reset("available index 9 ahead");

	set_hdr(T_OUT, 1);
	vio_post(&dev, QSIZE);
	expect_needs_reset("head index = queue size");

	set_hdr(T_OUT, 1);
	vio_post(&dev, 0xffff);
	expect_needs_reset("head index 0xffff");
}

static void attack_blk_malformed(void)
{
	set_hdr(T_OUT, 1);
	desc(0, (uintptr_t)&hdr, 8, DESC_F_NEXT, 1);
	desc(1, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	expect_needs_reset("8-byte request header");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, 0, 0);
	vio_post(&dev, 0);
	expect_needs_reset("no device-writable status byte");

	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, STATUS, DESC_F_WRITE | DESC_F_NEXT, 2);
	desc(2, DATA, 0, 0);
	vio_post(&dev, 0);
	expect_needs_reset("device-readable data after the status byte");

	set_hdr(T_OUT, 1);
	desc(0, (uintptr_t)&hdr, 0, DESC_F_NEXT, 1);
	desc(1, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	expect_needs_reset("zero-length header");
}

/* A request of @type on @sector with @dlen bytes from wbuf (device-writable if @in). */
static void request(const char *what, uint32_t type, uint64_t sector, uint32_t dlen, bool in,
		    uint8_t want)
{
	set_hdr(type, sector);
	desc(0, HDR, DESC_F_NEXT, dlen ? 1 : 2);
	desc(1, (uintptr_t)wbuf, dlen, (uint16_t)(DESC_F_NEXT | (in ? DESC_F_WRITE : 0)), 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	expect_status(what, want);
}

/* Sectors past the end, sector * 512 wrapping 2^64, odd lengths, odd types. */
static void attack_blk_range(void)
{
	uint64_t cap = vblk_capacity(&dev);

	request("write at the capacity", T_OUT, cap, SECTOR, false, S_IOERR);
	request("write of 2 sectors at capacity - 1", T_OUT, cap - 1, 2 * SECTOR, false, S_IOERR);
	request("write at sector 2^55 (x 512 wraps to 0)", T_OUT, 1ull << 55, SECTOR, false,
		S_IOERR);
	request("write at sector 2^64 - 1", T_OUT, TOP, SECTOR, false, S_IOERR);
	request("write of 511 bytes", T_OUT, 1, SECTOR - 1, false, S_IOERR);
	request("read at sector 2^55", T_IN, 1ull << 55, SECTOR, true, S_IOERR);
	request("read of 2 sectors at capacity - 1", T_IN, cap - 1, 2 * SECTOR, true, S_IOERR);
	request("request type 0xffffffff", 0xffffffff, 0, SECTOR, false, S_UNSUPP);
	request("DISCARD without the feature", 11, 0, 16, false, S_UNSUPP);
}

#define T_DISCARD	11
#define T_WRITE_ZEROES	13
#define WZ_F_UNMAP	1

/* DISCARD / WRITE_ZEROES segments, built in wbuf. */
static void dwz(const char *what, uint32_t type, const uint64_t (*seg)[3], unsigned int n,
		uint32_t bytes, uint8_t want)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = wbuf + 16 * i;

		memcpy(p, &seg[i][0], 8);
		memcpy(p + 8, &seg[i][1], 4);
		memcpy(p + 12, &seg[i][2], 4);
	}
	request(what, type, 0, bytes ? bytes : 16 * n, false, want);
}

static void attack_blk_dwz(void)
{
	static uint64_t many[33][3];
	uint64_t cap = vblk_capacity(&dev);
	const uint64_t past_end[][3] = { { TOP - 0xff, 8, 0 } };
	const uint64_t at_cap[][3] = { { cap, 1, 0 } };
	const uint64_t straddle[][3] = { { cap - 1, 2, 0 } };
	const uint64_t huge[][3] = { { 0, 0xffffffff, 0 } };
	const uint64_t wrap[][3] = { { 1ull << 55, 1, 0 } };
	const uint64_t unmap[][3] = { { 1, 1, WZ_F_UNMAP } };
	const uint64_t flags[][3] = { { 1, 1, 0x80000000 } };
	const uint64_t good_then_bad[][3] = { { 1, 1, 0 }, { cap, 1, 0 } };

	dwz("discard near 2^64", T_DISCARD, past_end, 1, 0, S_IOERR);
	dwz("discard at the capacity", T_DISCARD, at_cap, 1, 0, S_IOERR);
	dwz("write zeroes across the end", T_WRITE_ZEROES, straddle, 1, 0, S_IOERR);
	dwz("write zeroes of 0xffffffff sectors", T_WRITE_ZEROES, huge, 1, 0, S_IOERR);
	dwz("write zeroes at sector 2^55", T_WRITE_ZEROES, wrap, 1, 0, S_IOERR);
	dwz("discard with UNMAP", T_DISCARD, unmap, 1, 0, S_UNSUPP);
	dwz("write zeroes with unknown flags", T_WRITE_ZEROES, flags, 1, 0, S_UNSUPP);
	dwz("segments of 24 bytes", T_WRITE_ZEROES, unmap, 1, 24, S_IOERR);
	for (unsigned int i = 0; i < 33; i++) {
		many[i][0] = 1;
		many[i][1] = 1;
	}
	dwz("33 segments", T_WRITE_ZEROES, (const uint64_t (*)[3])many, 33, 0, S_IOERR);
	dwz("a valid segment, then one past the end", T_WRITE_ZEROES, good_then_bad, 2, 0,
	    S_IOERR);
}

/* ---- read-only registers ---- */

static void attack_cfg_blk(void)
{
	uint32_t before[16], after[16];
	unsigned int i;

	for (i = 0; i < 16; i++)
		before[i] = rd32(dev.devcfg + 4 * i);
	for (i = 0; i < 64; i++)
		wr8(dev.devcfg + i, 0xa5);
	for (i = 0; i < 64; i += 2)
		wr16(dev.devcfg + i, 0x5a5a);
	for (i = 0; i < 64; i += 4)
		wr32(dev.devcfg + i, 0xffffffff);
	wr64_once(dev.devcfg, 0);
	wr64_once(dev.devcfg + 56, TOP);	/* straddles the end of the config */
	wr32(dev.devcfg + 0xffc, 0);
	wr64_once(dev.devcfg + 0xff8, 0);
	for (i = 0; i < 16; i++)
		after[i] = rd32(dev.devcfg + 4 * i);
	if (memcmp(before, after, sizeof(before)))
		fail("the virtio-blk config changed");
	fw_printf("hostile: writes over the whole device config: unchanged, capacity %llu\n",
		  (unsigned long long)vblk_capacity(&dev));
	read_marker("after the config writes");
}

static void attack_cfg_common(void)
{
	uint32_t before[CC_SIZE / 4], after[CC_SIZE / 4];
	unsigned int i;

	wr32(dev.common + CC_DFSELECT, 0);
	wr32(dev.common + CC_GFSELECT, 0);
	for (i = 0; i < CC_SIZE / 4; i++)
		before[i] = rd32(dev.common + 4 * i);
	wr16(dev.common + CC_NUM_QUEUES, 7);
	wr32(dev.common + CC_DF, 0xffffffff);
	wr32(dev.common + CC_DFSELECT, 1);
	wr32(dev.common + CC_DF, 0);
	wr32(dev.common + CC_DFSELECT, 0xffffffff);
	if (rd32(dev.common + CC_DF))
		fail("device_feature word 0xffffffff is not 0");
	wr32(dev.common + CC_DFSELECT, 0);
	wr8(dev.common + CC_GENERATION, 0x55);
	wr16(dev.common + CC_Q_NOTIFY_OFF, 9);
	/* guest features after FEATURES_OK, and a word that does not exist */
	wr32(dev.common + CC_GF, 0xffffffff);
	wr32(dev.common + CC_GFSELECT, 7);
	wr32(dev.common + CC_GF, 0xffffffff);
	if (rd32(dev.common + CC_GF))
		fail("driver_feature word 7 is not 0");
	wr32(dev.common + CC_GFSELECT, 0);
	/* a queue that does not exist */
	wr16(dev.common + CC_Q_SELECT, 1);
	wr16(dev.common + CC_Q_SIZE, 8);
	wr64(dev.common + CC_Q_DESC, (uintptr_t)ring.desc);
	wr16(dev.common + CC_Q_ENABLE, 1);
	if (rd16(dev.common + CC_Q_SIZE) || rd16(dev.common + CC_Q_ENABLE))
		fail("queue 1 exists");
	wr16(dev.common + CC_Q_SELECT, 0xffff);
	wr16(dev.common + CC_Q_ENABLE, 1);
	wr16(dev.common + CC_Q_SELECT, 0);
	/* beyond the structure, and across its end */
	wr32(dev.common + CC_SIZE, 0xffffffff);
	wr32(dev.common + CC_SIZE - 2, 0);
	wr64_once(dev.common + 0xff8, 0);
	for (i = 0; i < CC_SIZE / 4; i++)
		after[i] = rd32(dev.common + 4 * i);
	for (i = 0; i < CC_SIZE / 4; i++)
		if (before[i] != after[i]) {
			fw_printf("hostile: common config 0x%02x: 0x%08x became 0x%08x\n", 4 * i,
				  before[i], after[i]);
			fail("the common configuration changed");
		}
	fw_printf("hostile: writes to num_queues, device_feature, generation, "
		  "queue_notify_off, absent queues: ignored\n");
	read_marker("after the common config writes");
}

static void attack_cfg_pci(void)
{
	static const uint8_t ro[] = { 0x00, PCI_CLASS_REV, PCI_SUBSYS, PCI_CAP_PTR };
	uint32_t before[64], after[64], bar0, bar1, sz0, sz1;
	unsigned int i, cap;

	for (i = 0; i < 64; i++)
		before[i] = pci_read32(dev.slot, 4 * i);
	for (i = 0; i < sizeof(ro); i++) {
		pci_write32(dev.slot, ro[i], 0);
		pci_write32(dev.slot, ro[i], 0xffffffff);
	}
	pci_write8(dev.slot, PCI_HDR_BIST + 2, 0x80);	/* header type: multi-function */
	pci_write8(dev.slot, PCI_HDR_BIST + 3, 0x40);	/* BIST */
	pci_write8(dev.slot, PCI_INT + 1, 4);		/* interrupt pin */
	pci_write16(dev.slot, PCI_COMMAND + 2, 0xffff);	/* status */
	/* every capability header and body, except the PCI_CFG window's fields */
	for (cap = before[PCI_CAP_PTR / 4] & 0xfc; cap >= 0x40; cap = (before[cap / 4] >> 8) & 0xfc) {
		pci_write32(dev.slot, cap, 0);
		if (cap == dev.pci_cfg_cap)
			continue;
		if (cap == dev.msix_cap) {
			pci_write32(dev.slot, cap + MSIX_TABLE, 0xffffffff);
			pci_write32(dev.slot, cap + MSIX_PBA, 0xffffffff);
			continue;
		}
		for (i = 4; i < 20; i += 4)
			pci_write32(dev.slot, cap + i, 0x12345678);
	}
	for (i = 0; i < 64; i++)
		after[i] = pci_read32(dev.slot, 4 * i);
	for (i = 0; i < 64; i++)
		if (before[i] != after[i]) {
			fw_printf("hostile: config dword 0x%02x: 0x%08x became 0x%08x\n", 4 * i,
				  before[i], after[i]);
			fail("a read-only PCI config register changed");
		}
	fw_printf("hostile: writes to IDs, class, header type, capabilities: ignored\n");

	/* BAR sizing, BAR moves: over RAM, over the IOAPIC, to a wrapping address */
	bar0 = before[PCI_BAR0 / 4];
	bar1 = before[PCI_BAR1 / 4];
	pci_write32(dev.slot, PCI_BAR0, 0xffffffff);
	pci_write32(dev.slot, PCI_BAR1, 0xffffffff);
	sz0 = pci_read32(dev.slot, PCI_BAR0);
	sz1 = pci_read32(dev.slot, PCI_BAR1);
	for (i = 2; i < 6; i++) {
		pci_write32(dev.slot, PCI_BAR0 + 4 * i, 0xffffffff);
		if (pci_read32(dev.slot, PCI_BAR0 + 4 * i))
			fail("an unused BAR is writable");
	}
	fw_printf("hostile: BAR0 sizes as 0x%08x%08x, BAR2-5 read 0\n", sz1, sz0);
	pci_write32(dev.slot, PCI_BAR0, 0x00100000);	/* over our own code, 4 GiB above */
	pci_write32(dev.slot, PCI_BAR1, 0);		/* over our own code */
	pci_write32(dev.slot, PCI_BAR0, 0xfec00000);	/* over the IOAPIC */
	pci_write32(dev.slot, PCI_BAR0, bar0);
	pci_write32(dev.slot, PCI_BAR1, bar1);
	for (i = 0; i < 64; i++)
		if (pci_read32(dev.slot, 4 * i) != before[i])
			fail("config space differs after restoring the BAR");
	fw_printf("hostile: BAR0 moved over RAM, the IOAPIC, past 2^64 and back\n");
	/* decoding off: a kick to where the doorbell was goes nowhere */
	pci_write16(dev.slot, PCI_COMMAND, (uint16_t)(before[PCI_COMMAND / 4] & ~PCI_CMD_MEMORY));
	set_hdr(T_IN, 0);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, (uintptr_t)rbuf, SECTOR, DESC_F_WRITE | DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	if (rd32(dev.common) != 0xffffffff)
		fail("the BAR still decodes with memory decoding off");
	pci_write16(dev.slot, PCI_COMMAND, (uint16_t)before[PCI_COMMAND / 4]);
	wr16(dev.notify, 0);	/* kick again, now that the doorbell is back */
	{
		struct vq_used_elem e;

		if (!vio_wait(&dev, &e) || st != S_OK)
			fail("the request posted while decoding was off did not complete");
	}
	fw_printf("hostile: memory decoding off and on with a request posted\n");
	read_marker("after the BAR moves");
}

/* VIRTIO_PCI_CAP_PCI_CFG: bar, offset and length are the driver's to write. */
static void window(uint8_t bar, uint32_t off, uint32_t len)
{
	pci_write8(dev.slot, dev.pci_cfg_cap + 4, bar);
	pci_write32(dev.slot, dev.pci_cfg_cap + 8, off);
	pci_write32(dev.slot, dev.pci_cfg_cap + 12, len);
}

static void attack_pci_cfg_window(void)
{
	static const struct {
		uint8_t bar;
		uint32_t off, len;
	} bad[] = {
		{ 5, 0, 4 }, { 1, 0, 4 }, { 0xff, 0, 4 }, { 0, 0xfffffffc, 4 },
		{ 0, 0x7ffc, 4 }, { 0, 0x8000, 4 }, { 0, 0x7ffe, 4 }, { 0, 0x10, 3 },
		{ 0, 0x10, 0 }, { 0, 0x10, 0xffffffff }, { 0, 0x4000 + 32, 4 },
		{ 0, 0x5000, 4 }, { 0, 0x5008, 4 }, { 0, 0x2000 + 60, 4 }, { 0, 0x1001, 1 },
	};
	uint32_t data = dev.pci_cfg_cap + 16;
	uint16_t nq;

	if (!dev.pci_cfg_cap)
		fail("no VIRTIO_PCI_CAP_PCI_CFG capability");
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		window(bad[i].bar, bad[i].off, bad[i].len);
		(void)pci_read32(dev.slot, data);
		pci_write32(dev.slot, data, 0xffffffff);
		pci_write8(dev.slot, data + 3, 0);
	}
	window(0, CC_NUM_QUEUES, 2);
	nq = (uint16_t)pci_read32(dev.slot, data);
	if (nq != 1)
		fail("num_queues through the window is not 1");
	fw_printf("hostile: window on absent BARs, past the BAR, odd lengths: ignored; "
		  "num_queues through it: %u\n", nq);
	read_marker("after the window accesses");

	/* a reset through the window, with a request posted */
	set_hdr(T_IN, 0);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, (uintptr_t)rbuf, SECTOR, DESC_F_WRITE | DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	window(0, CC_STATUS, 1);
	pci_write32(dev.slot, data, 0);
	if (vio_status(&dev))
		fail("reset through the window did not reset");
	fw_printf("hostile: reset through the window with a request posted\n");
	recover();
}

/* ---- MSI-X ---- */

static uint64_t msix_table(void)
{
	return dev.bar + (pci_read32(dev.slot, dev.msix_cap + MSIX_TABLE) & ~7u);
}

static uint64_t msix_pba(void)
{
	return dev.bar + (pci_read32(dev.slot, dev.msix_cap + MSIX_PBA) & ~7u);
}

static uint16_t msix_vectors(void)
{
	return (uint16_t)((pci_read32(dev.slot, dev.msix_cap) >> 16 & 0x7ff) + 1);
}

static void msix_ctrl(uint16_t v)
{
	pci_write16(dev.slot, dev.msix_cap + MSIX_CTRL, v);
}

static void check_vector(unsigned int reg, uint16_t val, uint16_t want, const char *what)
{
	wr16(dev.common + reg, val);
	if (rd16(dev.common + reg) != want) {
		fw_printf("hostile: %s 0x%x reads back 0x%x\n", what, val,
			  rd16(dev.common + reg));
		fail("an MSI-X vector out of range was accepted");
	}
}

static void attack_msix_vectors(void)
{
	uint16_t n;

	if (!dev.msix_cap)
		fail("no MSI-X capability");
	n = msix_vectors();
	vio_negotiate(&dev, features);
	wr16(dev.common + CC_Q_SELECT, 0);
	check_vector(CC_MSIX_CONFIG, n, NO_VECTOR, "config_msix_vector");
	check_vector(CC_MSIX_CONFIG, 0x7ff, NO_VECTOR, "config_msix_vector");
	check_vector(CC_MSIX_CONFIG, 0xfffe, NO_VECTOR, "config_msix_vector");
	check_vector(CC_Q_MSIX, n, NO_VECTOR, "queue_msix_vector");
	check_vector(CC_Q_MSIX, 0x800, NO_VECTOR, "queue_msix_vector");
	check_vector(CC_Q_MSIX, 0xfffe, NO_VECTOR, "queue_msix_vector");
	check_vector(CC_MSIX_CONFIG, 0, 0, "config_msix_vector");
	check_vector(CC_Q_MSIX, (uint16_t)(n - 1), (uint16_t)(n - 1), "queue_msix_vector");
	fw_printf("hostile: %u MSI-X vectors; vectors %u, 0x7ff, 0x800, 0xfffe read back "
		  "as NO_VECTOR\n", n, n);
	/* MSI-X on, every vector pointing nowhere useful, masked as a whole */
	msix_ctrl(MSIX_ENABLE | MSIX_MASKALL);
	for (unsigned int i = 0; i < n; i++) {
		wr32(msix_table() + 16 * i, 0);
		wr32(msix_table() + 16 * i + 8, 0);
		wr32(msix_table() + 16 * i + 12, 0);
	}
	msix_ctrl(0);
	recover();
}

static void attack_msix_table(void)
{
	uint64_t t = msix_table(), p = msix_pba(), tend;
	uint32_t want[8], got[8];
	uint16_t n;
	unsigned int i;

	if (!dev.msix_cap)
		fail("no MSI-X capability");
	n = msix_vectors();
	tend = t + 16ull * n;
	for (i = 0; i < 2 * 4; i++) {
		want[i] = i % 4 == 0 ? 0xfee00000 : i % 4 == 2 ? 0x40 + i / 4 : i % 4 == 3 ? 1 : 0;
		wr32(t + 4 * i, want[i]);
	}
	/* beyond the table, and accesses the spec does not allow */
	wr32(tend, 0xffffffff);
	wr64_once(tend, TOP);
	wr32(t + 0xffc, 0xffffffff);
	wr8(t, 0xff);
	wr16(t + 2, 0xffff);
	wr64_once(t + 4, TOP);
	wr64_once(tend - 4, TOP);
	(void)rd32(tend);
	(void)rd64(tend - 4);
	(void)rd8(t + 1);
	/* the PBA is read-only; beyond it is nothing */
	wr32(p, 0xffffffff);
	wr64_once(p, TOP);
	wr8(p + 1, 0xff);
	wr32(p + 8, 0xffffffff);
	wr32(p + 0xffc, 0xffffffff);
	(void)rd8(p + 7);
	(void)rd32(p + 4);
	(void)rd64(p + 8);
	(void)rd32(p + 0xffc);
	for (i = 0; i < 8; i++)
		got[i] = rd32(t + 4 * i);
	if (memcmp(want, got, sizeof(want)))
		fail("MSI-X table entries changed");
	if (rd32(p) || rd32(p + 4))
		fail("PBA bits set");
	fw_printf("hostile: writes past the MSI-X table, odd sizes, PBA writes: ignored\n");
	read_marker("after the MSI-X writes");
}

/* Requests completing on a masked vector: pending bits, nothing lost or stuck. */
static void attack_msix_masked(void)
{
	uint64_t t, p;
	uint16_t n, qv;

	if (!dev.msix_cap)
		fail("no MSI-X capability");
	n = msix_vectors();
	qv = (uint16_t)(n - 1);
	t = msix_table();
	p = msix_pba();
	vio_negotiate(&dev, features);
	wr16(dev.common + CC_MSIX_CONFIG, 0);
	vio_queue_setup_vector(&dev, &ring, qv);
	vio_driver_ok(&dev);
	ring.avail.flags = 0;		/* we want the interrupts (as pending bits) */
	if (rd16(dev.common + CC_Q_MSIX) != qv)
		fail("queue vector not set");

	/* interrupts are off (cli): a delivered vector just stays pending */
	for (unsigned int i = 0; i < n; i++) {
		wr32(t + 16 * i, 0xfee00000);
		wr32(t + 16 * i + 4, 0);
		wr32(t + 16 * i + 8, 0x40 + i);
		wr32(t + 16 * i + 12, 1);
	}
	msix_ctrl(MSIX_ENABLE | MSIX_MASKALL);
	read_marker("with MSI-X masked");
	if (!(rd32(p) & (1u << qv)))
		fail("no pending bit for the masked queue vector");
	msix_ctrl(MSIX_ENABLE);
	read_marker("with the vector masked");
	if (!(rd32(p) & (1u << qv)))
		fail("pending bit lost while the entry is masked");
	wr32(t + 16 * qv + 12, 0);
	if (rd32(p) & (1u << qv))
		fail("pending bit stays after unmasking");
	fw_printf("hostile: completions on a masked vector set its pending bit; "
		  "unmasking sends it\n");
	read_marker("with the vector unmasked");
	wr32(t + 16 * qv + 12, 1);
	msix_ctrl(0);
	recover();
}

/* ---- resets ---- */

#define INFLIGHT	QSIZE
static struct vblk_hdr ihdr[INFLIGHT] __attribute__((aligned(16)));
static uint8_t ibuf[INFLIGHT][SECTOR] __attribute__((aligned(512)));
static volatile uint8_t ist[INFLIGHT];
static struct vq_desc itables[INFLIGHT][3] __attribute__((aligned(16)));

static void wait_status_zero(void)
{
	for (unsigned int i = 0; i < 1000 && vio_status(&dev); i++)
		cpu_relax();
	if (vio_status(&dev))
		fail("device did not reset");
}

static void attack_reset_inflight(void)
{
	const unsigned int rounds = 100;
	unsigned int r, i;

	for (r = 0; r < rounds; r++) {
		uint16_t used;

		for (i = 0; i < INFLIGHT; i++) {
			ihdr[i] = (struct vblk_hdr){ .type = i % 2 ? T_GET_ID : T_IN };
			ist[i] = S_NONE;
			itables[i][0] = (struct vq_desc){ (uintptr_t)&ihdr[i], 16, DESC_F_NEXT, 1 };
			itables[i][1] = (struct vq_desc){ (uintptr_t)ibuf[i], SECTOR,
							  DESC_F_WRITE | DESC_F_NEXT, 2 };
			itables[i][2] = (struct vq_desc){ (uintptr_t)&ist[i], 1, DESC_F_WRITE, 0 };
			desc(i, (uintptr_t)itables[i], 48, DESC_F_INDIRECT, 0);
			ring.avail.ring[i] = (uint16_t)i;
		}
		mb();
		dev.avail_idx = (uint16_t)(dev.avail_idx + INFLIGHT);
		*(volatile uint16_t *)&ring.avail.idx = dev.avail_idx;
		mb();
		wr16(dev.notify, 0);
		acpi_delay_us(r % 10 * 20);	/* reset at different points */
		wr8(dev.common + CC_STATUS, 0);
		wait_status_zero();
		used = *(volatile uint16_t *)&ring.used.idx;
		wr16(dev.notify, 0);		/* a kick to the reset device */
		acpi_delay_us(2000);
		if (*(volatile uint16_t *)&ring.used.idx != used)
			fail("the device wrote the used ring after the reset");
		setup();
	}
	fw_printf("hostile: %u resets with 8 requests in flight: no used-ring write after "
		  "a reset\n", rounds);
	read_marker("after the resets");
}

static void attack_reset_queued(void)
{
	uint16_t used;

	/* let the activation wake-up pass, so nothing serves the queue unasked */
	acpi_delay_us(20000);
	memset(wbuf, 'X', sizeof(wbuf));
	set_hdr(T_OUT, 1);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, DATA, DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	used = ring.used.idx;
	ring.avail.ring[dev.avail_idx % QSIZE] = 0;
	ring.avail.ring[(dev.avail_idx + 1) % QSIZE] = 0;
	mb();
	/* two writes, no kick */
	*(volatile uint16_t *)&ring.avail.idx = (uint16_t)(dev.avail_idx + 2);
	mb();
	wr8(dev.common + CC_STATUS, 0);
	wait_status_zero();
	if (ring.used.idx != used)
		fail("the device served requests nobody kicked");
	wr16(dev.notify, 0);	/* a kick to the reset device */
	acpi_delay_us(2000);
	if (ring.used.idx != used || st != S_NONE)
		fail("the reset device served the queue");
	setup();
	memset(rbuf, 0, sizeof(rbuf));
	if (vblk_request(&dev, T_IN, 1, rbuf, SECTOR, true) != S_OK)
		fail("read sector 1");
	for (unsigned int i = 0; i < SECTOR; i++)
		if (rbuf[i] != 'u')
			fail("a write queued before the reset reached the disk");
	fw_printf("hostile: reset with 2 writes queued: dropped, sector 1 unchanged\n");
	read_marker("after the reset");
}

static void attack_queue_toggle(void)
{
	wr16(dev.common + CC_Q_SELECT, 0);
	wr16(dev.common + CC_Q_ENABLE, 0);
	wr16(dev.common + CC_Q_SIZE, 16);
	wr16(dev.common + CC_Q_MSIX, 0);
	wr64(dev.common + CC_Q_DESC, ram_end);
	wr64(dev.common + CC_Q_DRIVER, TOP - 1);
	wr64(dev.common + CC_Q_DEVICE, 0);
	wr16(dev.common + CC_Q_ENABLE, 1);
	if (rd16(dev.common + CC_Q_ENABLE) != 1 || rd16(dev.common + CC_Q_SIZE) != QSIZE ||
	    rd16(dev.common + CC_Q_MSIX) != NO_VECTOR || rd64(dev.common + CC_Q_DESC) != D ||
	    rd64(dev.common + CC_Q_DRIVER) != A || rd64(dev.common + CC_Q_DEVICE) != U)
		fail("an enabled queue changed");
	fw_printf("hostile: queue_enable 0, new size, vector and rings after enable: "
		  "ignored\n");
	read_marker("after the queue writes");

	/* enable before FEATURES_OK, then twice */
	vio_reset(&dev);
	vio_set_status(&dev, ST_ACKNOWLEDGE | ST_DRIVER);
	memset(&ring, 0, sizeof(ring));
	dev.avail_idx = dev.used_seen = 0;
	wr16(dev.common + CC_Q_SIZE, QSIZE);
	wr64(dev.common + CC_Q_DESC, D);
	wr64(dev.common + CC_Q_DRIVER, A);
	wr64(dev.common + CC_Q_DEVICE, U);
	wr16(dev.common + CC_Q_ENABLE, 1);
	wr16(dev.common + CC_Q_ENABLE, 1);
	wr16(dev.common + CC_Q_SIZE, 4);
	/* DRIVER_OK without FEATURES_OK: must not stick */
	vio_set_status(&dev, ST_DRIVER_OK);
	if (vio_status(&dev) & ST_DRIVER_OK)
		fail("DRIVER_OK stuck without FEATURES_OK");
	fw_printf("hostile: queue enabled before FEATURES_OK, DRIVER_OK without it: refused\n");
	recover();
}

static void attack_status_games(void)
{
	vio_reset(&dev);
	vio_set_status(&dev, ST_ACKNOWLEDGE | ST_DRIVER);
	/* features the device does not offer */
	wr32(dev.common + CC_GFSELECT, 1);
	wr32(dev.common + CC_GF, 0x80000101);
	wr32(dev.common + CC_GFSELECT, 0);
	wr32(dev.common + CC_GF, 0xffffffff);
	vio_set_status(&dev, ST_FEATURES_OK);
	if (vio_status(&dev) & ST_FEATURES_OK)
		fail("FEATURES_OK stuck with features the device does not offer");
	/* only the device may set NEEDS_RESET */
	vio_set_status(&dev, ST_NEEDS_RESET);
	if (vio_status(&dev) & ST_NEEDS_RESET)
		fail("the driver could set NEEDS_RESET");
	vio_set_status(&dev, ST_FAILED);
	fw_printf("hostile: unoffered features, NEEDS_RESET and FAILED from the driver: "
		  "refused or harmless\n");
	recover();
	/* a write of every status bit at once on a live device */
	wr8(dev.common + CC_STATUS, 0xff & ~ST_FAILED);
	fw_printf("hostile: status 0x7f on a live device: status now 0x%x\n", vio_status(&dev));
	recover();
}

/*
 * Status bits cleared without a reset (DRIVER_OK on a live device, or
 * FEATURES_OK before it), many times over: each time the device must set
 * NEEDS_RESET, refuse renegotiation and requests, and work after a reset.
 * hostile-run.sh checks that stderr holds one line for all of them.
 */
#define CLEAR_ROUNDS	40

static void expect_halted(const char *what, uint8_t want)
{
	uint16_t used = ring.used.idx;

	if (vio_status(&dev) != (want | ST_NEEDS_RESET)) {
		fw_printf("hostile: %s: status 0x%x\n", what, vio_status(&dev));
		fail("clearing status bits did not leave NEEDS_RESET");
	}
	/* renegotiate as if nothing happened: all of it ignored */
	wr8(dev.common + CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
	wr32(dev.common + CC_GFSELECT, 0);
	wr32(dev.common + CC_GF, VIRTIO_F_INDIRECT_DESC);
	wr8(dev.common + CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK);
	wr8(dev.common + CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	if (vio_status(&dev) != (want | ST_NEEDS_RESET))
		fail("the device took status writes after NEEDS_RESET");
	/* a request: not served */
	set_hdr(T_IN, 0);
	desc(0, HDR, DESC_F_NEXT, 1);
	desc(1, (uintptr_t)rbuf, SECTOR, DESC_F_WRITE | DESC_F_NEXT, 2);
	desc(2, STATUS, DESC_F_WRITE, 0);
	vio_post(&dev, 0);
	acpi_delay_us(2000);
	if (*(volatile uint16_t *)&ring.used.idx != used || st != S_NONE)
		fail("the device served a request while it needs a reset");
}

static void attack_status_clear(void)
{
	const uint8_t live = ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	const uint8_t negotiated = ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK;
	unsigned int r;

	for (r = 0; r < CLEAR_ROUNDS; r++) {
		wr8(dev.common + CC_STATUS, negotiated);
		expect_halted("DRIVER_OK cleared", live);
		recover();
	}
	fw_printf("hostile: DRIVER_OK cleared on a live device %u times: NEEDS_RESET, "
		  "nothing served, recovered\n", CLEAR_ROUNDS);
	for (r = 0; r < CLEAR_ROUNDS; r++) {
		vio_negotiate(&dev, features);
		wr8(dev.common + CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
		/* queue 0 set up and enabled by hand: the enable must not take */
		memset(&ring, 0, sizeof(ring));
		dev.avail_idx = dev.used_seen = 0;
		ring.avail.flags = AVAIL_F_NO_INTERRUPT;
		wr16(dev.common + CC_Q_SELECT, 0);
		wr16(dev.common + CC_Q_SIZE, QSIZE);
		wr64(dev.common + CC_Q_DESC, D);
		wr64(dev.common + CC_Q_DRIVER, A);
		wr64(dev.common + CC_Q_DEVICE, U);
		wr16(dev.common + CC_Q_ENABLE, 1);
		if (rd16(dev.common + CC_Q_ENABLE))
			fail("a queue was enabled while the device needs a reset");
		expect_halted("FEATURES_OK cleared", negotiated);
		recover();
	}
	fw_printf("hostile: FEATURES_OK cleared before DRIVER_OK %u times: NEEDS_RESET, "
		  "queue not enabled, recovered\n", CLEAR_ROUNDS);
}

/*
 * A full queue of the largest reads there are: 256 requests of 4064 MiB
 * each (254 segments over the same 16 MiB of RAM, through one shared
 * indirect table) from a sparse disk, a terabyte in all. Nothing is
 * expected back: hostile-stop.sh checks that --timeout or SIGTERM still
 * ends kvmini at once, rather than after the queued work.
 */
#define HUGE_QSIZE	256
#define HUGE_BUF	0x8000000ull	/* 128 MiB: RAM the firmware never uses */
#define HUGE_SEG	(16u << 20)
#define HUGE_SEGS	(ITABLE_MAX - 2)

static struct vq_desc huge_desc[HUGE_QSIZE] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[HUGE_QSIZE];
} huge_avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx;
	struct vq_used_elem ring[HUGE_QSIZE];
} huge_used __attribute__((aligned(4096)));

static void attack_blk_huge(void)
{
	unsigned int i;

	if (vblk_capacity(&dev) < (uint64_t)HUGE_SEGS * HUGE_SEG / SECTOR)
		fail("blk-huge needs a disk of 4064 MiB or more");
	set_hdr(T_IN, 0);
	itable[0] = (struct vq_desc){ (uintptr_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1 };
	for (i = 1; i <= HUGE_SEGS; i++)
		itable[i] = (struct vq_desc){ HUGE_BUF, HUGE_SEG, DESC_F_WRITE | DESC_F_NEXT,
					      (uint16_t)(i + 1) };
	itable[i] = (struct vq_desc){ (uintptr_t)&st, 1, DESC_F_WRITE, 0 };
	for (i = 0; i < HUGE_QSIZE; i++) {
		huge_desc[i] = (struct vq_desc){ (uintptr_t)itable, ITABLE_MAX * 16,
						 DESC_F_INDIRECT, 0 };
		huge_avail.ring[i] = (uint16_t)i;
	}
	huge_avail.flags = AVAIL_F_NO_INTERRUPT;
	huge_avail.idx = HUGE_QSIZE;

	vio_negotiate(&dev, features);
	wr16(dev.common + CC_Q_SELECT, 0);
	if (rd16(dev.common + CC_Q_SIZE) < HUGE_QSIZE)
		fail("blk-huge needs a queue of 256 entries");
	wr16(dev.common + CC_Q_SIZE, HUGE_QSIZE);
	wr64(dev.common + CC_Q_DESC, (uintptr_t)huge_desc);
	wr64(dev.common + CC_Q_DRIVER, (uintptr_t)&huge_avail);
	wr64(dev.common + CC_Q_DEVICE, (uintptr_t)&huge_used);
	wr16(dev.common + CC_Q_ENABLE, 1);
	vio_driver_ok(&dev);
	mb();
	wr16(dev.notify, 0);
	fw_printf("hostile: %u reads of %u MiB queued\n", HUGE_QSIZE, HUGE_SEGS * 16);
}

static void attack_blk_huge_stop(void)
{
	attack_blk_huge();
	cpu_halt_forever();	/* only kvmini's stop ends this */
}

/* The same queue, then a reset: it must not wait for the queued work. */
static void attack_blk_huge_reset(void)
{
	attack_blk_huge();
	acpi_delay_us(200000);	/* the I/O thread is deep in the first read */
	vio_reset(&dev);
	fw_printf("hostile: reset with the reads in flight: done\n");
	recover();
}

/* ---- main ---- */

static const struct {
	const char *name;
	void (*run)(void);
	uint64_t features;	/* besides VERSION_1 */
} attacks[] = {
	{ "desc-outside", attack_desc_outside, 0 },
	{ "desc-wrap", attack_desc_wrap, 0 },
	{ "desc-huge", attack_desc_huge, 0 },
	{ "desc-sum", attack_desc_sum, VIRTIO_F_INDIRECT_DESC },
	{ "desc-loop", attack_desc_loop, 0 },
	{ "indirect-outside", attack_indirect_outside, VIRTIO_F_INDIRECT_DESC },
	{ "indirect-loop", attack_indirect_loop, VIRTIO_F_INDIRECT_DESC },
	{ "ring-outside", attack_ring_outside, VIRTIO_F_EVENT_IDX },
	{ "queue-size", attack_queue_size, 0 },
	{ "avail-bad", attack_avail_bad, 0 },
	{ "blk-malformed", attack_blk_malformed, 0 },
	{ "blk-range", attack_blk_range, 0 },
	{ "blk-dwz", attack_blk_dwz, VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES },
	{ "cfg-blk", attack_cfg_blk, 0 },
	{ "cfg-common", attack_cfg_common, 0 },
	{ "cfg-pci", attack_cfg_pci, 0 },
	{ "pci-cfg-window", attack_pci_cfg_window, 0 },
	{ "msix-vectors", attack_msix_vectors, 0 },
	{ "msix-table", attack_msix_table, 0 },
	{ "msix-masked", attack_msix_masked, 0 },
	{ "reset-inflight", attack_reset_inflight, VIRTIO_F_INDIRECT_DESC },
	{ "reset-queued", attack_reset_queued, 0 },
	{ "queue-toggle", attack_queue_toggle, 0 },
	{ "status-games", attack_status_games, 0 },
	{ "status-clear", attack_status_clear, 0 },
	{ "blk-huge", attack_blk_huge_stop, VIRTIO_F_INDIRECT_DESC },
	{ "blk-huge-reset", attack_blk_huge_reset, VIRTIO_F_INDIRECT_DESC },
};

/* The value of "key=" on the command line, up to the next space. */
static bool cmdline_is(const char *cmdline, const char *key, const char *val)
{
	size_t klen = strlen(key), vlen = strlen(val);

	for (const char *p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, klen) &&
		    p[klen] == '=' && !memcmp(p + klen + 1, val, vlen) &&
		    (p[klen + 1 + vlen] == ' ' || p[klen + 1 + vlen] == 0))
			return true;
	return false;
}

/* End of the highest usable RAM range in the e820 map. */
static uint64_t find_ram_end(const uint8_t *bp)
{
	unsigned int n = bp[BP_E820_ENTRIES];
	uint64_t end = 0;

	for (unsigned int i = 0; i < n && i < BP_E820_MAX; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

		if (get_le32(e + 16) == 1 && get_le64(e) + get_le64(e + 8) > end)
			end = get_le64(e) + get_le64(e + 8);
	}
	return end;
}

void fw_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	unsigned int i, n = sizeof(attacks) / sizeof(attacks[0]);

	vio_prefix = "hostile";
	acpi_init(bp);
	ram_end = find_ram_end(bp);
	if (ram_end != 0x10000000)
		fail("run with --memory 256M");
	for (i = 0; i < n && !cmdline_is(cmdline, "attack", attacks[i].name); i++)
		;
	if (i == n)
		fail("no known attack=NAME on the command line");
	fw_printf("hostile: attack %s\n", attacks[i].name);
	features |= attacks[i].features;
	vio_map(&dev, vio_find((uint32_t)VIRTIO_BLK_DEVICE << 16 | VIRTIO_VENDOR,
			       "no virtio-blk (1af4:1042) on PCI bus 0"));
	memset(wbuf, 'W', sizeof(wbuf));
	setup();
	read_marker("before the attack");
	attacks[i].run();
	read_marker("at the end");
	fw_printf("hostile: sector 0 reads %s\n", MARKER);
	fw_printf("hostile: PASS\n");
	outw(0xf4, 0);		/* exit device: kvmini status 1 */
	acpi_poweroff();
}
