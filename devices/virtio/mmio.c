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

#include "board.h"
#include "inventory.h"
#include "irq.h"
#include "le.h"
#include "log.h"
#include "util.h"
#include "transport.h"
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


struct virtio_mmio {
	struct virtio_dev *d;
	uint64_t base;
	uint64_t size;
	unsigned int irq;
	int irq_fd;		/* eventfd wired to irq by an irqfd, or -1 */
	/* registers the driver writes, and the queues' configuration */
	pthread_mutex_t lock;
	uint32_t dfsel, gfsel, queue_sel;
	bool started;		/* activated since the last reset */
	uint32_t isr;		/* InterruptStatus, atomic: device threads set bits */
};

/* ---- interrupts ---- */

static void raise_irq(struct virtio_mmio *mm, uint32_t bit)
{
	__atomic_fetch_or(&mm->isr, bit, __ATOMIC_SEQ_CST);
	/* an irqfd pulses the line: Linux has the ISA IRQs edge-triggered */
	if (mm->irq_fd >= 0)
		eventfd_write(mm->irq_fd, 1);
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

static void vmmio_raise_config(struct virtio_dev *d)
{
	raise_irq(d->transport_priv, INT_CONFIG);
}


static const struct virtio_transport_ops vmmio_transport = {
	.notify_queue = virtio_transport_notify_queue,
	.notify_config = virtio_transport_notify_config,
	.raise_queue = vmmio_raise_queue,
	.raise_config = vmmio_raise_config,
	.queue_call_fd = vmmio_queue_call_fd,
	.remove = virtio_mmio_remove,
	.own_entry = true,
};

/* ---- registers ---- */

static struct virtq *selected_vq(struct virtio_mmio *mm)
{
	return mm->queue_sel < mm->d->num_queues ? &mm->d->vqs[mm->queue_sel] : NULL;
}

/* The registers of a reset device (virtio_transport_write_status). */
static void reset_regs(void *priv)
{
	struct virtio_mmio *mm = priv;

	mm->dfsel = mm->gfsel = mm->queue_sel = 0;
	mm->started = false;
	__atomic_store_n(&mm->isr, 0, __ATOMIC_SEQ_CST);
}

static void write_status(struct virtio_mmio *mm, uint8_t val)
{
	virtio_transport_write_status(mm->d, val, reset_regs, mm);
	if (val && __atomic_load_n(&mm->d->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK)
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

static void mmio_access(struct virtio_mmio *mm, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_dev *d = mm->d;

	if (off >= REG_CONFIG) {
		virtio_transport_config_access(d, off - REG_CONFIG, data, len, is_write);
		return;
	}
	/* drivers must use aligned 32-bit accesses for registers (4.2.2.2) */
	if (len != 4 || off % 4)
		return;
	if (is_write && off == REG_QUEUE_NOTIFY) {
		virtio_transport_kick(d, get_le32(data));
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
	virtio_transport_detach(mm->d);
	if (mm->irq_fd >= 0)
		close(mm->irq_fd);
	pthread_mutex_destroy(&mm->lock);
	free(mm);
}

/* The first free board window on the MMIO bus, and a line from the board's pool. */
static int claim_slot(struct vm *vm, struct virtio_mmio *mm)
{
	uint64_t base, size;

	for (unsigned int i = 0; board_virtio_mmio_window(i, &base, &size) == 0; i++) {
		int ret = bus_register(&vm->mmio, base, size, &vmmio_ops, mm), irq;

		if (ret == -EEXIST)
			continue;
		if (ret)
			return ret;
		irq = vm_irq_alloc(vm);
		if (irq < 0) {
			bus_unregister(&vm->mmio, base);
			return irq;
		}
		mm->base = base;
		mm->size = size;
		mm->irq = (unsigned int)irq;
		return 0;
	}
	return -ENOSPC;
}

static void release_slot(struct vm *vm, struct virtio_mmio *mm)
{
	bus_unregister(&vm->mmio, mm->base);
	vm_irq_free(vm, mm->irq);
	inventory_remove(&vm->inventory, mm);
}

/* The guest learns of the window from the command line (inventory.h). */
static int vmmio_describe(struct vm *vm, struct virtio_mmio *mm)
{
	struct inv_entry e = {
		.type = "virtio-mmio", .role = INV_VIRTIO_MMIO,
		.ranges = { { mm->base, mm->size, false } }, .nr_ranges = 1,
		.irq = (int)mm->irq, .owner = mm,
	};

	snprintf(e.name, sizeof(e.name), "%s", mm->d->name);
	snprintf(e.cmdline, sizeof(e.cmdline), "virtio_mmio.device=%lluK@0x%llx:%u",
		 (unsigned long long)(mm->size >> 10), (unsigned long long)mm->base, mm->irq);
	return inventory_add(&vm->inventory, &e);
}

/* QueueNotify with the queue's index signals its kick eventfd. */
static int wire_kick(struct virtio_dev *d, unsigned int q, int fd, bool assign)
{
	struct virtio_mmio *mm = d->transport_priv;

	return vm_ioeventfd_match(d->vm, fd, mm->base + REG_QUEUE_NOTIFY, 4, false, q,
				  assign);
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_mmio *mm;
	uint64_t window0 = 0, size = 0;
	int ret;

	board_virtio_mmio_window(0, &window0, &size);
	ret = virtio_transport_check(d, UINT32_MAX, size - REG_CONFIG);
	if (ret)
		return ret;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->d = d;
	mm->irq_fd = -1;
	pthread_mutex_init(&mm->lock, NULL);
	ret = virtio_transport_attach(d, vm, &vmmio_transport, mm);
	if (ret)
		goto err;
	mm->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mm->irq_fd < 0) {
		ret = -errno;
		goto err;
	}

	ret = claim_slot(vm, mm);
	if (ret == -ENOSPC) {
		kv_err("%s: all %u virtio-mmio slots are taken; use fewer devices or "
		       "--transport pci", d->name, board_virtio_mmio_windows());
		goto err_quiet;
	}
	if (ret)
		goto err;
	ret = vm_irqfd(vm, mm->irq_fd, mm->irq, true);
	if (ret)
		goto err_bus;
	ret = vmmio_describe(vm, mm);
	if (ret)
		goto err_irqfd;
	virtio_transport_wire_kicks(d, true, wire_kick);
	kv_debug("%s at virtio-mmio 0x%llx, IRQ %u", d->name, (unsigned long long)mm->base,
		 mm->irq);
	return 0;
err_irqfd:
	vm_irqfd(vm, mm->irq_fd, mm->irq, false);
err_bus:
	release_slot(vm, mm);
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
	virtio_transport_wire_kicks(d, false, wire_kick);
	vm_irqfd(d->vm, mm->irq_fd, mm->irq, false);
	vm_irq_free(d->vm, mm->irq);
	inventory_remove(&d->vm->inventory, mm);
	vmmio_free(mm);
}

static void __attribute__((constructor)) register_vmmio(void)
{
	virtio_transport_register(TRANSPORT_MMIO, virtio_mmio_add);
}
