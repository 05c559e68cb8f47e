/*
 * A virtio device model, independent of its transport (PCI, MMIO). The
 * device defines features, config space and what a queue kick does; the
 * transport handles status, negotiation, queue setup and interrupts.
 */
#ifndef KVMINI_VIRTIO_H
#define KVMINI_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"

#include "device.h"

struct vm;
struct virtio_dev;
struct inventory;

/* Feature bits (virtio 1.x, 6) */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

/* Device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

#define VIRTIO_MSI_NO_VECTOR		0xffff	/* a queue or config without an MSI-X vector */

struct virtio_dev_ops {
	/* Queues are set up and DRIVER_OK was written: start serving. 0 or -errno. */
	int (*activate)(struct virtio_dev *d);
	/*
	 * The driver kicked queue @q. Runs on the device's own I/O thread when
	 * the transport wires kicks to ioeventfds (see kick_fd), else on the
	 * vCPU thread: devices should only wake their thread here.
	 */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* Device-specific config space, little-endian, @off < config_size. */
	void (*config_read)(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t len);
	/*
	 * The driver wrote 0 to status, or broke the status rules (NEEDS_RESET):
	 * stop using the queues, drop in-flight state. May run twice in a row.
	 */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_transport_ops {
	/* Interrupt the driver for used buffers on queue @q (honours virtq_should_notify). */
	void (*notify_queue)(struct virtio_dev *d, unsigned int q);
	/* Config space changed: bump generation, interrupt. */
	void (*notify_config)(struct virtio_dev *d);
	/*
	 * Interrupt the driver for queue @q without asking the ring: for rings
	 * served outside kvmini (vhost), whose server already decided.
	 */
	void (*raise_queue)(struct virtio_dev *d, unsigned int q);
	/* Interrupt the driver for a config change (notify_config's second half). */
	void (*raise_config)(struct virtio_dev *d);
	/*
	 * An eventfd whose writes interrupt the driver for queue @q without
	 * kvmini (MSI-X irqfd), or -1 (INTx, MMIO, no vector): then use raise_queue.
	 */
	int (*queue_call_fd)(struct virtio_dev *d, unsigned int q);
	/* Detach the device and free what the transport set up (virtio_remove). */
	void (*remove)(struct virtio_dev *d);
	/*
	 * The transport put the device in the inventory itself when it claimed
	 * its window (virtio-mmio: window, line, command-line fragment), so the
	 * device's describe adds nothing; else it adds an entry of its own.
	 */
	bool own_entry;
};

struct virtio_dev {
	/* filled by the device before virtio_*_add() */
	const struct virtio_dev_ops *ops;
	void *priv;
	const char *name;		/* for messages: "virtio-blk vda" */
	uint32_t device_id;		/* 2 = block, 1 = net */
	uint64_t host_features;		/* VERSION_1 etc. included by the device */
	unsigned int num_queues;
	uint16_t queue_max_size;
	size_t config_size;

	/* owned by the transport */
	struct vm *vm;
	const struct virtio_transport_ops *transport;
	void *transport_priv;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	struct virtq *vqs;		/* num_queues entries */
	int *kick_fds;			/* per queue: eventfd signalled on a kick, or -1 */
	bool *kick_wired;		/* per queue: an ioeventfd signals kick_fds[q] */

	/*
	 * kvmini stat, written by the device's I/O thread (counter.h): [0]
	 * the guest's output (blk writes, net TX), [1] its input (blk reads,
	 * net RX), as requests and payload bytes; queue interrupts asked for.
	 */
	uint64_t st_ops[2], st_bytes[2], st_flushes, st_interrupts;

	/* owned by virtio.c */
	bool needs_reset_logged;	/* virtio_dev_needs_reset() warned once */
	bool halted;			/* the driver broke the status rules: until reset */
};

/*
 * Transport helpers: the queue array and one kick eventfd per queue
 * (d->vqs, d->kick_fds), allocated for d->num_queues; free undoes it.
 */
int virtio_queues_alloc(struct virtio_dev *d);
void virtio_queues_free(struct virtio_dev *d);
/* A queue back to its reset state: disabled, maximum size, no rings. */
void virtio_queue_clear(struct virtio_dev *d, struct virtq *vq);

/* A device's stats op: its st_ counters, named for its kind (@out, @in: "write"/"read"...). */
void virtio_dev_stats(const struct virtio_dev *d, const char *out, const char *in,
		      uint64_t kicks, void (*fn)(void *ctx, const char *name, uint64_t value),
		      void *ctx);

/*
 * For devices' config_read: copy @len bytes at @off of a read-only config
 * space (@config, @size bytes) to @data; bytes past its end read as 0.
 */
void virtio_config_copy(const uint8_t *config, size_t size, uint64_t off, uint8_t *data,
			uint32_t len);

/*
 * The end of a round on queue @q: interrupt the driver if @used buffers
 * went back to it (as the ring asks), then, if @broken (why), mark the
 * device NEEDS_RESET.
 */
void virtio_queue_served(struct virtio_dev *d, unsigned int q, unsigned int used,
			 const char *broken);
/* Mark the device broken (NEEDS_RESET) and tell the driver; logs once. */
void virtio_dev_needs_reset(struct virtio_dev *d, const char *why);
static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	return (d->driver_features >> bit) & 1;
}

/*
 * Attach @d to the VM on the transport @kind (--transport). 0 or -errno
 * after kv_err().
 */
int virtio_add(struct vm *vm, struct virtio_dev *d, enum transport_kind kind);
/* Transports say how they attach a device of @kind (from a constructor). */
void virtio_transport_register(enum transport_kind kind,
			       int (*add)(struct vm *vm, struct virtio_dev *d));
/* The inventory entry of @dev, the instance around @d, as its transport places it. */
int virtio_describe(struct virtio_dev *d, struct device *dev, struct inventory *inv);
/* Detach @d from its transport (device exit, vCPUs stopped); no-op if not attached. */
void virtio_remove(struct virtio_dev *d);

/*
 * For transports: the driver wrote @val (nonzero; 0 is a reset, which the
 * transport does) to the status byte. FEATURES_OK sticks only for offered
 * features including VERSION_1; DRIVER_OK after it activates the device.
 * A write that clears a bit is a driver error: the device stops
 * (ops->reset), enters NEEDS_RESET and ignores status writes and queue
 * enables until the reset.
 */
void virtio_write_status(struct virtio_dev *d, uint8_t val);
/* For transports, last in their reset: status 0, the driver heard again. */
void virtio_reset_status(struct virtio_dev *d);
/* For transports: the driver enabled queue @q; bad rings make the device NEEDS_RESET. */
void virtio_enable_queue(struct virtio_dev *d, unsigned int q);

/* Attach @d to the VM over PCI (devices/virtio/pci.c). 0 or -errno after kv_err(). */
int virtio_pci_add(struct vm *vm, struct virtio_dev *d);
/* Detach @d from PCI and free what virtio_pci_add() set up (device exit, vCPUs stopped). */
void virtio_pci_remove(struct virtio_dev *d);
/*
 * Attach @d as a virtio-mmio device (devices/virtio/mmio.c) and announce
 * it on the kernel command line. 0 or -errno after kv_err().
 */
int virtio_mmio_add(struct vm *vm, struct virtio_dev *d);
void virtio_mmio_remove(struct virtio_dev *d);

#endif
