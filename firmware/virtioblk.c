/*
 * A tiny virtio-blk driver over modern virtio-pci (1af4:1042): find the
 * device through conf1, walk its vendor capabilities, bring up queue 0
 * (size 8, polled, no interrupts), then read sector 0, write, flush and
 * read back sector 1, and ask for the serial (GET_ID).
 *
 * "vblk.mode=ro" on the command line: the disk is readonly=on, so the
 * write must fail with VIRTIO_BLK_S_IOERR and sector 1 must not change.
 *
 * Every step prints one line; any failure prints "virtio-blk: FAIL: ..."
 * and reports 1 through the exit device (kvmini status 3).
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

/* ---- PCI, configuration mechanism #1 ---- */

#define CONF1_ADDR		0xcf8
#define CONF1_DATA		0xcfc
#define PCI_VENDOR_DEVICE	0x00
#define PCI_COMMAND		0x04
#define PCI_STATUS_COMMAND	0x04
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_STATUS_CAP_LIST	(1u << (16 + 4))
#define PCI_CMD_MEMORY		0x2
#define PCI_CMD_MASTER		0x4
#define PCI_CAP_ID_VNDR		0x09

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_BLK_DEVICE	0x1042

/* virtio_pci_cap cfg_type */
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define CAP_ISR			3
#define CAP_DEVICE		4

/* Common configuration (virtio 1.x, 4.1.4.3) */
#define CC_DFSELECT		0x00
#define CC_DF			0x04
#define CC_GFSELECT		0x08
#define CC_GF			0x0c
#define CC_STATUS		0x14
#define CC_GENERATION		0x15
#define CC_Q_SELECT		0x16
#define CC_Q_SIZE		0x18
#define CC_Q_MSIX		0x1a
#define CC_Q_ENABLE		0x1c
#define CC_Q_NOTIFY_OFF		0x1e
#define CC_Q_DESC		0x20
#define CC_Q_DRIVER		0x28
#define CC_Q_DEVICE		0x30

#define ST_ACKNOWLEDGE		1
#define ST_DRIVER		2
#define ST_DRIVER_OK		4
#define ST_FEATURES_OK		8
#define ST_NEEDS_RESET		64
#define ST_FAILED		128

#define VIRTIO_F_VERSION_1_HI	(1u << 0)	/* bit 32: word 1, bit 0 */
#define VIRTIO_BLK_F_RO		(1u << 5)
#define NO_VECTOR		0xffff

/* virtio-blk requests (5.2.6) */
#define T_IN			0
#define T_OUT			1
#define T_FLUSH			4
#define T_GET_ID		8
#define S_OK			0
#define S_IOERR			1
#define S_UNSUPP		2
#define S_NONE			0xff	/* our marker: the device never wrote it */
#define SECTOR			512
#define ID_BYTES		20

/* Split virtqueue (2.7) */
#define QSIZE			8
#define DESC_F_NEXT		1
#define DESC_F_WRITE		2
#define AVAIL_F_NO_INTERRUPT	1

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[QSIZE];
	uint16_t used_event;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vq_used {
	uint16_t flags;
	uint16_t idx;
	struct vq_used_elem ring[QSIZE];
	uint16_t avail_event;
};

/* All three rings in one identity-mapped page: desc 16-, avail 2-, used 4-aligned. */
static struct {
	struct vq_desc desc[QSIZE];		/* 0x000 */
	struct vq_avail avail;			/* 0x080 */
	uint8_t pad[0x100 - 0x80 - sizeof(struct vq_avail)];
	struct vq_used used;			/* 0x100 */
} ring __attribute__((aligned(4096)));

static struct {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;
static uint8_t wbuf[SECTOR] __attribute__((aligned(512)));
static uint8_t rbuf[SECTOR] __attribute__((aligned(512)));
static uint8_t before[SECTOR];
static char idbuf[ID_BYTES + 1];

static uint64_t common, notify_addr, isr, devcfg;
static uint32_t notify_mult;
static uint16_t avail_idx, used_seen;

/* Polling budget per request: 50 us steps on the ACPI PM timer, ~5 s. */
#define POLL_STEP_US		50
#define POLL_STEPS		100000

static __attribute__((noreturn)) void fail(const char *what)
{
	fw_printf("virtio-blk: FAIL: %s\n", what);
	outw(0xf4, 1);		/* exit device: kvmini status 3 */
	acpi_poweroff();	/* no exit device: power off */
}

static uint32_t pci_read32(unsigned int dev, unsigned int reg)
{
	__asm__ volatile("outl %0, %1" : : "a"(0x80000000u | dev << 11 | (reg & 0xfc)),
			 "Nd"((uint16_t)CONF1_ADDR));
	return inl(CONF1_DATA);
}

static void pci_write16(unsigned int dev, unsigned int reg, uint16_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(0x80000000u | dev << 11 | (reg & 0xfc)),
			 "Nd"((uint16_t)CONF1_ADDR));
	outw((uint16_t)(CONF1_DATA + (reg & 2)), v);
}

static inline uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static inline uint16_t rd16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static inline uint32_t rd32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static inline void wr8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
static inline void wr16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static inline void wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }
static inline void wr64(uint64_t a, uint64_t v)
{
	wr32(a, (uint32_t)v);
	wr32(a + 4, (uint32_t)(v >> 32));
}

static inline void mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

/* ---- discovery ---- */

static unsigned int find_device(void)
{
	for (unsigned int dev = 0; dev < 32; dev++)
		if (pci_read32(dev, PCI_VENDOR_DEVICE) ==
		    ((uint32_t)VIRTIO_BLK_DEVICE << 16 | VIRTIO_VENDOR))
			return dev;
	fail("no virtio-blk (1af4:1042) on PCI bus 0");
}

static void map_device(unsigned int dev)
{
	uint32_t lo = pci_read32(dev, PCI_BAR0), hi;
	uint64_t bar;
	unsigned int cap, steps = 0;
	uint16_t cmd;

	if (lo & 1 || (lo & 6) != 4)
		fail("BAR0 is not a 64-bit memory BAR");
	hi = pci_read32(dev, PCI_BAR0 + 4);
	bar = (uint64_t)hi << 32 | (lo & ~0xfu);
	if (!bar || bar >= (1ull << 32))
		fail("BAR0 is unassigned or above 4 GiB (not identity-mapped)");
	cmd = (uint16_t)pci_read32(dev, PCI_COMMAND);
	pci_write16(dev, PCI_COMMAND, cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER);
	if ((pci_read32(dev, PCI_COMMAND) & (PCI_CMD_MEMORY | PCI_CMD_MASTER)) !=
	    (PCI_CMD_MEMORY | PCI_CMD_MASTER))
		fail("cannot enable memory decoding and bus mastering");
	if (!(pci_read32(dev, PCI_STATUS_COMMAND) & PCI_STATUS_CAP_LIST))
		fail("no capability list");

	cap = pci_read32(dev, PCI_CAP_PTR) & 0xfc;
	while (cap >= 0x40 && steps++ < 48) {
		uint32_t h = pci_read32(dev, cap);
		uint8_t type = (uint8_t)(h >> 24), bar_idx;
		uint64_t addr, *slot = NULL;

		if ((h & 0xff) != PCI_CAP_ID_VNDR)
			goto next;
		bar_idx = (uint8_t)pci_read32(dev, cap + 4);
		addr = bar + pci_read32(dev, cap + 8);
		switch (type) {
		case CAP_COMMON:
			slot = &common;
			break;
		case CAP_NOTIFY:
			slot = &notify_addr;
			break;
		case CAP_ISR:
			slot = &isr;
			break;
		case CAP_DEVICE:
			slot = &devcfg;
			break;
		}
		/* the first capability of each type wins; ours all live in BAR0 */
		if (slot && !*slot && bar_idx == 0) {
			*slot = addr;
			if (type == CAP_NOTIFY)
				notify_mult = pci_read32(dev, cap + 16);
		}
next:
		cap = (h >> 8) & 0xfc;
	}
	if (!common || !notify_addr || !isr || !devcfg)
		fail("missing COMMON, NOTIFY, ISR or DEVICE capability");
}

/* ---- device init ---- */

static uint8_t status(void)
{
	return rd8(common + CC_STATUS);
}

static void set_status(uint8_t bits)
{
	wr8(common + CC_STATUS, (uint8_t)(status() | bits));
}

static bool init_device(void)
{
	uint32_t f1, f0;
	uint16_t qmax, qoff;
	unsigned int i;

	wr8(common + CC_STATUS, 0);
	for (i = 0; i < 1000 && status(); i++)
		cpu_relax();
	if (status())
		fail("device did not reset");
	set_status(ST_ACKNOWLEDGE);
	set_status(ST_DRIVER);

	wr32(common + CC_DFSELECT, 0);
	f0 = rd32(common + CC_DF);
	wr32(common + CC_DFSELECT, 1);
	f1 = rd32(common + CC_DF);
	if (!(f1 & VIRTIO_F_VERSION_1_HI))
		fail("device does not offer VIRTIO_F_VERSION_1");
	wr32(common + CC_GFSELECT, 0);
	wr32(common + CC_GF, 0);
	wr32(common + CC_GFSELECT, 1);
	wr32(common + CC_GF, VIRTIO_F_VERSION_1_HI);
	set_status(ST_FEATURES_OK);
	if (!(status() & ST_FEATURES_OK))
		fail("FEATURES_OK did not stick");

	wr16(common + CC_Q_SELECT, 0);
	qmax = rd16(common + CC_Q_SIZE);
	if (qmax < QSIZE || (qmax & (qmax - 1)))
		fail("queue 0 is missing or smaller than 8");
	if (rd16(common + CC_Q_ENABLE))
		fail("queue 0 is enabled before setup");
	wr16(common + CC_Q_SIZE, QSIZE);
	wr16(common + CC_Q_MSIX, NO_VECTOR);
	wr64(common + CC_Q_DESC, (uintptr_t)ring.desc);
	wr64(common + CC_Q_DRIVER, (uintptr_t)&ring.avail);
	wr64(common + CC_Q_DEVICE, (uintptr_t)&ring.used);
	qoff = rd16(common + CC_Q_NOTIFY_OFF);
	notify_addr += (uint64_t)qoff * notify_mult;
	ring.avail.flags = AVAIL_F_NO_INTERRUPT;
	wr16(common + CC_Q_ENABLE, 1);
	if (rd16(common + CC_Q_ENABLE) != 1)
		fail("queue 0 did not enable");
	set_status(ST_DRIVER_OK);
	if ((status() & (ST_DRIVER_OK | ST_NEEDS_RESET | ST_FAILED)) != ST_DRIVER_OK)
		fail("DRIVER_OK did not stick, or the device needs a reset");
	return f0 & VIRTIO_BLK_F_RO;
}

static uint64_t read_capacity(void)
{
	uint8_t gen;
	uint64_t cap;
	unsigned int tries = 0;

	do {
		if (tries++ == 4)
			fail("config generation keeps changing");
		gen = rd8(common + CC_GENERATION);
		cap = rd32(devcfg) | (uint64_t)rd32(devcfg + 4) << 32;
	} while (gen != rd8(common + CC_GENERATION));
	return cap;
}

/* ---- requests ---- */

/*
 * One request: header, an optional data buffer (device-writable when
 * @in), the status byte. Waits for the used ring; returns the status.
 */
static uint8_t blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t len,
			   bool in)
{
	unsigned int n = 0, step;
	struct vq_used_elem e;

	req_hdr.type = type;
	req_hdr.reserved = 0;
	req_hdr.sector = sector;
	req_status = S_NONE;

	ring.desc[n] = (struct vq_desc){ (uintptr_t)&req_hdr, sizeof(req_hdr), DESC_F_NEXT, 1 };
	n++;
	if (len) {
		ring.desc[n] = (struct vq_desc){ (uintptr_t)buf, len,
			(uint16_t)(DESC_F_NEXT | (in ? DESC_F_WRITE : 0)), (uint16_t)(n + 1) };
		n++;
	}
	ring.desc[n] = (struct vq_desc){ (uintptr_t)&req_status, 1, DESC_F_WRITE, 0 };

	ring.avail.ring[avail_idx % QSIZE] = 0;	/* chain head */
	mb();
	*(volatile uint16_t *)&ring.avail.idx = ++avail_idx;
	mb();
	wr16(notify_addr, 0);			/* queue index 0 */

	for (step = 0; step < POLL_STEPS; step++) {
		if (*(volatile uint16_t *)&ring.used.idx != used_seen)
			break;
		acpi_delay_us(POLL_STEP_US);
	}
	if (step == POLL_STEPS)
		fail("no completion in the used ring (timeout)");
	mb();
	e = ring.used.ring[used_seen % QSIZE];
	used_seen++;
	if (*(volatile uint16_t *)&ring.used.idx != used_seen)
		fail("more completions than requests");
	if (e.id != 0)
		fail("used ring returned a chain we did not post");
	if (status() & ST_NEEDS_RESET)
		fail("the device wants a reset");
	if (e.len < 1)
		fail("used length does not cover the status byte");
	(void)rd8(isr);		/* read-to-clear: drops INTx, which we never use */
	if (in && len && req_status == S_OK && e.len != len + 1)
		fail("used length is not data + status");
	return req_status;
}

static const char *status_name(uint8_t s)
{
	switch (s) {
	case S_OK:
		return "OK";
	case S_IOERR:
		return "IOERR";
	case S_UNSUPP:
		return "UNSUPP";
	case S_NONE:
		return "not written";
	default:
		return "unknown";
	}
}

static void check_ok(uint8_t s, const char *what)
{
	if (s != S_OK) {
		fw_printf("virtio-blk: %s: status %u (%s)\n", what, s, status_name(s));
		fail(what);
	}
}

/* ---- command line ---- */

static bool cmdline_has(const uint8_t *bp, const char *word)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	size_t len = strlen(word);
	const char *p;

	if (!cmdline)
		return false;
	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, word, len) &&
		    (p[len] == ' ' || p[len] == 0))
			return true;
	return false;
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
	bool ro_dev;
	char text[17];
	uint8_t s;

	acpi_init(bp);
	map_device(find_device());
	ro_dev = init_device();
	if (ro_dev != ro_mode)
		fail(ro_mode ? "vblk.mode=ro but the device does not offer VIRTIO_BLK_F_RO" :
			       "the device is read-only (VIRTIO_BLK_F_RO)");

	fw_printf("virtio-blk: capacity %llu sectors\n",
		  (unsigned long long)read_capacity());

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
				  s, status_name(s));
			fail("write to a read-only disk did not fail with IOERR");
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
			fail("sector 1 changed on a read-only disk");
		fw_printf("virtio-blk: sector 1 unchanged\n");
	} else {
		if (memcmp(rbuf, wbuf, SECTOR))
			fail("sector 1 read back differs from what was written");
		fw_printf("virtio-blk: read back ok\n");
	}

	memset(idbuf, 0, sizeof(idbuf));
	check_ok(blk_request(T_GET_ID, 0, idbuf, ID_BYTES, true), "get id");
	idbuf[ID_BYTES] = 0;
	fw_printf("virtio-blk: id %s\n", idbuf);

	acpi_poweroff();
}
