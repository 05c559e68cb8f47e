/*
 * A tiny modern virtio-pci driver for the firmware test guests: PCI conf1
 * access, capability discovery, feature negotiation, one polled split
 * queue, and virtio-blk requests. Shared by virtioblk.c and hostile.c.
 */
#ifndef FW_VIRTIO_H
#define FW_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

/* ---- PCI, configuration mechanism #1 ---- */

#define PCI_VENDOR_DEVICE	0x00
#define PCI_COMMAND		0x04
#define PCI_STATUS_COMMAND	0x04
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_STATUS_CAP_LIST	(1u << (16 + 4))
#define PCI_CMD_MEMORY		0x2
#define PCI_CMD_MASTER		0x4
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_BLK_DEVICE	0x1042

/* virtio_pci_cap cfg_type */
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define CAP_ISR			3
#define CAP_DEVICE		4
#define CAP_PCI_CFG		5

/* Common configuration (virtio 1.x, 4.1.4.3) */
#define CC_DFSELECT		0x00
#define CC_DF			0x04
#define CC_GFSELECT		0x08
#define CC_GF			0x0c
#define CC_MSIX_CONFIG		0x10
#define CC_NUM_QUEUES		0x12
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
#define CC_SIZE			0x38

#define ST_ACKNOWLEDGE		1
#define ST_DRIVER		2
#define ST_DRIVER_OK		4
#define ST_FEATURES_OK		8
#define ST_NEEDS_RESET		64
#define ST_FAILED		128

#define VIRTIO_F_INDIRECT_DESC	(1ull << 28)
#define VIRTIO_F_EVENT_IDX	(1ull << 29)
#define VIRTIO_F_VERSION_1	(1ull << 32)
#define VIRTIO_BLK_F_RO		(1u << 5)
#define VIRTIO_BLK_F_DISCARD	(1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES	(1ull << 14)
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
#define DESC_F_INDIRECT		4
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

/* All three rings in one page: desc 16-, avail 2-, used 4-aligned. */
struct vring {
	struct vq_desc desc[QSIZE];		/* 0x000 */
	struct vq_avail avail;			/* 0x080 */
	uint8_t pad[0x100 - 0x80 - sizeof(struct vq_avail)];
	struct vq_used used;			/* 0x100 */
} __attribute__((aligned(4096)));

/* The device as the driver found it, and queue 0's driver-side state. */
struct vio {
	unsigned int slot;		/* PCI device number on bus 0 */
	uint64_t bar;			/* BAR0 guest address */
	uint64_t common, notify_base, notify, isr, devcfg;
	uint32_t notify_mult;
	uint8_t msix_cap, pci_cfg_cap;	/* config offsets, 0 if absent */
	struct vring *ring;
	uint16_t avail_idx, used_seen;
};

/* The failure prefix ("virtio-blk"): fail() prints "<prefix>: FAIL: what". */
extern const char *vio_prefix;
/* Print the failure, report 1 through the exit device (status 3), power off. */
__attribute__((noreturn)) void vio_fail(const char *what);

uint32_t pci_read32(unsigned int slot, unsigned int reg);
void pci_write32(unsigned int slot, unsigned int reg, uint32_t v);
void pci_write16(unsigned int slot, unsigned int reg, uint16_t v);
void pci_write8(unsigned int slot, unsigned int reg, uint8_t v);

static inline uint8_t rd8(uint64_t a) { return *(volatile uint8_t *)(uintptr_t)a; }
static inline uint16_t rd16(uint64_t a) { return *(volatile uint16_t *)(uintptr_t)a; }
static inline uint32_t rd32(uint64_t a) { return *(volatile uint32_t *)(uintptr_t)a; }
static inline uint64_t rd64(uint64_t a) { return *(volatile uint64_t *)(uintptr_t)a; }
static inline void wr8(uint64_t a, uint8_t v) { *(volatile uint8_t *)(uintptr_t)a = v; }
static inline void wr16(uint64_t a, uint16_t v) { *(volatile uint16_t *)(uintptr_t)a = v; }
static inline void wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)(uintptr_t)a = v; }
/* One 8-byte access (hostile tests), not two halves as wr64(). */
static inline void wr64_once(uint64_t a, uint64_t v) { *(volatile uint64_t *)(uintptr_t)a = v; }
static inline void wr64(uint64_t a, uint64_t v)
{
	wr32(a, (uint32_t)v);
	wr32(a + 4, (uint32_t)(v >> 32));
}

static inline void mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

/* The first PCI device with @vendor_device (device << 16 | vendor); fails if none. */
unsigned int vio_find(uint32_t vendor_device, const char *missing);
/* Enable decoding and bus mastering, find the capabilities in BAR0. */
void vio_map(struct vio *v, unsigned int slot);

uint8_t vio_status(const struct vio *v);
void vio_set_status(const struct vio *v, uint8_t bits);
/* Write 0 to status and wait until it reads 0; fails if it does not. */
void vio_reset(struct vio *v);
/*
 * Reset, ACKNOWLEDGE, DRIVER, offer @want (VERSION_1 needed), FEATURES_OK.
 * Returns the device's feature word 0.
 */
uint32_t vio_negotiate(struct vio *v, uint64_t want);
/* Queue 0: size QSIZE on @ring (zeroed here), no MSI-X vector, enabled. */
void vio_queue_setup(struct vio *v, struct vring *ring);
/* The same with MSI-X @vector for the queue. */
void vio_queue_setup_vector(struct vio *v, struct vring *ring, uint16_t vector);
/* Set DRIVER_OK; fails unless it sticks without NEEDS_RESET or FAILED. */
void vio_driver_ok(struct vio *v);

/* Make chain @head available and kick queue 0. */
void vio_post(struct vio *v, uint16_t head);
/*
 * Wait for the next used entry: 1 and *e filled; 0 if the device set
 * NEEDS_RESET instead; fails after about 5 s of neither.
 */
int vio_wait(struct vio *v, struct vq_used_elem *e);

/*
 * One virtio-blk request on queue 0 with descriptors 0-2: header, an
 * optional data buffer (device-writable when @in), the status byte.
 * Fails on anything a correct device would not do; returns the status.
 */
uint8_t vblk_request(struct vio *v, uint32_t type, uint64_t sector, void *buf,
		     uint32_t len, bool in);
/* The 8-byte capacity, read under the config generation. */
uint64_t vblk_capacity(const struct vio *v);
const char *vblk_status_name(uint8_t s);

/* The request header and status byte vblk_request() uses. */
struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Polling budget per request: 50 us steps on the ACPI PM timer, ~5 s. */
#define POLL_STEP_US		50
#define POLL_STEPS		100000

#endif
