/*
 * Plays a hostile guest for the --volume tests (and copies disks for the
 * qcow2 tests, tests/qcow2/qcow2.sh): copies the first virtio-blk
 * disk (a crafted ext4 image, readonly=on) over the second (the volume
 * kvmini made), flushes, and reports status 0 through the exit device, as
 * a guest command that ended normally would. kvmini then copies the
 * crafted image back into the volume's directory.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"
#include "virtio.h"

#define CHUNK (64 * 1024)

static uint8_t buf[CHUNK] __attribute__((aligned(4096)));
static struct vring rings[2];
static struct vio devs[2];

static void check_ok(uint8_t s, const char *what)
{
	if (s != S_OK) {
		fw_printf("volcopy: %s: status %u (%s)\n", what, s, vblk_status_name(s));
		vio_fail(what);
	}
}

void fw_main(const uint8_t *bp)
{
	const uint32_t id = (uint32_t)VIRTIO_BLK_DEVICE << 16 | VIRTIO_VENDOR;
	unsigned int n = 0, slot;
	uint64_t sectors, s;

	vio_prefix = "volcopy";
	acpi_init(bp);
	for (slot = 0; slot < 32 && n < 2; slot++) {
		if (pci_read32(slot, PCI_VENDOR_DEVICE) != id)
			continue;
		vio_map(&devs[n], slot);
		vio_negotiate(&devs[n], VIRTIO_F_VERSION_1);
		vio_queue_setup(&devs[n], &rings[n]);
		vio_driver_ok(&devs[n]);
		n++;
	}
	if (n < 2)
		vio_fail("needs two virtio-blk disks: the image, then the volume");
	sectors = vblk_capacity(&devs[0]);
	if (sectors > vblk_capacity(&devs[1]))
		vio_fail("the image is larger than the volume");
	for (s = 0; s < sectors; s += CHUNK / SECTOR) {
		uint64_t left = sectors - s;
		uint32_t len = left < CHUNK / SECTOR ? (uint32_t)left * SECTOR : CHUNK;

		check_ok(vblk_request(&devs[0], T_IN, s, buf, len, true), "read the image");
		check_ok(vblk_request(&devs[1], T_OUT, s, buf, len, false), "write the volume");
	}
	check_ok(vblk_request(&devs[1], T_FLUSH, 0, NULL, 0, false), "flush");
	fw_printf("volcopy: copied %llu sectors\n", (unsigned long long)sectors);
	outb(0xf4, 0);
	for (;;)
		__asm__ volatile("hlt");
}
