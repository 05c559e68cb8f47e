/*
 * A tiny virtio-blk driver over modern virtio-pci (1af4:1042): find the
 * device through conf1, walk its vendor capabilities, bring up queue 0
 * (size 8, polled, no interrupts), then read sector 0, write, flush and
 * read back sector 1, and ask for the serial (GET_ID).
 *
 * "vblk.mode=ro" on the command line: the disk is readonly=on, so the
 * write must fail with VIRTIO_BLK_S_IOERR and sector 1 must not change.
 *
 * "vblk.mode=dwz": discard and write-zeroes instead (for the qcow2 tests):
 * sectors 0-63 get the sector number in every byte, then write-zeroes
 * with UNMAP 8-23, without UNMAP 32-39, discard 48-55, write-zeroes of
 * 60-61, a flush, and every sector must read back as planned.
 *
 * "vblk.boots=N": a boot counter instead, for --on-reboot=restart. Each
 * boot adds one to the le32 in sector 2, writes and flushes it, then
 * reboots through the i8042 until the count reaches N, and powers off.
 *
 * Every step prints one line; any failure prints "virtio-blk: FAIL: ..."
 * and reports 1 through the exit device (kvmini status 3).
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"
#include "virtio.h"

static uint8_t wbuf[SECTOR] __attribute__((aligned(512)));
static uint8_t rbuf[SECTOR] __attribute__((aligned(512)));
static uint8_t before[SECTOR];
static char idbuf[ID_BYTES + 1];
static struct vring ring;
static struct vio dev;

static bool init_device(uint64_t want)
{
	uint32_t f0 = vio_negotiate(&dev, VIRTIO_F_VERSION_1 | want);

	vio_queue_setup(&dev, &ring);
	vio_driver_ok(&dev);
	return f0 & VIRTIO_BLK_F_RO;
}

static uint8_t blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t len,
			   bool in)
{
	return vblk_request(&dev, type, sector, buf, len, in);
}

static void check_ok(uint8_t s, const char *what)
{
	if (s != S_OK) {
		fw_printf("virtio-blk: %s: status %u (%s)\n", what, s, vblk_status_name(s));
		vio_fail(what);
	}
}

/* ---- command line ---- */

/* The start of @key's value (the word "@key..." on the command line), or NULL. */
static const char *cmdline_find(const uint8_t *bp, const char *key)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	size_t len = strlen(key);
	const char *p;

	if (!cmdline)
		return NULL;
	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, key, len))
			return p + len;
	return NULL;
}

static bool cmdline_has(const uint8_t *bp, const char *word)
{
	const char *end = cmdline_find(bp, word);

	return end && (*end == ' ' || *end == 0);
}

/* "vblk.boots=N": N (1 to 999), or 0 without the word. */
static uint32_t cmdline_boots(const uint8_t *bp)
{
	const char *p = cmdline_find(bp, "vblk.boots=");
	uint32_t n = 0;

	while (p && *p >= '0' && *p <= '9' && n < 1000)
		n = n * 10 + (uint32_t)(*p++ - '0');
	return n < 1000 ? n : 0;
}

/* ---- the boot counter (vblk.boots=N) ---- */

#define I8042_CMD_PORT	0x64
#define I8042_CMD_RESET	0xfe
#define COUNTER_SECTOR	2

static void count_boot(uint32_t boots)
{
	uint32_t n;

	memset(rbuf, 0, sizeof(rbuf));
	check_ok(blk_request(T_IN, COUNTER_SECTOR, rbuf, SECTOR, true), "read the boot counter");
	n = get_le32(rbuf) + 1;
	memset(wbuf, 0, sizeof(wbuf));
	wbuf[0] = (uint8_t)n;
	wbuf[1] = (uint8_t)(n >> 8);
	wbuf[2] = (uint8_t)(n >> 16);
	wbuf[3] = (uint8_t)(n >> 24);
	check_ok(blk_request(T_OUT, COUNTER_SECTOR, wbuf, SECTOR, false),
		 "write the boot counter");
	check_ok(blk_request(T_FLUSH, 0, NULL, 0, false), "flush the boot counter");
	fw_printf("virtio-blk: boot %u of %u\n", n, boots);
	if (n >= boots)
		acpi_poweroff();
	fw_printf("virtio-blk: rebooting through the i8042\n");
	outb(I8042_CMD_PORT, I8042_CMD_RESET);
	cpu_halt_forever();
}

/* ---- discard and write-zeroes (vblk.mode=dwz) ---- */

#define T_DISCARD	11
#define T_WRITE_ZEROES	13
#define WZ_UNMAP	1

static uint8_t seg[16] __attribute__((aligned(16)));

static void dwz(uint32_t type, uint64_t sector, uint32_t count, uint32_t flags, const char *what)
{
	for (unsigned int i = 0; i < 8; i++)
		seg[i] = (uint8_t)(sector >> (8 * i));
	for (unsigned int i = 0; i < 4; i++) {
		seg[8 + i] = (uint8_t)(count >> (8 * i));
		seg[12 + i] = (uint8_t)(flags >> (8 * i));
	}
	check_ok(blk_request(type, 0, seg, sizeof(seg), false), what);
	fw_printf("virtio-blk: %s ok\n", what);
}

static bool zeroed(uint64_t s)
{
	return (s >= 8 && s < 24) || (s >= 32 && s < 40) || (s >= 48 && s < 56) ||
	       (s >= 60 && s < 62);
}

static void dwz_test(void)
{
	uint64_t s;

	for (s = 0; s < 64; s++) {
		memset(wbuf, (int)s + 1, sizeof(wbuf));
		check_ok(blk_request(T_OUT, s, wbuf, SECTOR, false), "write a sector");
	}
	check_ok(blk_request(T_FLUSH, 0, NULL, 0, false), "flush");
	fw_printf("virtio-blk: wrote sectors 0-63\n");
	dwz(T_WRITE_ZEROES, 8, 16, WZ_UNMAP, "write zeroes 8-23 with unmap");
	dwz(T_WRITE_ZEROES, 32, 8, 0, "write zeroes 32-39");
	dwz(T_DISCARD, 48, 8, 0, "discard 48-55");
	dwz(T_WRITE_ZEROES, 60, 2, WZ_UNMAP, "write zeroes 60-61 with unmap");
	check_ok(blk_request(T_FLUSH, 0, NULL, 0, false), "flush");
	for (s = 0; s < 64; s++) {
		check_ok(blk_request(T_IN, s, rbuf, SECTOR, true), "read a sector");
		for (unsigned int i = 0; i < SECTOR; i++)
			if (rbuf[i] != (zeroed(s) ? 0 : (uint8_t)(s + 1)))
				vio_fail("a sector reads back other bytes than planned");
	}
	fw_printf("virtio-blk: dwz read back ok\n");
	acpi_poweroff();
}

/* ---- the test ---- */

/* "sector 1 line 00" ... "sector 1 line 31": 32 lines of 16 bytes. */
static void make_pattern(uint8_t *b)
{
	static const char line[] = "sector 1 line ";

	for (unsigned int i = 0; i < SECTOR / 16; i++) {
		memcpy(b + 16 * i, line, 14);
		b[16 * i + 14] = (uint8_t)('0' + i / 10);
		b[16 * i + 15] = (uint8_t)('0' + i % 10);
	}
}

void fw_main(const uint8_t *bp)
{
	bool ro_mode = cmdline_has(bp, "vblk.mode=ro");
	bool dwz_mode = cmdline_has(bp, "vblk.mode=dwz");
	bool ro_dev;
	char text[17];
	uint8_t s;

	vio_prefix = "virtio-blk";
	acpi_init(bp);
	vio_map(&dev, vio_find((uint32_t)VIRTIO_BLK_DEVICE << 16 | VIRTIO_VENDOR,
			       "no virtio-blk (1af4:1042) on PCI bus 0"));
	ro_dev = init_device(dwz_mode ? VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES : 0);
	if (ro_dev != ro_mode)
		vio_fail(ro_mode ? "vblk.mode=ro but the device does not offer VIRTIO_BLK_F_RO" :
			       "the device is read-only (VIRTIO_BLK_F_RO)");

	fw_printf("virtio-blk: capacity %llu sectors\n",
		  (unsigned long long)vblk_capacity(&dev));
	if (cmdline_boots(bp))
		count_boot(cmdline_boots(bp));
	if (dwz_mode)
		dwz_test();

	memset(rbuf, 0, sizeof(rbuf));
	check_ok(blk_request(T_IN, 0, rbuf, SECTOR, true), "read sector 0");
	for (unsigned int i = 0; i < 16; i++)
		text[i] = rbuf[i] >= 0x20 && rbuf[i] < 0x7f ? (char)rbuf[i] : '.';
	text[16] = 0;
	fw_printf("virtio-blk: sector 0: %s\n", text);

	if (ro_mode) {
		memset(before, 0, sizeof(before));
		check_ok(blk_request(T_IN, 1, before, SECTOR, true), "read sector 1");
	}
	make_pattern(wbuf);
	s = blk_request(T_OUT, 1, wbuf, SECTOR, false);
	if (ro_mode) {
		if (s != S_IOERR) {
			fw_printf("virtio-blk: write to a read-only disk: status %u (%s)\n",
				  s, vblk_status_name(s));
			vio_fail("write to a read-only disk did not fail with IOERR");
		}
		fw_printf("virtio-blk: write sector 1 failed: IOERR (read-only)\n");
	} else {
		check_ok(s, "write sector 1");
		fw_printf("virtio-blk: wrote sector 1\n");
	}

	check_ok(blk_request(T_FLUSH, 0, NULL, 0, false), "flush");
	fw_printf("virtio-blk: flush ok\n");

	memset(rbuf, 0, sizeof(rbuf));
	check_ok(blk_request(T_IN, 1, rbuf, SECTOR, true), "read sector 1");
	if (ro_mode) {
		if (memcmp(rbuf, before, SECTOR) || !memcmp(rbuf, wbuf, SECTOR))
			vio_fail("sector 1 changed on a read-only disk");
		fw_printf("virtio-blk: sector 1 unchanged\n");
	} else {
		if (memcmp(rbuf, wbuf, SECTOR))
			vio_fail("sector 1 read back differs from what was written");
		fw_printf("virtio-blk: read back ok\n");
	}

	memset(idbuf, 0, sizeof(idbuf));
	check_ok(blk_request(T_GET_ID, 0, idbuf, ID_BYTES, true), "get id");
	idbuf[ID_BYTES] = 0;
	fw_printf("virtio-blk: id %s\n", idbuf);

	acpi_poweroff();
}
