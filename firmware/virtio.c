/*
 * A tiny modern virtio-pci driver (see virtio.h): finds the device through
 * conf1, walks its vendor capabilities, drives queue 0 by polling.
 */
#include "fw.h"
#include "io.h"
#include "virtio.h"

#define CONF1_ADDR		0xcf8
#define CONF1_DATA		0xcfc

const char *vio_prefix = "virtio";

__attribute__((noreturn)) void vio_fail(const char *what)
{
	fw_printf("%s: FAIL: %s\n", vio_prefix, what);
	outw(0xf4, 1);		/* exit device: kvmini status 3 */
	acpi_poweroff();	/* no exit device: power off */
}

static void conf1_select(unsigned int slot, unsigned int reg)
{
	__asm__ volatile("outl %0, %1" : : "a"(0x80000000u | slot << 11 | (reg & 0xfc)),
			 "Nd"((uint16_t)CONF1_ADDR));
}

uint32_t pci_read32(unsigned int slot, unsigned int reg)
{
	conf1_select(slot, reg);
	return inl(CONF1_DATA);
}

void pci_write32(unsigned int slot, unsigned int reg, uint32_t v)
{
	conf1_select(slot, reg);
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"((uint16_t)CONF1_DATA));
}

void pci_write16(unsigned int slot, unsigned int reg, uint16_t v)
{
	conf1_select(slot, reg);
	outw((uint16_t)(CONF1_DATA + (reg & 2)), v);
}

void pci_write8(unsigned int slot, unsigned int reg, uint8_t v)
{
	conf1_select(slot, reg);
	outb((uint16_t)(CONF1_DATA + (reg & 3)), v);
}

/* ---- discovery ---- */

unsigned int vio_find(uint32_t vendor_device, const char *missing)
{
	for (unsigned int slot = 0; slot < 32; slot++)
		if (pci_read32(slot, PCI_VENDOR_DEVICE) == vendor_device)
			return slot;
	vio_fail(missing);
}

void vio_map(struct vio *v, unsigned int slot)
{
	uint32_t lo = pci_read32(slot, PCI_BAR0), hi;
	unsigned int cap, steps = 0;
	uint16_t cmd;

	v->slot = slot;
	v->common = v->notify_base = v->isr = v->devcfg = 0;
	v->msix_cap = v->pci_cfg_cap = 0;
	if (lo & 1 || (lo & 6) != 4)
		vio_fail("BAR0 is not a 64-bit memory BAR");
	hi = pci_read32(slot, PCI_BAR0 + 4);
	v->bar = (uint64_t)hi << 32 | (lo & ~0xfu);
	if (!v->bar || v->bar >= (1ull << 32))
		vio_fail("BAR0 is unassigned or above 4 GiB (not identity-mapped)");
	cmd = (uint16_t)pci_read32(slot, PCI_COMMAND);
	pci_write16(slot, PCI_COMMAND, cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER);
	if ((pci_read32(slot, PCI_COMMAND) & (PCI_CMD_MEMORY | PCI_CMD_MASTER)) !=
	    (PCI_CMD_MEMORY | PCI_CMD_MASTER))
		vio_fail("cannot enable memory decoding and bus mastering");
	if (!(pci_read32(slot, PCI_STATUS_COMMAND) & PCI_STATUS_CAP_LIST))
		vio_fail("no capability list");

	cap = pci_read32(slot, PCI_CAP_PTR) & 0xfc;
	while (cap >= 0x40 && steps++ < 48) {
		uint32_t h = pci_read32(slot, cap);
		uint8_t type = (uint8_t)(h >> 24), bar_idx;
		uint64_t addr, *p = NULL;

		if ((h & 0xff) == PCI_CAP_ID_MSIX && !v->msix_cap)
			v->msix_cap = (uint8_t)cap;
		if ((h & 0xff) != PCI_CAP_ID_VNDR)
			goto next;
		bar_idx = (uint8_t)pci_read32(slot, cap + 4);
		addr = v->bar + pci_read32(slot, cap + 8);
		switch (type) {
		case CAP_COMMON:
			p = &v->common;
			break;
		case CAP_NOTIFY:
			p = &v->notify_base;
			break;
		case CAP_ISR:
			p = &v->isr;
			break;
		case CAP_DEVICE:
			p = &v->devcfg;
			break;
		case CAP_PCI_CFG:
			if (!v->pci_cfg_cap)
				v->pci_cfg_cap = (uint8_t)cap;
			break;
		}
		/* the first capability of each type wins; ours all live in BAR0 */
		if (p && !*p && bar_idx == 0) {
			*p = addr;
			if (type == CAP_NOTIFY)
				v->notify_mult = pci_read32(slot, cap + 16);
		}
next:
		cap = (h >> 8) & 0xfc;
	}
	if (!v->common || !v->notify_base || !v->isr || !v->devcfg)
		vio_fail("missing COMMON, NOTIFY, ISR or DEVICE capability");
}

/* ---- device init ---- */

uint8_t vio_status(const struct vio *v)
{
	return rd8(v->common + CC_STATUS);
}

void vio_set_status(const struct vio *v, uint8_t bits)
{
	wr8(v->common + CC_STATUS, (uint8_t)(vio_status(v) | bits));
}

void vio_reset(struct vio *v)
{
	unsigned int i;

	wr8(v->common + CC_STATUS, 0);
	for (i = 0; i < 1000 && vio_status(v); i++)
		cpu_relax();
	if (vio_status(v))
		vio_fail("device did not reset");
}

uint32_t vio_negotiate(struct vio *v, uint64_t want)
{
	uint32_t f1, f0;

	vio_reset(v);
	vio_set_status(v, ST_ACKNOWLEDGE);
	vio_set_status(v, ST_DRIVER);

	wr32(v->common + CC_DFSELECT, 0);
	f0 = rd32(v->common + CC_DF);
	wr32(v->common + CC_DFSELECT, 1);
	f1 = rd32(v->common + CC_DF);
	if (!(f1 & (uint32_t)(VIRTIO_F_VERSION_1 >> 32)))
		vio_fail("device does not offer VIRTIO_F_VERSION_1");
	if ((want & ~((uint64_t)f1 << 32 | f0)) != 0)
		vio_fail("device does not offer the features we need");
	wr32(v->common + CC_GFSELECT, 0);
	wr32(v->common + CC_GF, (uint32_t)want);
	wr32(v->common + CC_GFSELECT, 1);
	wr32(v->common + CC_GF, (uint32_t)(want >> 32));
	vio_set_status(v, ST_FEATURES_OK);
	if (!(vio_status(v) & ST_FEATURES_OK))
		vio_fail("FEATURES_OK did not stick");
	return f0;
}

void vio_queue_setup(struct vio *v, struct vring *ring)
{
	vio_queue_setup_vector(v, ring, NO_VECTOR);
}

void vio_queue_setup_vector(struct vio *v, struct vring *ring, uint16_t vector)
{
	uint16_t qmax, qoff;

	memset(ring, 0, sizeof(*ring));
	v->ring = ring;
	v->avail_idx = v->used_seen = 0;
	wr16(v->common + CC_Q_SELECT, 0);
	qmax = rd16(v->common + CC_Q_SIZE);
	if (qmax < QSIZE || (qmax & (qmax - 1)))
		vio_fail("queue 0 is missing or smaller than 8");
	if (rd16(v->common + CC_Q_ENABLE))
		vio_fail("queue 0 is enabled before setup");
	wr16(v->common + CC_Q_SIZE, QSIZE);
	wr16(v->common + CC_Q_MSIX, vector);
	wr64(v->common + CC_Q_DESC, (uintptr_t)ring->desc);
	wr64(v->common + CC_Q_DRIVER, (uintptr_t)&ring->avail);
	wr64(v->common + CC_Q_DEVICE, (uintptr_t)&ring->used);
	qoff = rd16(v->common + CC_Q_NOTIFY_OFF);
	v->notify = v->notify_base + (uint64_t)qoff * v->notify_mult;
	ring->avail.flags = AVAIL_F_NO_INTERRUPT;
	wr16(v->common + CC_Q_ENABLE, 1);
	if (rd16(v->common + CC_Q_ENABLE) != 1)
		vio_fail("queue 0 did not enable");
}

void vio_driver_ok(struct vio *v)
{
	vio_set_status(v, ST_DRIVER_OK);
	if ((vio_status(v) & (ST_DRIVER_OK | ST_NEEDS_RESET | ST_FAILED)) != ST_DRIVER_OK)
		vio_fail("DRIVER_OK did not stick, or the device needs a reset");
}

/* ---- requests ---- */

void vio_post(struct vio *v, uint16_t head)
{
	struct vring *r = v->ring;

	r->avail.ring[v->avail_idx % QSIZE] = head;
	mb();
	*(volatile uint16_t *)&r->avail.idx = ++v->avail_idx;
	mb();
	wr16(v->notify, 0);			/* queue index 0 */
}

int vio_wait(struct vio *v, struct vq_used_elem *e)
{
	struct vring *r = v->ring;
	unsigned int step;

	for (step = 0; step < POLL_STEPS; step++) {
		if (*(volatile uint16_t *)&r->used.idx != v->used_seen)
			break;
		if (vio_status(v) & ST_NEEDS_RESET)
			return 0;
		acpi_delay_us(POLL_STEP_US);
	}
	if (step == POLL_STEPS)
		vio_fail("no completion in the used ring (timeout)");
	mb();
	*e = r->used.ring[v->used_seen % QSIZE];
	v->used_seen++;
	return 1;
}

static struct vblk_hdr req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;

uint8_t vblk_request(struct vio *v, uint32_t type, uint64_t sector, void *buf,
		     uint32_t len, bool in)
{
	struct vring *r = v->ring;
	struct vq_used_elem e;
	unsigned int n = 0;

	req_hdr.type = type;
	req_hdr.reserved = 0;
	req_hdr.sector = sector;
	req_status = S_NONE;

	r->desc[n] = (struct vq_desc){ (uintptr_t)&req_hdr, sizeof(req_hdr), DESC_F_NEXT, 1 };
	n++;
	if (len) {
		r->desc[n] = (struct vq_desc){ (uintptr_t)buf, len,
			(uint16_t)(DESC_F_NEXT | (in ? DESC_F_WRITE : 0)), (uint16_t)(n + 1) };
		n++;
	}
	r->desc[n] = (struct vq_desc){ (uintptr_t)&req_status, 1, DESC_F_WRITE, 0 };

	vio_post(v, 0);			/* chain head */
	if (!vio_wait(v, &e))
		vio_fail("the device wants a reset");
	if (*(volatile uint16_t *)&r->used.idx != v->used_seen)
		vio_fail("more completions than requests");
	if (e.id != 0)
		vio_fail("used ring returned a chain we did not post");
	if (vio_status(v) & ST_NEEDS_RESET)
		vio_fail("the device wants a reset");
	if (e.len < 1)
		vio_fail("used length does not cover the status byte");
	(void)rd8(v->isr);	/* read-to-clear: drops INTx, which we never use */
	if (in && len && req_status == S_OK && e.len != len + 1)
		vio_fail("used length is not data + status");
	return req_status;
}

uint64_t vblk_capacity(const struct vio *v)
{
	uint8_t gen;
	uint64_t cap;
	unsigned int tries = 0;

	do {
		if (tries++ == 4)
			vio_fail("config generation keeps changing");
		gen = rd8(v->common + CC_GENERATION);
		cap = rd32(v->devcfg) | (uint64_t)rd32(v->devcfg + 4) << 32;
	} while (gen != rd8(v->common + CC_GENERATION));
	return cap;
}

const char *vblk_status_name(uint8_t s)
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
