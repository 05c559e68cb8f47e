/* Transport-independent virtio helpers shared by every device model. */
#include <stdbool.h>

#include "log.h"
#include "virtio.h"

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
