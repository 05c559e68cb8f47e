/*
 * A guest that keeps writing its disk, for the live snapshot tests
 * (tests/qcow2/qcow2.sh live-*): pass after pass over every sector, each
 * sector stamped "KVSTREAM", the pass and the sector number (le32 each),
 * then the byte pass * 7 + 1 to its end, a flush and "blkstream: pass N written" after each pass.
 * A byte on COM1 (kvmini's stdin) ends it after the pass under way: every
 * sector is read back and must hold that last pass, then "blkstream: pass
 * N read back ok" and status 0 through the exit device (kvmini: 1).
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"
#include "virtio.h"

#define CHUNK		4096
#define COM1_LSR	0x3fd
#define LSR_DR		0x01
#define MAX_PASSES	1000000u

static uint8_t buf[CHUNK] __attribute__((aligned(4096)));
static struct vring ring;
static struct vio dev;

static void stamp(uint8_t *s, uint32_t pass, uint32_t sector)
{
	static const char magic[8] = "KVSTREAM";
	uint8_t fill = (uint8_t)(pass * 7 + 1);

	for (unsigned int i = 0; i < 8; i++)
		s[i] = (uint8_t)magic[i];
	for (unsigned int i = 0; i < 4; i++) {
		s[8 + i] = (uint8_t)(pass >> (8 * i));
		s[12 + i] = (uint8_t)(sector >> (8 * i));
	}
	s[16] = fill;	/* the rest of the sector: see fill_rest() */
}

/* Bytes 16.. of a sector: the pass's fill byte. */
static void fill_rest(uint8_t *s, uint8_t fill)
{
	for (unsigned int i = 16; i < SECTOR; i++)
		s[i] = fill;
}

static void check_ok(uint8_t st, const char *what)
{
	if (st != S_OK) {
		fw_printf("blkstream: %s: status %u (%s)\n", what, st, vblk_status_name(st));
		vio_fail(what);
	}
}

static void write_pass(uint64_t sectors, uint32_t pass)
{
	for (uint64_t s = 0; s < sectors; s += CHUNK / SECTOR) {
		for (unsigned int i = 0; i < CHUNK / SECTOR; i++) {
			uint8_t *p = buf + i * SECTOR;
			uint8_t fill = (uint8_t)(pass * 7 + 1);

			stamp(p, pass, (uint32_t)(s + i));
			if (p[17] != fill || p[SECTOR - 1] != fill)
				fill_rest(p, fill);
		}
		check_ok(vblk_request(&dev, T_OUT, s, buf, CHUNK, false), "write");
	}
	check_ok(vblk_request(&dev, T_FLUSH, 0, NULL, 0, false), "flush");
}

static void read_back(uint64_t sectors, uint32_t pass)
{
	static uint8_t want[SECTOR];

	for (uint64_t s = 0; s < sectors; s += CHUNK / SECTOR) {
		check_ok(vblk_request(&dev, T_IN, s, buf, CHUNK, true), "read back");
		for (unsigned int i = 0; i < CHUNK / SECTOR; i++) {
			stamp(want, pass, (uint32_t)(s + i));
			fill_rest(want, want[16]);
			if (memcmp(buf + i * SECTOR, want, SECTOR)) {
				fw_printf("blkstream: sector %llu does not hold pass %u\n",
					  (unsigned long long)(s + i), pass);
				vio_fail("read back");
			}
		}
	}
}

void fw_main(const uint8_t *bp)
{
	uint64_t sectors;
	uint32_t pass;

	vio_prefix = "blkstream";
	acpi_init(bp);
	vio_map(&dev, vio_find((uint32_t)VIRTIO_BLK_DEVICE << 16 | VIRTIO_VENDOR,
			       "no virtio-blk disk"));
	vio_negotiate(&dev, VIRTIO_F_VERSION_1);
	vio_queue_setup(&dev, &ring);
	vio_driver_ok(&dev);
	sectors = vblk_capacity(&dev);
	if (!sectors || sectors % (CHUNK / SECTOR))
		vio_fail("the disk must be a multiple of 4 KiB");
	for (pass = 1; pass < MAX_PASSES; pass++) {
		write_pass(sectors, pass);
		fw_printf("blkstream: pass %u written\n", pass);
		if (inb(COM1_LSR) & LSR_DR)
			break;
	}
	read_back(sectors, pass);
	fw_printf("blkstream: pass %u read back ok\n", pass);
	outb(0xf4, 0);
	for (;;)
		__asm__ volatile("hlt");
}
