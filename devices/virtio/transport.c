/* The parts of a virtio transport that do not depend on PCI or MMIO. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "log.h"
#include "transport.h"

int virtio_transport_check(const struct virtio_dev *d, unsigned int max_queues,
			   size_t max_config)
{
	if (!d->num_queues || d->num_queues > max_queues || !d->queue_max_size ||
	    d->queue_max_size > VIRTQ_MAX_SIZE ||
	    (d->queue_max_size & (d->queue_max_size - 1)) || d->config_size > max_config ||
	    !(d->host_features >> VIRTIO_F_VERSION_1 & 1)) {
		kv_err("%s: invalid virtio device description (queues %u, size %u)",
		       d->name, d->num_queues, d->queue_max_size);
		return -EINVAL;
	}
	return 0;
}

int virtio_transport_attach(struct virtio_dev *d, struct vm *vm,
			    const struct virtio_transport_ops *ops, void *priv)
{
	d->vm = vm;
	d->transport = ops;
	d->transport_priv = priv;
	d->status = 0;
	d->driver_features = 0;
	d->kick_wired = calloc(d->num_queues, sizeof(*d->kick_wired));
	if (!d->kick_wired || virtio_queues_alloc(d))
		return -ENOMEM;
	return 0;
}

void virtio_transport_detach(struct virtio_dev *d)
{
	virtio_queues_free(d);
	free(d->kick_wired);
	d->kick_wired = NULL;
	d->transport_priv = NULL;
	d->transport = NULL;
}

void virtio_transport_write_status(struct virtio_dev *d, uint8_t val,
				   void (*reset_regs)(void *priv), void *priv)
{
	if (val) {
		virtio_write_status(d, val);
		return;
	}
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int q = 0; q < d->num_queues; q++)
		virtio_queue_clear(d, &d->vqs[q]);
	d->driver_features = 0;
	reset_regs(priv);
	virtio_reset_status(d);
}

void virtio_transport_kick(struct virtio_dev *d, uint64_t q)
{
	if (q >= d->num_queues)
		return;
	if (d->kick_fds[q] >= 0)
		eventfd_write(d->kick_fds[q], 1);
	else if (d->ops->queue_notify)
		d->ops->queue_notify(d, (unsigned int)q);
}

void virtio_transport_config_access(struct virtio_dev *d, uint64_t off, uint8_t *data,
				    uint32_t len, bool is_write)
{
	if (off >= d->config_size || len > d->config_size - off)
		return;
	if (is_write && d->ops->config_write)
		d->ops->config_write(d, off, data, len);
	else if (!is_write && d->ops->config_read)
		d->ops->config_read(d, off, data, len);
}

void virtio_transport_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (q < d->num_queues && virtq_should_notify(&d->vqs[q]))
		d->transport->raise_queue(d, q);
}

void virtio_transport_notify_config(struct virtio_dev *d)
{
	__atomic_add_fetch(&d->config_generation, 1, __ATOMIC_SEQ_CST);
	d->transport->raise_config(d);
}

void virtio_transport_wire_kicks(struct virtio_dev *d, bool assign,
				 int (*wire)(struct virtio_dev *d, unsigned int q, int fd,
					     bool assign))
{
	for (unsigned int q = 0; q < d->num_queues; q++) {
		int ret;

		if (d->kick_fds[q] < 0 || d->kick_wired[q] == assign)
			continue;
		ret = wire(d, q, d->kick_fds[q], assign);
		if (ret) {
			kv_debug("%s: ioeventfd for queue %u: %s", d->name, q, strerror(-ret));
			continue;
		}
		d->kick_wired[q] = assign;
	}
}
