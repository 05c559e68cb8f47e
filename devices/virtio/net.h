/*
 * virtio-net (virtio 1.x, 5.1) on a tap: the parts that run without KVM,
 * so tests and fuzzers can drive TX and RX with a guest_mem and a socket.
 */
#ifndef KVMINI_VIRTIO_NET_H
#define KVMINI_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "virtio.h"

#define VIRTIO_ID_NET		1

#define MAX_NETS 4
#define NET_IFNAME_MAX 15	/* IFNAMSIZ - 1 */

/* vhost=: where the virtio-net data path runs */
enum vhost_mode { VHOST_AUTO, VHOST_ON, VHOST_OFF };

/* The options of one NIC: tap=NAME[,mac=MAC][,vhost=auto|on|off] */
struct net_config {
	char tap[NET_IFNAME_MAX + 1];
	uint8_t mac[6];
	bool mac_set;		/* false: a stable default derived by the device */
	enum vhost_mode vhost;
};

/* The net type's option parser and its check against an earlier NIC (net_conf.c). */
int net_config_parse(void *conf, const char *opts, struct errmsg *err);
int net_config_conflicts(const void *prev, const void *conf, const char *opts,
			 struct errmsg *err);

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_GUEST_UFO		10
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_HOST_UFO		14
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16

#define VIRTIO_NET_S_LINK_UP		1

#define NET_HDR_SIZE	12	/* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_CONFIG_SIZE	10	/* mac[6], le16 status, le16 max_virtqueue_pairs */
#define NET_CONFIG_STATUS_OFF	6	/* the status field's low byte: VIRTIO_NET_S_* */
#define NET_RXQ		0
#define NET_TXQ		1
#define NET_NUM_QUEUES	2
/* The largest frame a tap hands over: 64 KiB of GSO payload, headers, vnet header. */
#define NET_MAX_FRAME	(NET_HDR_SIZE + 65536 + 256)

/* Frames read from the tap, waiting for guest buffers (one at a time). */
struct net_rx {
	uint8_t buf[NET_MAX_FRAME];
	size_t len;		/* bytes in buf, vnet header first; 0: none */
	uint64_t dropped;	/* frames no buffer could take */
};

/* Everything the device offers; vhost narrows it (net_vhost_features). */
uint64_t net_host_features(void);
/* struct virtio_net_config (5.1.4), little-endian. */
void net_build_config(const uint8_t mac[6], uint8_t config[NET_CONFIG_SIZE]);
/*
 * The MAC of a --net without mac=: locally administered, unicast, derived
 * from the tap name and the option's index, so a command line always gets
 * the same address.
 */
void net_default_mac(const char *tap, unsigned int index, uint8_t mac[6]);
/* TUN_F_* offloads the tap may use towards the guest, from the negotiated features. */
unsigned int net_tap_offloads(uint64_t features);

/*
 * Send up to @budget TX chains of @d to @fd (header and frame, one writev
 * each), then ask the transport to interrupt. Returns chains served, or
 * -EINVAL after the driver broke the rules (device marked NEEDS_RESET).
 */
int net_tx(struct virtio_dev *d, int fd, unsigned int budget);

enum net_rx_result {
	NET_RX_IDLE,		/* @fd has nothing more to read */
	NET_RX_NO_BUFFERS,	/* a frame waits in @rx for the driver's buffers */
	NET_RX_BUDGET,		/* @budget frames delivered; more may wait */
	NET_RX_BROKEN,		/* the driver broke the rules: NEEDS_RESET */
	NET_RX_GONE,		/* @fd failed for good (tap deleted, peer closed) */
};

/*
 * Move up to @budget frames from @fd (non-blocking) into the RX queue of
 * @d, honouring MRG_RXBUF; frames no buffer set can ever hold are dropped.
 * A frame read while the queue lacks room stays in @rx for the next call.
 * Interrupts the driver if anything was delivered.
 */
enum net_rx_result net_rx(struct virtio_dev *d, struct net_rx *rx, int fd,
			  unsigned int budget);

#endif
