/*
 * virtio 1.x over MMIO (spec 4.2), version 2 registers only: one 4 KiB
 * window and one ISA IRQ per device, announced to Linux on the kernel
 * command line (virtio_mmio.device=, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
 * Kicks reach the per-queue eventfds through KVM ioeventfds that match the
 * queue index; interrupts are edge pulses through an irqfd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "inventory.h"
#include "irq.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "virtio.h"
#include "vm.h"

#define MMIO_MAGIC		0x74726976	/* "virt" */
#define MMIO_VERSION		2		/* virtio 1.x; 1 is the legacy layout */
#define MMIO_VENDOR_ID		0x494d564b	/* "KVMI": drivers only compare it */

/* Registers (4.2.2): 32-bit, little-endian */
#define REG_MAGIC		0x000
#define REG_VERSION		0x004
#define REG_DEVICE_ID		0x008
#define REG_VENDOR_ID		0x00c
#define REG_DEVICE_FEATURES	0x010
#define REG_DEVICE_FEATURES_SEL	0x014
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL	0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DRIVER_HIGH	0x094
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_QUEUE_DEVICE_HIGH	0x0a4
#define REG_SHM_LEN_LOW		0x0b0	/* shared memory regions: none */
#define REG_SHM_BASE_HIGH	0x0bc
#define REG_CONFIG_GENERATION	0x0fc
#define REG_CONFIG		0x100

#define INT_VRING		0x1
#define INT_CONFIG		0x2

static const unsigned int mmio_irqs[] = VIRTIO_MMIO_IRQS;

struct virtio_mmio {
	struct virtio_dev *d;
	uint64_t base;
	unsigned int irq;
	int irq_fd;		/* eventfd wired to irq by an irqfd, or -1 */
	/* registers the driver writes, and the queues' configuration */
	pthread_mutex_t lock;
	uint32_t dfsel, gfsel, queue_sel;
	bool started;		/* activated since the last reset */
	uint32_t isr;		/* InterruptStatus, atomic: device threads set bits */
	bool *kick_wired;	/* per queue: ioeventfd assigned */
};

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- interrupts ---- */

static void raise_irq(struct virtio_mmio *mm, uint32_t bit)
{
	__atomic_fetch_or(&mm->isr, bit, __ATOMIC_SEQ_CST);
	/* an irqfd pulses the line: Linux has the ISA IRQs edge-triggered */
	if (mm->irq_fd >= 0)
		eventfd_write(mm->irq_fd, 1);
}

static void vmmio_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (q < d->num_queues && virtq_should_notify(&d->vqs[q]))
		raise_irq(d->transport_priv, INT_VRING);
}

static void vmmio_raise_queue(struct virtio_dev *d, unsigned int q)
{
	if (q < d->num_queues)
		raise_irq(d->transport_priv, INT_VRING);
}

/* The interrupt status register needs kvmini: no direct call fd. */
static int vmmio_queue_call_fd(struct virtio_dev *d, unsigned int q)
{
	(void)d;
	(void)q;
	return -1;
}

static void vmmio_notify_config(struct virtio_dev *d)
{
	__atomic_add_fetch(&d->config_generation, 1, __ATOMIC_SEQ_CST);
	raise_irq(d->transport_priv, INT_CONFIG);
}

static void vmmio_describe(struct virtio_dev *d, struct inventory_entry *e);

static const struct virtio_transport_ops vmmio_transport = {
	.notify_queue = vmmio_notify_queue,
	.notify_config = vmmio_notify_config,
	.raise_queue = vmmio_raise_queue,
	.queue_call_fd = vmmio_queue_call_fd,
	.remove = virtio_mmio_remove,
	.describe = vmmio_describe,
};

/* ---- registers ---- */

static struct virtq *selected_vq(struct virtio_mmio *mm)
{
	return mm->queue_sel < mm->d->num_queues ? &mm->d->vqs[mm->queue_sel] : NULL;
}

static void device_reset(struct virtio_mmio *mm)
{
	struct virtio_dev *d = mm->d;

	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int q = 0; q < d->num_queues; q++)
		virtio_queue_clear(d, &d->vqs[q]);
	d->driver_features = 0;
	mm->dfsel = mm->gfsel = mm->queue_sel = 0;
	mm->started = false;
	__atomic_store_n(&mm->isr, 0, __ATOMIC_SEQ_CST);
	virtio_reset_status(d);
}

static void write_status(struct virtio_mmio *mm, uint8_t val)
{
	if (val == 0) {
		device_reset(mm);
		return;
	}
	virtio_write_status(mm->d, val);
	if (__atomic_load_n(&mm->d->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK)
		mm->started = true;
}

/*
 * Linux writes 0 to QueueReady when it deletes a queue, after a reset.
 * Once the device runs, its I/O thread may be in the ring: a queue then
 * stays until the reset, so its addresses cannot change under that thread.
 */
static void write_queue_ready(struct virtio_mmio *mm, struct virtq *vq, uint32_t val)
{
	if (val == 1)
		virtio_enable_queue(mm->d, mm->queue_sel);
	else if (val == 0 && !mm->started)
		vq->ready = false;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffull) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffull) | val;
}

/* Lock held. */
static uint32_t reg_read(struct virtio_mmio *mm, uint64_t off)
{
	struct virtio_dev *d = mm->d;
	struct virtq *vq = selected_vq(mm);

	switch (off) {
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return d->device_id;
	case REG_VENDOR_ID:
		return MMIO_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		return mm->dfsel < 2 ? (uint32_t)(d->host_features >> (32 * mm->dfsel)) : 0;
	case REG_QUEUE_NUM_MAX:
		return vq ? d->queue_max_size : 0;	/* 0: no such queue */
	case REG_QUEUE_READY:
		return vq && vq->ready;
	case REG_INTERRUPT_STATUS:
		return __atomic_load_n(&mm->isr, __ATOMIC_SEQ_CST);
	case REG_STATUS:
		return __atomic_load_n(&d->status, __ATOMIC_SEQ_CST);
	case REG_CONFIG_GENERATION:
		return __atomic_load_n(&d->config_generation, __ATOMIC_SEQ_CST);
	}
	if (off >= REG_SHM_LEN_LOW && off <= REG_SHM_BASE_HIGH)
		return 0xffffffff;	/* length -1: no such region */
	return 0;			/* write-only or reserved */
}

/* Lock held. */
static void reg_write(struct virtio_mmio *mm, uint64_t off, uint32_t val)
{
	struct virtio_dev *d = mm->d;
	struct virtq *vq = selected_vq(mm);

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		mm->dfsel = val;
		return;
	case REG_DRIVER_FEATURES_SEL:
		mm->gfsel = val;
		return;
	case REG_DRIVER_FEATURES:
		if ((__atomic_load_n(&d->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_FEATURES_OK) ||
		    mm->gfsel >= 2)
			return;		/* frozen once accepted */
		set_half(&d->driver_features, mm->gfsel == 1, val);
		return;
	case REG_QUEUE_SEL:
		mm->queue_sel = val;
		return;
	case REG_INTERRUPT_ACK:
		__atomic_fetch_and(&mm->isr, ~val, __ATOMIC_SEQ_CST);
		return;
	case REG_STATUS:
		write_status(mm, (uint8_t)val);
		return;
	case REG_QUEUE_READY:
		if (vq)
			write_queue_ready(mm, vq, val);
		return;
	}
	/* queue fields: only for an existing queue the driver has not enabled */
	if (!vq || vq->ready)
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		vq->size = val <= UINT16_MAX ? (uint16_t)val : 0;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&vq->desc_gpa, off == REG_QUEUE_DESC_HIGH, val);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&vq->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, val);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_half(&vq->used_gpa, off == REG_QUEUE_DEVICE_HIGH, val);
		break;
	}
}

/* Reached only when no ioeventfd caught the write: same path anyway. */
static void queue_notify(struct virtio_mmio *mm, uint32_t q)
{
	struct virtio_dev *d = mm->d;

	if (q >= d->num_queues)
		return;
	if (d->kick_fds[q] >= 0)
		eventfd_write(d->kick_fds[q], 1);
	else if (d->ops->queue_notify)
		d->ops->queue_notify(d, q);
}

static void mmio_access(struct virtio_mmio *mm, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_dev *d = mm->d;

	if (off >= REG_CONFIG) {
		off -= REG_CONFIG;
		if (off >= d->config_size || len > d->config_size - off)
			return;
		if (is_write && d->ops->config_write)
			d->ops->config_write(d, off, data, len);
		else if (!is_write && d->ops->config_read)
			d->ops->config_read(d, off, data, len);
		return;
	}
	/* drivers must use aligned 32-bit accesses for registers (4.2.2.2) */
	if (len != 4 || off % 4)
		return;
	if (is_write && off == REG_QUEUE_NOTIFY) {
		queue_notify(mm, get_le32(data));
		return;
	}
	pthread_mutex_lock(&mm->lock);
	if (is_write)
		reg_write(mm, off, get_le32(data));
	else
		put_le32(data, reg_read(mm, off));
	pthread_mutex_unlock(&mm->lock);
}

static void vmmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	mmio_access(opaque, off, data, len, false);
}

static void vmmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	mmio_access(opaque, off, (uint8_t *)data, len, true);
}

static const struct bus_ops vmmio_ops = { .read = vmmio_read, .write = vmmio_write };

/* ---- setup ---- */

static void vmmio_free(struct virtio_mmio *mm)
{
	struct virtio_dev *d = mm->d;

	virtio_queues_free(d);
	if (mm->irq_fd >= 0)
		close(mm->irq_fd);
	free(mm->kick_wired);
	pthread_mutex_destroy(&mm->lock);
	d->transport_priv = NULL;
	d->transport = NULL;
	free(mm);
}

/* The first free window on the MMIO bus; its index picks the IRQ. */
static int claim_slot(struct vm *vm, struct virtio_mmio *mm)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(mmio_irqs); i++) {
		uint64_t base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
		int ret = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, &vmmio_ops, mm);

		if (ret == -EEXIST)
			continue;
		if (ret)
			return ret;
		mm->base = base;
		mm->irq = mmio_irqs[i];
		return 0;
	}
	return -ENOSPC;
}

static void wire_kicks(struct virtio_mmio *mm, bool assign)
{
	struct virtio_dev *d = mm->d;

	for (unsigned int q = 0; q < d->num_queues; q++) {
		int ret;

		if (d->kick_fds[q] < 0 || mm->kick_wired[q] == assign)
			continue;
		ret = vm_ioeventfd_match(d->vm, d->kick_fds[q], mm->base + REG_QUEUE_NOTIFY,
					 4, false, q, assign);
		if (ret) {
			/* kicks then exit to queue_notify(): slower, still correct */
			kv_debug("%s: ioeventfd for queue %u: %s", d->name, q, strerror(-ret));
			continue;
		}
		mm->kick_wired[q] = assign;
	}
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_mmio *mm;
	char part[80];
	int ret;

	if (!d->num_queues || !d->queue_max_size || d->queue_max_size > VIRTQ_MAX_SIZE ||
	    (d->queue_max_size & (d->queue_max_size - 1)) ||
	    d->config_size > VIRTIO_MMIO_SIZE - REG_CONFIG ||
	    !(d->host_features >> VIRTIO_F_VERSION_1 & 1)) {
		kv_err("%s: invalid virtio device description (queues %u, size %u)",
		       d->name, d->num_queues, d->queue_max_size);
		return -EINVAL;
	}
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->d = d;
	mm->irq_fd = -1;
	pthread_mutex_init(&mm->lock, NULL);
	d->vm = vm;
	d->transport = &vmmio_transport;
	d->transport_priv = mm;
	mm->kick_wired = calloc(d->num_queues, sizeof(*mm->kick_wired));
	if (!mm->kick_wired || virtio_queues_alloc(d)) {
		ret = -ENOMEM;
		goto err;
	}
	d->status = 0;
	d->driver_features = 0;
	mm->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mm->irq_fd < 0) {
		ret = -errno;
		goto err;
	}

	ret = claim_slot(vm, mm);
	if (ret == -ENOSPC) {
		kv_err("%s: all %zu virtio-mmio slots are taken; use fewer devices or "
		       "--transport pci", d->name, ARRAY_SIZE(mmio_irqs));
		goto err_quiet;
	}
	if (ret)
		goto err;
	ret = vm_irqfd(vm, mm->irq_fd, mm->irq, true);
	if (ret)
		goto err_bus;
	snprintf(part, sizeof(part), "virtio_mmio.device=%lluK@0x%llx:%u",
		 (unsigned long long)(VIRTIO_MMIO_SIZE >> 10), (unsigned long long)mm->base,
		 mm->irq);
	ret = vm_cmdline_append(vm, part);
	if (ret)
		goto err_irqfd;
	wire_kicks(mm, true);
	kv_debug("%s at virtio-mmio 0x%llx, IRQ %u", d->name, (unsigned long long)mm->base,
		 mm->irq);
	return 0;
err_irqfd:
	vm_irqfd(vm, mm->irq_fd, mm->irq, false);
err_bus:
	bus_unregister(&vm->mmio, mm->base);
err:
	kv_err("%s: cannot attach as a virtio-mmio device: %s", d->name, strerror(-ret));
err_quiet:
	vmmio_free(mm);
	return ret;
}

void virtio_mmio_remove(struct virtio_dev *d)
{
	struct virtio_mmio *mm = d->transport_priv;

	if (!mm)
		return;
	bus_unregister(&d->vm->mmio, mm->base);
	wire_kicks(mm, false);
	vm_irqfd(d->vm, mm->irq_fd, mm->irq, false);
	vmmio_free(mm);
}

/*
 * The window, the line and the command-line part that announces them
 * (virtio_mmio_add() also hands that part to vm_cmdline_append() until the
 * platform describer reads the inventory).
 */
static void vmmio_describe(struct virtio_dev *d, struct inventory_entry *e)
{
	struct virtio_mmio *mm = d->transport_priv;

	e->kind = INVENTORY_MMIO;
	e->ranges[0] = (struct inventory_range){ mm->base, VIRTIO_MMIO_SIZE, false };
	e->nr_ranges = 1;
	e->irq = (int)mm->irq;
	snprintf(e->cmdline, sizeof(e->cmdline), "virtio_mmio.device=%lluK@0x%llx:%u",
		 (unsigned long long)(VIRTIO_MMIO_SIZE >> 10), (unsigned long long)mm->base,
		 mm->irq);
}

static void __attribute__((constructor)) register_vmmio(void)
{
	virtio_transport_register(TRANSPORT_MMIO, virtio_mmio_add);
}
