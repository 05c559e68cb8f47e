/*
 * virtio 1.x over PCI (spec 4.1), modern interface only: one 64-bit memory
 * BAR holds the common, ISR, device and notify regions and the MSI-X
 * table. Kicks go to per-queue eventfds through KVM ioeventfds; interrupts
 * leave through MSI-X irqfds, or INTx with the ISR when MSI-X is off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "irq.h"
#include "le.h"
#include "log.h"
#include "pci.h"
#include "transport.h"
#include "vm.h"

#define VIRTIO_PCI_VENDOR_ID	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + virtio device ID */
#define VIRTIO_PCI_REVISION	1	/* non-transitional */

/* Capability cfg_type values */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

/* virtio_pci_cap layout */
#define CAP_LEN		2
#define CAP_CFG_TYPE	3
#define CAP_BAR		4
#define CAP_OFFSET	8
#define CAP_LENGTH	12
#define CAP_SIZE	16
#define CAP_NOTIFY_MULT	16	/* notify cap: + le32 notify_off_multiplier */
#define CAP_CFG_DATA	16	/* pci cfg cap: + u8 pci_cfg_data[4] */
#define CAP_EXT_SIZE	20

/* The BAR: one page per region */
#define VPCI_BAR		0	/* 64-bit, so BAR1 is its upper half */
#define VPCI_COMMON_OFF		0x0000
#define VPCI_ISR_OFF		0x1000
#define VPCI_DEVICE_OFF		0x2000
#define VPCI_NOTIFY_OFF		0x3000
#define VPCI_MSIX_TABLE_OFF	0x4000
#define VPCI_MSIX_PBA_OFF	0x5000
#define VPCI_REGION_SIZE	0x1000
#define VPCI_BAR_SIZE		0x8000
#define VPCI_NOTIFY_MULT	4	/* each queue has its own doorbell */
#define VPCI_MAX_QUEUES		(VPCI_REGION_SIZE / VPCI_NOTIFY_MULT)
#define VPCI_MAX_VECTORS	(VPCI_REGION_SIZE / PCI_MSIX_ENTRY_SIZE)
#define VPCI_NOTIFY_LEN		2	/* the driver writes the le16 queue index */

/* Common configuration (4.1.4.3) */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX_CONFIG	0x10
#define CC_NUM_QUEUES	0x12
#define CC_STATUS	0x14
#define CC_GENERATION	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOTIFY_OFF	0x1e
#define CC_Q_DESC	0x20
#define CC_Q_DRIVER	0x28
#define CC_Q_DEVICE	0x30
#define CC_SIZE		0x38

#define ISR_QUEUE	0x1
#define ISR_CONFIG	0x2

struct virtio_pci {
	struct virtio_dev *d;
	struct pci_device pci;
	/* common configuration; taken before the PCI device lock, never after */
	pthread_mutex_t lock;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t msix_config;
	/* ISR and the INTx line change together */
	pthread_mutex_t isr_lock;
	uint8_t isr;
	uint8_t pci_cfg_cap;	/* offset of the VIRTIO_PCI_CAP_PCI_CFG window */
	uint64_t notify_base;	/* guest address of the notify region */
};

/* ---- interrupts ---- */

static void raise_isr(struct virtio_pci *vp, uint8_t bit)
{
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= bit;
	pci_set_irq(&vp->pci, true);
	pthread_mutex_unlock(&vp->isr_lock);
}

static uint8_t read_isr(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->isr_lock);
	v = vp->isr;
	vp->isr = 0;
	pci_set_irq(&vp->pci, false);
	pthread_mutex_unlock(&vp->isr_lock);
	return v;
}

static void send_vector(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (pci_msix_enabled(&vp->pci)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&vp->pci, vector);
		return;
	}
	raise_isr(vp, isr_bit);
}

static void vpci_raise_queue(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = d->transport_priv;

	if (q >= d->num_queues)
		return;
	send_vector(vp, __atomic_load_n(&d->vqs[q].msix_vector, __ATOMIC_RELAXED),
		    ISR_QUEUE);
}

/*
 * The irqfd of the queue's MSI-X vector: writes reach the guest without
 * kvmini. Only while MSI-X is on; INTx needs the ISR, so kvmini.
 */
static int vpci_queue_call_fd(struct virtio_dev *d, unsigned int q)
{
	struct virtio_pci *vp = d->transport_priv;
	uint16_t vector;

	if (q >= d->num_queues || !pci_msix_enabled(&vp->pci))
		return -1;
	vector = __atomic_load_n(&d->vqs[q].msix_vector, __ATOMIC_RELAXED);
	if (vector == VIRTIO_MSI_NO_VECTOR)
		return -1;
	return pci_msix_vector_fd(&vp->pci, vector);
}

static void vpci_raise_config(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_priv;

	send_vector(vp, __atomic_load_n(&vp->msix_config, __ATOMIC_RELAXED), ISR_CONFIG);
}

static const struct virtio_transport_ops vpci_transport = {
	.notify_queue = virtio_transport_notify_queue,
	.notify_config = virtio_transport_notify_config,
	.raise_queue = vpci_raise_queue,
	.raise_config = vpci_raise_config,
	.queue_call_fd = vpci_queue_call_fd,
	.remove = virtio_pci_remove,
};

/* ---- common configuration ---- */

static struct virtq *selected_vq(struct virtio_pci *vp)
{
	return vp->queue_select < vp->d->num_queues ? &vp->d->vqs[vp->queue_select] : NULL;
}

static uint32_t feature_word(uint64_t features, uint32_t select)
{
	return select < 2 ? (uint32_t)(features >> (32 * select)) : 0;
}

/* The register file as the driver sees it now (lock held). */
static void common_snapshot(struct virtio_pci *vp, uint8_t *b)
{
	struct virtio_dev *d = vp->d;
	struct virtq *vq = selected_vq(vp);

	memset(b, 0, CC_SIZE);
	put_le(b + CC_DFSELECT, vp->dfselect, 4);
	put_le(b + CC_DF, feature_word(d->host_features, vp->dfselect), 4);
	put_le(b + CC_GFSELECT, vp->gfselect, 4);
	put_le(b + CC_GF, feature_word(d->driver_features, vp->gfselect), 4);
	put_le(b + CC_MSIX_CONFIG, vp->msix_config, 2);
	put_le(b + CC_NUM_QUEUES, d->num_queues, 2);
	b[CC_STATUS] = __atomic_load_n(&d->status, __ATOMIC_SEQ_CST);
	b[CC_GENERATION] = __atomic_load_n(&d->config_generation, __ATOMIC_SEQ_CST);
	put_le(b + CC_Q_SELECT, vp->queue_select, 2);
	if (!vq)
		return;		/* queue_size 0: no such queue */
	put_le(b + CC_Q_SIZE, vq->size, 2);
	put_le(b + CC_Q_MSIX, vq->msix_vector, 2);
	put_le(b + CC_Q_ENABLE, vq->ready, 2);
	put_le(b + CC_Q_NOTIFY_OFF, vp->queue_select, 2);
	put_le(b + CC_Q_DESC, vq->desc_gpa, 8);
	put_le(b + CC_Q_DRIVER, vq->avail_gpa, 8);
	put_le(b + CC_Q_DEVICE, vq->used_gpa, 8);
}

/* The registers of a reset device (virtio_transport_write_status). */
static void reset_regs(void *priv)
{
	struct virtio_pci *vp = priv;

	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	__atomic_store_n(&vp->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	read_isr(vp);		/* clears the ISR and lowers INTx */
}

static uint16_t valid_vector(struct virtio_pci *vp, uint16_t v)
{
	return v < vp->pci.msix_vectors ? v : VIRTIO_MSI_NO_VECTOR;
}

/* Apply a driver write to the field at @field (lock held). */
static void common_apply(struct virtio_pci *vp, unsigned int field, uint64_t val)
{
	struct virtio_dev *d = vp->d;
	struct virtq *vq = selected_vq(vp);
	bool features_locked = __atomic_load_n(&d->status, __ATOMIC_SEQ_CST) &
			       VIRTIO_STATUS_FEATURES_OK;

	switch (field) {
	case CC_DFSELECT:
		vp->dfselect = (uint32_t)val;
		return;
	case CC_GFSELECT:
		vp->gfselect = (uint32_t)val;
		return;
	case CC_GF:
		if (features_locked || vp->gfselect >= 2)
			return;
		d->driver_features &= ~(0xffffffffull << (32 * vp->gfselect));
		d->driver_features |= val << (32 * vp->gfselect);
		return;
	case CC_MSIX_CONFIG:
		__atomic_store_n(&vp->msix_config, valid_vector(vp, (uint16_t)val),
				 __ATOMIC_RELAXED);
		return;
	case CC_STATUS:
		virtio_transport_write_status(d, (uint8_t)val, reset_regs, vp);
		return;
	case CC_Q_SELECT:
		vp->queue_select = (uint16_t)val;
		return;
	}
	/* queue fields: only for an existing queue the driver has not enabled */
	if (!vq || vq->ready)
		return;
	switch (field) {
	case CC_Q_SIZE:
		vq->size = (uint16_t)val;
		break;
	case CC_Q_MSIX:
		__atomic_store_n(&vq->msix_vector, valid_vector(vp, (uint16_t)val),
				 __ATOMIC_RELAXED);
		break;
	case CC_Q_ENABLE:
		if (val == 1)
			virtio_enable_queue(d, vp->queue_select);
		break;
	case CC_Q_DESC:
		vq->desc_gpa = val;
		break;
	case CC_Q_DRIVER:
		vq->avail_gpa = val;
		break;
	case CC_Q_DEVICE:
		vq->used_gpa = val;
		break;
	}
}

static const struct {
	uint8_t off, len;
} common_fields[] = {
	{ CC_DFSELECT, 4 }, { CC_GFSELECT, 4 }, { CC_GF, 4 }, { CC_MSIX_CONFIG, 2 },
	{ CC_STATUS, 1 }, { CC_Q_SELECT, 2 }, { CC_Q_SIZE, 2 }, { CC_Q_MSIX, 2 },
	{ CC_Q_ENABLE, 2 }, { CC_Q_DESC, 8 }, { CC_Q_DRIVER, 8 }, { CC_Q_DEVICE, 8 },
};

static void common_access(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	uint8_t b[CC_SIZE];

	if (off >= CC_SIZE || len > CC_SIZE - off)
		return;
	pthread_mutex_lock(&vp->lock);
	common_snapshot(vp, b);
	if (!is_write) {
		memcpy(data, b + off, len);
		goto out;
	}
	/* Merge, then apply every writable field the access touched. */
	memcpy(b + off, data, len);
	for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
		unsigned int f = common_fields[i].off, n = common_fields[i].len;

		if (off < f + n && f < off + len)
			common_apply(vp, f, get_le(b + f, n));
	}
out:
	pthread_mutex_unlock(&vp->lock);
}

/* ---- the BAR ---- */

static void notify_write(struct virtio_pci *vp, uint64_t off)
{
	if (off % VPCI_NOTIFY_MULT == 0)
		virtio_transport_kick(vp->d, off / VPCI_NOTIFY_MULT);
}

static void bar_access(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct virtio_dev *d = vp->d;
	uint64_t region = off & ~(uint64_t)(VPCI_REGION_SIZE - 1);
	uint64_t roff = off - region;

	switch (region) {
	case VPCI_COMMON_OFF:
		common_access(vp, roff, data, len, is_write);
		break;
	case VPCI_ISR_OFF:
		if (!is_write && roff == 0)
			data[0] = read_isr(vp);
		break;
	case VPCI_DEVICE_OFF:
		virtio_transport_config_access(d, roff, data, len, is_write);
		break;
	case VPCI_NOTIFY_OFF:
		if (is_write)
			notify_write(vp, roff);
		break;
	}
}

static void vpci_bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	bar_access(opaque, off, data, len, false);
}

static void vpci_bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	bar_access(opaque, off, (uint8_t *)data, len, true);
}

static const struct bus_ops vpci_bar_ops = { .read = vpci_bar_read, .write = vpci_bar_write };

/* A write to the queue's own doorbell in the notify region signals its kick eventfd. */
static int wire_kick(struct virtio_dev *d, unsigned int q, int fd, bool assign)
{
	struct virtio_pci *vp = d->transport_priv;
	uint64_t a = vp->notify_base + (uint64_t)q * VPCI_NOTIFY_MULT;

	return vm_ioeventfd(d->vm, fd, a, VPCI_NOTIFY_LEN, false, assign);
}

/* The BAR moved or stopped decoding: move the doorbells' ioeventfds with it. */
static void vpci_bar_mapped(struct pci_device *pd, unsigned int bar, uint64_t addr,
			    bool mapped)
{
	struct virtio_pci *vp = pd->priv;

	if (bar != VPCI_BAR)
		return;
	if (mapped)
		vp->notify_base = addr + VPCI_NOTIFY_OFF;
	virtio_transport_wire_kicks(vp->d, mapped, wire_kick);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window onto the BAR through config space. */
static bool cfg_window(struct virtio_pci *vp, uint32_t off, uint32_t len,
		       unsigned int *bar, uint64_t *boff, uint32_t *blen)
{
	const uint8_t *cap = vp->pci.cfg + vp->pci_cfg_cap;
	unsigned int data = vp->pci_cfg_cap + CAP_CFG_DATA;

	if (!(off < data + 4 && data < off + len))
		return false;
	*bar = cap[CAP_BAR];
	*boff = get_le(cap + CAP_OFFSET, 4);
	*blen = (uint32_t)get_le(cap + CAP_LENGTH, 4);
	/* the spec allows 1, 2 or 4 bytes, naturally aligned */
	return (*blen == 1 || *blen == 2 || *blen == 4) && *boff % *blen == 0;
}

static void vpci_cap_read(struct pci_device *pd, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pd->priv;
	uint8_t buf[4] = { 0 };
	unsigned int bar;
	uint64_t boff;
	uint32_t blen;

	if (!cfg_window(vp, off, len, &bar, &boff, &blen))
		return;
	pci_bar_access(pd, bar, boff, buf, blen, false);
	memcpy(pd->cfg + vp->pci_cfg_cap + CAP_CFG_DATA, buf, sizeof(buf));
}

static void vpci_cap_write(struct pci_device *pd, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pd->priv;
	uint8_t buf[4];
	unsigned int bar;
	uint64_t boff;
	uint32_t blen;

	if (!cfg_window(vp, off, len, &bar, &boff, &blen))
		return;
	memcpy(buf, pd->cfg + vp->pci_cfg_cap + CAP_CFG_DATA, sizeof(buf));
	pci_bar_access(pd, bar, boff, buf, blen, true);
}

/* ---- setup ---- */

static int add_vendor_cap(struct pci_device *pd, uint8_t type, uint32_t off,
			  uint32_t len, uint8_t extra_len)
{
	uint8_t cap[CAP_EXT_SIZE] = { PCI_CAP_ID_VNDR };

	cap[CAP_LEN] = (uint8_t)(CAP_SIZE + extra_len);
	cap[CAP_CFG_TYPE] = type;
	cap[CAP_BAR] = VPCI_BAR;
	put_le(cap + CAP_OFFSET, off, 4);
	put_le(cap + CAP_LENGTH, len, 4);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put_le(cap + CAP_NOTIFY_MULT, VPCI_NOTIFY_MULT, 4);
	return pci_add_cap(pd, cap, cap[CAP_LEN]);
}

static uint32_t class_of(uint32_t device_id)
{
	switch (device_id) {
	case 1:
		return 0x020000;	/* network controller */
	case 2:
		return 0x018000;	/* mass storage, other */
	default:
		return 0xff0000;	/* unassigned class */
	}
}

static int add_caps(struct virtio_pci *vp)
{
	struct pci_device *pd = &vp->pci;
	struct virtio_dev *d = vp->d;
	int off;

	if (add_vendor_cap(pd, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, CC_SIZE, 0) < 0 ||
	    add_vendor_cap(pd, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
			   d->num_queues * VPCI_NOTIFY_MULT, 4) < 0 ||
	    add_vendor_cap(pd, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, 0) < 0)
		return -ENOSPC;
	if (d->config_size &&
	    add_vendor_cap(pd, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF,
			   (uint32_t)d->config_size, 0) < 0)
		return -ENOSPC;
	off = add_vendor_cap(pd, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4);
	if (off < 0)
		return off;
	vp->pci_cfg_cap = (uint8_t)off;
	/* bar, offset, length and data are the driver's to write */
	pd->wmask[off + CAP_BAR] = 0xff;
	memset(pd->wmask + off + CAP_OFFSET, 0xff, 4 + 4 + 4);
	return 0;
}

static void vpci_free(struct virtio_pci *vp)
{
	virtio_transport_detach(vp->d);
	pthread_mutex_destroy(&vp->isr_lock);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

int virtio_pci_add(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_pci *vp;
	struct pci_device *pd;
	int ret;

	ret = virtio_transport_check(d, VPCI_MAX_QUEUES, VPCI_REGION_SIZE);
	if (ret)
		return ret;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->d = d;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->isr_lock, NULL);
	ret = virtio_transport_attach(d, vm, &vpci_transport, vp);
	if (ret)
		goto err;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;

	pd = &vp->pci;
	pd->name = d->name;
	pd->vendor_id = VIRTIO_PCI_VENDOR_ID;
	pd->device_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->device_id);
	pd->subsys_vendor_id = VIRTIO_PCI_VENDOR_ID;
	pd->subsys_id = pd->device_id;	/* >= 0x40, as 4.1.2.1 asks */
	pd->revision = VIRTIO_PCI_REVISION;
	pd->class_code = class_of(d->device_id);
	pd->intx = true;
	pd->bars[VPCI_BAR] = (struct pci_bar){
		.size = VPCI_BAR_SIZE,
		.mem64 = true,
		.ops = &vpci_bar_ops,
		.opaque = vp,
	};
	pd->msix_vectors = d->num_queues + 1 < VPCI_MAX_VECTORS ?
			   d->num_queues + 1 : VPCI_MAX_VECTORS;
	pd->msix_bar = VPCI_BAR;
	pd->msix_table_off = VPCI_MSIX_TABLE_OFF;
	pd->msix_pba_off = VPCI_MSIX_PBA_OFF;
	pd->bar_mapped = vpci_bar_mapped;
	pd->cap_read = vpci_cap_read;
	pd->cap_write = vpci_cap_write;
	pd->priv = vp;
	ret = add_caps(vp);
	if (ret)
		goto err;
	ret = pci_register_device(vm, pd);
	if (ret)
		goto err_quiet;		/* it said why */
	return 0;
err:
	kv_err("%s: cannot attach to PCI: %s", d->name, strerror(-ret));
err_quiet:
	vpci_free(vp);
	return ret;
}

void virtio_pci_remove(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_priv;

	if (!vp)
		return;
	pci_unregister_device(&vp->pci);
	vpci_free(vp);
}

static void __attribute__((constructor)) register_vpci(void)
{
	virtio_transport_register(TRANSPORT_PCI, virtio_pci_add);
}
