/*
 * What the virtio transports (pci.c, mmio.c) share: attaching a device,
 * the reset, the kick without an ioeventfd, the interrupts, the device
 * config window and the doorbells' ioeventfds. For transports only.
 */
#ifndef KVMINI_VIRTIO_TRANSPORT_H
#define KVMINI_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

/*
 * Check @d's description against what the transport can carry (@max_queues,
 * @max_config bytes of config). 0, or -EINVAL after kv_err().
 */
int virtio_transport_check(const struct virtio_dev *d, unsigned int max_queues,
			   size_t max_config);
/*
 * Bind @d to @vm on the transport @ops (@priv its state): queues, kick
 * eventfds, status and features cleared. 0 or -errno; detach undoes it.
 */
int virtio_transport_attach(struct virtio_dev *d, struct vm *vm,
			    const struct virtio_transport_ops *ops, void *priv);
void virtio_transport_detach(struct virtio_dev *d);

/*
 * The driver wrote @val to the status byte: 0 resets the device (its
 * ops->reset, queues, features, then @reset_regs for the transport's own
 * registers, then the status), anything else goes to virtio_write_status().
 */
void virtio_transport_write_status(struct virtio_dev *d, uint8_t val,
				   void (*reset_regs)(void *priv), void *priv);
/* A kick that no ioeventfd caught (queue @q, unchecked): the same path anyway. */
void virtio_transport_kick(struct virtio_dev *d, uint64_t q);
/* The device config window: @len bytes at @off, ignored unless wholly inside it. */
void virtio_transport_config_access(struct virtio_dev *d, uint64_t off, uint8_t *data,
				    uint32_t len, bool is_write);

/* notify_queue for transports: raise_queue if the ring asks for an interrupt. */
void virtio_transport_notify_queue(struct virtio_dev *d, unsigned int q);
/* notify_config for transports: a new config generation, then raise_config. */
void virtio_transport_notify_config(struct virtio_dev *d);

/*
 * (Un)assign the kick eventfd of every queue with @wire(d, q, fd, assign)
 * (an ioeventfd at the queue's doorbell), skipping queues already so. A
 * failure leaves that queue's kicks to exit to the transport: slower,
 * still correct.
 */
void virtio_transport_wire_kicks(struct virtio_dev *d, bool assign,
				 int (*wire)(struct virtio_dev *d, unsigned int q, int fd,
					     bool assign));

#endif
