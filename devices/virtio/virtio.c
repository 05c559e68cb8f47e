/*
 * Transport-independent virtio helpers shared by every device model and
 * transport: status negotiation, queue enabling, the transport switch.
 */
#include <unistd.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "counter.h"
#include "device.h"
#include "inventory.h"
#include "log.h"
#include "virtio.h"
#include "vm.h"

/*
 * The status byte is also written by the transport on vCPU threads, hence
 * the atomic read-modify-write. The warning is printed once per device
 * lifetime: a guest that breaks, resets and breaks again must not be able
 * to flood kvmini's stderr.
 */
void virtio_dev_needs_reset(struct virtio_dev *d, const char *why)
{
	uint8_t old;

	old = __atomic_fetch_or(&d->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!__atomic_exchange_n(&d->needs_reset_logged, true, __ATOMIC_SEQ_CST))
		kv_warn("%s: the guest driver broke the virtio rules (%s); the device "
			"stops until the driver resets it", d->name, why);
	if (d->transport && d->transport->notify_config)
		d->transport->notify_config(d);
}

void virtio_queue_served(struct virtio_dev *d, unsigned int q, unsigned int used,
			 const char *broken)
{
	if (used && d->transport && d->transport->notify_queue) {
		counter_add(&d->st_interrupts, 1);
		d->transport->notify_queue(d, q);
	}
	if (broken)
		virtio_dev_needs_reset(d, broken);
}

static bool features_acceptable(const struct virtio_dev *d)
{
	return !(d->driver_features & ~d->host_features) &&
	       virtio_has_feature(d, VIRTIO_F_VERSION_1);
}

/*
 * The driver cleared status bits without writing 0 (2.1.1: it must not):
 * it would renegotiate features on a live device and activate it again.
 * Stop the device and ignore the driver until it resets it.
 */
static void status_cleared(struct virtio_dev *d, uint8_t old, uint8_t cleared)
{
	char why[80];

	__atomic_store_n(&d->halted, true, __ATOMIC_SEQ_CST);
	if ((old & VIRTIO_STATUS_DRIVER_OK) && d->ops->reset)
		d->ops->reset(d);	/* stop serving; the driver must reset anyway */
	snprintf(why, sizeof(why), "it cleared status bits 0x%02x without a reset", cleared);
	virtio_dev_needs_reset(d, why);
}

void virtio_write_status(struct virtio_dev *d, uint8_t val)
{
	uint8_t old, new, cleared;
	int ret;

	if (__atomic_load_n(&d->halted, __ATOMIC_SEQ_CST))
		return;
	old = __atomic_load_n(&d->status, __ATOMIC_SEQ_CST);
	new = val & ~VIRTIO_STATUS_NEEDS_RESET;	/* only the device sets it */
	cleared = old & ~new & ~VIRTIO_STATUS_NEEDS_RESET;
	if (cleared) {
		status_cleared(d, old, cleared);
		return;
	}
	/* FEATURES_OK sticks only if we can do what the driver asked for */
	if ((new & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(d))
		new &= ~VIRTIO_STATUS_FEATURES_OK;
	if ((new & VIRTIO_STATUS_DRIVER_OK) && !(new & VIRTIO_STATUS_FEATURES_OK))
		new &= ~VIRTIO_STATUS_DRIVER_OK;
	/* keep a NEEDS_RESET the device thread may set meanwhile */
	while (!__atomic_compare_exchange_n(&d->status, &old,
					    new | (old & VIRTIO_STATUS_NEEDS_RESET), false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	if (!(new & VIRTIO_STATUS_DRIVER_OK) || (old & VIRTIO_STATUS_DRIVER_OK))
		return;
	ret = d->ops->activate ? d->ops->activate(d) : 0;
	if (ret)
		virtio_dev_needs_reset(d, "the device could not start");
}

void virtio_reset_status(struct virtio_dev *d)
{
	__atomic_store_n(&d->halted, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->status, 0, __ATOMIC_SEQ_CST);
}

void virtio_enable_queue(struct virtio_dev *d, unsigned int q)
{
	struct virtq *vq = &d->vqs[q];

	if (vq->ready || __atomic_load_n(&d->halted, __ATOMIC_SEQ_CST))
		return;
	vq->event_idx = virtio_has_feature(d, VIRTIO_F_EVENT_IDX);
	vq->indirect = virtio_has_feature(d, VIRTIO_F_INDIRECT_DESC);
	if (vq->size > d->queue_max_size || virtq_validate(vq)) {
		char why[96];

		snprintf(why, sizeof(why), "queue %u: size %u or ring addresses outside "
			 "guest RAM", q, vq->size);
		virtio_dev_needs_reset(d, why);
		return;
	}
	virtq_reset(vq);
	/* release: a device thread that sees ready sees the fields above */
	__atomic_store_n(&vq->ready, true, __ATOMIC_RELEASE);
}

/* Filled by the transports themselves (pci.c, mmio.c), so virtio.c names none. */
static int (*transport_add[TRANSPORT_MMIO + 1])(struct vm *vm, struct virtio_dev *d);

void virtio_transport_register(enum transport_kind kind,
			       int (*add)(struct vm *vm, struct virtio_dev *d))
{
	transport_add[kind] = add;
}

int virtio_add(struct vm *vm, struct virtio_dev *d, enum transport_kind kind)
{
	if (!transport_add[kind]) {
		kv_err("%s: this build has no such transport", d->name);
		return -ENODEV;
	}
	return transport_add[kind](vm, d);
}

int virtio_describe(struct virtio_dev *d, struct device *dev, struct inventory *inv)
{
	struct inv_entry e = {
		.type = dev->type->name, .role = INV_PCI_DEVICE, .irq = -1, .probed = true,
		.owner = d,
	};

	if (d->transport && d->transport->own_entry)
		return 0;
	snprintf(e.name, sizeof(e.name), "%s", dev->name);
	return inventory_add(inv, &e);
}

void virtio_remove(struct virtio_dev *d)
{
	if (d->transport && d->transport->remove)
		d->transport->remove(d);
}

void virtio_queue_clear(struct virtio_dev *d, struct virtq *vq)
{
	virtq_reset(vq);
	vq->mem = &d->vm->mem;
	vq->size = d->queue_max_size;
	vq->ready = false;
	vq->event_idx = false;
	vq->indirect = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
}

int virtio_queues_alloc(struct virtio_dev *d)
{
	unsigned int q;

	d->vqs = calloc(d->num_queues, sizeof(*d->vqs));
	d->kick_fds = malloc(d->num_queues * sizeof(*d->kick_fds));
	if (!d->vqs || !d->kick_fds) {
		virtio_queues_free(d);
		return -ENOMEM;
	}
	for (q = 0; q < d->num_queues; q++) {
		virtio_queue_clear(d, &d->vqs[q]);
		/* -1 if it fails: the transport then calls ops->queue_notify */
		d->kick_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	return 0;
}

void virtio_queues_free(struct virtio_dev *d)
{
	unsigned int q;

	for (q = 0; d->kick_fds && q < d->num_queues; q++)
		if (d->kick_fds[q] >= 0)
			close(d->kick_fds[q]);
	free(d->kick_fds);
	free(d->vqs);
	d->kick_fds = NULL;
	d->vqs = NULL;
}

void virtio_config_copy(const uint8_t *config, size_t size, uint64_t off, uint8_t *data,
			uint32_t len)
{
	uint32_t n = 0;

	if (off < size)
		n = size - off < len ? (uint32_t)(size - off) : len;
	if (n)
		memcpy(data, config + off, n);
	memset(data + n, 0, len - n);
}

void virtio_dev_stats(const struct virtio_dev *d, const char *out, const char *in,
		      uint64_t kicks, void (*fn)(void *ctx, const char *name, uint64_t value),
		      void *ctx)
{
	char name[32];

	snprintf(name, sizeof(name), "%s", out);
	fn(ctx, name, counter_get(&d->st_ops[0]));
	snprintf(name, sizeof(name), "%s_bytes", out);
	fn(ctx, name, counter_get(&d->st_bytes[0]));
	snprintf(name, sizeof(name), "%s", in);
	fn(ctx, name, counter_get(&d->st_ops[1]));
	snprintf(name, sizeof(name), "%s_bytes", in);
	fn(ctx, name, counter_get(&d->st_bytes[1]));
	if (d->device_id == 2)
		fn(ctx, "flushes", counter_get(&d->st_flushes));
	fn(ctx, "kicks", kicks);
	fn(ctx, "interrupts", counter_get(&d->st_interrupts));
}
