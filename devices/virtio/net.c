/*
 * virtio-net (device id 1) on an existing tap: --net tap=NAME[,mac=MAC][,vhost=...].
 * Data path either in the kernel (vhost-net, set up by vhost.c: kicks are the
 * queues' ioeventfds, interrupts the MSI-X irqfds) or on one I/O thread
 * per NIC (worker.c): kick/tap readable -> nic_serve -> net_tx/net_rx -> virtq ->
 * interrupt.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "counter.h"
#include "device.h"
#include "errmsg.h"
#include "inventory.h"
#include "evloop.h"
#include "iov.h"
#include "le.h"
#include "log.h"
#include "sandbox.h"
#include "net.h"
#include "util.h"
#include "vhost.h"
#include "vm.h"
#include "worker.h"

#define NET_QUEUE_SIZE	256
#define NET_BUDGET	64	/* frames per queue per round, so neither starves the other */
#define NUM_BUFFERS_OFF	10	/* le16 num_buffers in the 12-byte header */

/* Bits whose work vhost does (ring layout, RX buffers): offered only if it can. */
#define VHOST_RING_FEATURES						\
	(1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |	\
	 1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_NET_F_MRG_RXBUF)

/* ---- features, config, MAC ---- */

uint64_t net_host_features(void)
{
	static const unsigned int bits[] = {
		VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_MAC,
		VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_ECN,
		VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
		VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_MRG_RXBUF,
		VIRTIO_NET_F_STATUS, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC,
		VIRTIO_F_VERSION_1,
	};
	uint64_t f = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bits); i++)
		f |= 1ULL << bits[i];
	return f;
}

void net_build_config(const uint8_t mac[6], uint8_t config[NET_CONFIG_SIZE])
{
	memset(config, 0, NET_CONFIG_SIZE);
	memcpy(config, mac, 6);
	config[NET_CONFIG_STATUS_OFF] = VIRTIO_NET_S_LINK_UP;	/* status, le16 */
	config[8] = 1;				/* max_virtqueue_pairs, le16 */
}

void net_default_mac(const char *tap, unsigned int index, uint8_t mac[6])
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (const char *p = tap; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ (index & 0xff)) * 16777619u;
	mac[0] = 0x02;		/* locally administered, unicast */
	mac[1] = 0x6b;		/* 'k' */
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

unsigned int net_tap_offloads(uint64_t features)
{
	unsigned int off = 0;

	if (!(features >> VIRTIO_NET_F_GUEST_CSUM & 1))
		return 0;	/* segmentation offloads need checksum offload */
	off |= TUN_F_CSUM;
	if (features >> VIRTIO_NET_F_GUEST_TSO4 & 1)
		off |= TUN_F_TSO4;
	if (features >> VIRTIO_NET_F_GUEST_TSO6 & 1)
		off |= TUN_F_TSO6;
	if (features >> VIRTIO_NET_F_GUEST_ECN & 1)
		off |= TUN_F_TSO_ECN;
	if (features >> VIRTIO_NET_F_GUEST_UFO & 1)
		off |= TUN_F_UFO;
	return off;
}

/* ---- the data path, without KVM ---- */

int net_tx(struct virtio_dev *d, int fd, unsigned int budget)
{
	struct virtq *vq = &d->vqs[NET_TXQ];
	const char *why = "TX: invalid descriptor chain or ring";
	struct virtq_elem e;
	unsigned int done = 0;
	int ret = 0;

	while (done < budget) {
		ssize_t w;

		ret = virtq_pop(vq, &e);
		if (ret <= 0)
			break;
		if (e.n_in || e.out_bytes < NET_HDR_SIZE) {
			why = e.n_in ? "TX: a chain with device-writable buffers" :
				       "TX: a chain shorter than the 12-byte header";
			vq->broken = true;
			ret = -EINVAL;
			break;
		}
		do
			w = writev(fd, e.iov, (int)e.n_out);
		while (w < 0 && errno == EINTR);
		if (w > NET_HDR_SIZE) {
			counter_add(&d->st_ops[0], 1);
			counter_add(&d->st_bytes[0], (uint64_t)w - NET_HDR_SIZE);
		}
		/* a frame the tap refuses (link down, malformed GSO) is dropped, as on a wire */
		virtq_push(vq, &e, 0);
		done++;
	}
	virtio_queue_served(d, NET_TXQ, done, ret < 0 ? why : NULL);
	return ret < 0 ? -EINVAL : (int)done;
}

enum place_result {
	PLACE_DONE,		/* frame delivered */
	PLACE_NO_ROOM,		/* not enough buffers now; chains given back */
	PLACE_DROP,		/* no buffer set can hold it; chains given back */
	PLACE_BROKEN,
};

/* A chain the RX queue may use: device-writable only, room for the header. */
static bool rx_chain_ok(const struct virtq_elem *e, const char **why)
{
	if (e->n_out) {
		*why = "RX: a chain with device-readable buffers";
		return false;
	}
	if (e->in_bytes < NET_HDR_SIZE) {
		*why = "RX: a buffer shorter than the 12-byte header";
		return false;
	}
	return true;
}

/*
 * One frame (vnet header first) into one chain, or with MRG_RXBUF into as
 * many as it takes; all are returned together, num_buffers in the first.
 */
static enum place_result rx_place(struct virtio_dev *d, struct virtq *vq,
				  const uint8_t *frame, size_t len, const char **why)
{
	bool mrg = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];
	struct virtq_elem first, cur, *e = &first;
	unsigned int n = 0;
	size_t off = 0;
	uint8_t nb[2];
	int ret;

	while (off < len) {
		size_t put;

		ret = virtq_pop(vq, e);
		if (ret < 0)
			return PLACE_BROKEN;
		if (ret == 0) {
			virtq_unpop(vq, n);
			/* the whole ring is ours and still too small: it never fits */
			return n >= vq->size ? PLACE_DROP : PLACE_NO_ROOM;
		}
		if (!rx_chain_ok(e, why)) {
			vq->broken = true;
			return PLACE_BROKEN;
		}
		if (!mrg && e->in_bytes < len) {
			virtq_unpop(vq, 1);	/* keep the buffer for a frame that fits */
			return PLACE_DROP;
		}
		put = iov_from_buf(e->iov, e->n_in, 0, frame + off, len - off);
		heads[n] = e->head;
		lens[n] = (uint32_t)put;
		n++;
		off += put;
		if (n == VIRTQ_MAX_SIZE && off < len) {
			virtq_unpop(vq, n);
			return PLACE_DROP;
		}
		e = &cur;
	}
	put_le16(nb, (uint16_t)n);
	iov_from_buf(first.iov, first.n_in, NUM_BUFFERS_OFF, nb, sizeof(nb));
	virtq_push_batch(vq, heads, lens, n);
	counter_add(&d->st_ops[1], 1);
	counter_add(&d->st_bytes[1], len > NET_HDR_SIZE ? len - NET_HDR_SIZE : 0);
	return PLACE_DONE;
}

/*
 * A read of the tap returned @r (errno set if < 0): has the tap gone for
 * good? A deleted tap fails with EBADFD, a closed peer (tests) reads 0.
 * Only "no frame now" and a lack of memory are worth waiting out.
 */
static bool tap_read_failed(ssize_t r)
{
	if (r == 0)
		return true;
	return errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOMEM &&
	       errno != ENOBUFS;
}

enum net_rx_result net_rx(struct virtio_dev *d, struct net_rx *rx, int fd,
			  unsigned int budget)
{
	struct virtq *vq = &d->vqs[NET_RXQ];
	const char *why = "RX: invalid descriptor chain or ring";
	enum net_rx_result res = NET_RX_BUDGET;
	unsigned int delivered = 0, rounds = 0;

	while (rounds++ < budget) {
		enum place_result p;

		if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) || vq->broken) {
			res = vq->broken ? NET_RX_BROKEN : NET_RX_NO_BUFFERS;
			break;
		}
		if (!rx->len) {
			ssize_t r = read(fd, rx->buf, sizeof(rx->buf));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				res = tap_read_failed(r) ? NET_RX_GONE : NET_RX_IDLE;
				break;
			}
			if ((size_t)r <= NET_HDR_SIZE) {
				rx->dropped++;
				continue;
			}
			rx->len = (size_t)r;
		}
		p = rx_place(d, vq, rx->buf, rx->len, &why);
		if (p == PLACE_NO_ROOM) {
			res = NET_RX_NO_BUFFERS;
			break;
		}
		if (p == PLACE_BROKEN) {
			res = NET_RX_BROKEN;
			break;
		}
		if (p == PLACE_DROP)
			rx->dropped++;
		else
			delivered++;
		rx->len = 0;
	}
	virtio_queue_served(d, NET_RXQ, delivered, res == NET_RX_BROKEN ? why : NULL);
	return res;
}

/* ---- the device: one per --net, each with its thread ---- */

struct net_nic {
	struct device dev;
	struct virtio_dev vdev;
	struct vm *vm;
	struct net_host *host;		/* its spec's, kept for the next VM */
	char tap[NET_IFNAME_MAX + 1];
	char name[48];			/* "virtio-net tap0" */
	uint8_t config[NET_CONFIG_SIZE];
	int tap_fd;			/* borrowed from the NIC's net_host */
	struct vhost_dev vhost;		/* fd borrowed too; -1: the userspace data path */
	struct net_rx *rx;
	struct virtio_worker worker;
	bool tap_polled;		/* I/O thread only */
	bool tap_gone;			/* I/O thread only: the tap failed (deleted): never poll it again */
	/* serialises serving against activate/reset from vCPU threads */
	pthread_mutex_t *lock;
	pthread_mutex_t lock_mem;	/* what lock points to */
	bool active;
};

/*
 * What a NIC holds on the host, opened once before the first VM: a restart
 * builds the next NIC on the same tap and vhost-net fds, so the filtered
 * main thread opens nothing and never attaches to a tap again.
 */
struct net_host {
	char tap[NET_IFNAME_MAX + 1];
	int tap_fd;
	int saved_hdr_sz;		/* the tap's vnet header size before us, or -1 */
	bool attached;			/* TUNSETIFF done: there is something to restore */
	int vhost_fd;			/* -1: the userspace data path */
	uint64_t vhost_features;
	bool vhost_owned;		/* VHOST_SET_OWNER in effect */
};


static void tap_poll(struct net_nic *n, bool on)
{
	on = on && !n->tap_gone;
	if (n->tap_polled == on || n->tap_gone)
		return;
	if (!evloop_mod(n->worker.loop, n->tap_fd, on ? EPOLLIN : 0))
		n->tap_polled = on;
}

/*
 * The tap failed for good (deleted under us): reads fail at once, and
 * epoll reports its error whatever the mask, so it leaves the loop. The
 * guest sees the link go down (VIRTIO_NET_F_STATUS); one warning. Lock held.
 */
static void tap_fail(struct net_nic *n)
{
	struct virtio_dev *d = &n->vdev;

	if (n->tap_gone)
		return;
	n->tap_gone = true;
	n->tap_polled = false;
	evloop_del(n->worker.loop, n->tap_fd);
	kv_warn("%s: the tap stopped working (deleted?); the guest's network is down "
		"until kvmini is restarted", n->name);
	__atomic_store_n(&n->config[NET_CONFIG_STATUS_OFF], 0, __ATOMIC_SEQ_CST);
	if (d->transport && d->transport->notify_config)
		d->transport->notify_config(d);
}

/*
 * The NIC's I/O thread: its worker's loop, frames to and from the tap, and
 * the vhost-net and tap requests of activate and reset, which may also run
 * there. No fallocate, no preadv/pwritev: the blk class has those.
 */
static const char *const net_syscalls[] = {
	"readv", "writev",	/* frames from and to the tap */
	"poll", "ppoll",	/* tap readiness */
	"eventfd2",		/* vhost call eventfds on reset */
	NULL
};

static const unsigned long net_ioctls[] = {
	VHOST_GET_FEATURES,
	VHOST_SET_FEATURES,
	VHOST_SET_OWNER,
	VHOST_RESET_OWNER,
	VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_ADDR,
	VHOST_SET_VRING_BASE,
	VHOST_GET_VRING_BASE,
	VHOST_SET_VRING_KICK,
	VHOST_SET_VRING_CALL,
	VHOST_SET_VRING_ERR,
	VHOST_NET_SET_BACKEND,
	VHOST_GET_BACKEND_FEATURES,
	VHOST_SET_BACKEND_FEATURES,
	TUNSETOFFLOAD,
	TUNSETVNETHDRSZ,
	TUNGETVNETHDRSZ,
	TUNSETVNETLE,
	TUNSETVNETBE,
	TUNGETFEATURES,
	TUNGETIFF,
};

static const struct sandbox_io_class net_io_class = {
	.name = "net",
	.syscalls = net_syscalls,
	.ioctls = net_ioctls,
	.nr_ioctls = ARRAY_SIZE(net_ioctls),
	.base = &virtio_worker_class,
};
SANDBOX_IO_CLASS(net_io_class);

/* I/O thread: serve both queues once, within budget. True if frames are left. */
static bool nic_serve(void *opaque)
{
	struct net_nic *n = opaque;
	enum net_rx_result rr = NET_RX_NO_BUFFERS;
	bool more = false;

	pthread_mutex_lock(n->lock);
	if (n->active && n->vhost.fd < 0) {
		if (net_tx(&n->vdev, n->tap_fd, NET_BUDGET) == NET_BUDGET)
			more = true;
		rr = n->tap_gone ? NET_RX_GONE : net_rx(&n->vdev, n->rx, n->tap_fd, NET_BUDGET);
		if (rr == NET_RX_BUDGET)
			more = true;
		if (rr == NET_RX_GONE)
			tap_fail(n);
	}
	/* no buffers: leave frames in the tap until the driver kicks RX */
	tap_poll(n, n->active && n->vhost.fd < 0 && (rr == NET_RX_IDLE || rr == NET_RX_BUDGET));
	pthread_mutex_unlock(n->lock);
	return more;
}

static void nic_tap_readable(int fd, uint32_t events, void *opaque)
{
	struct net_nic *n = opaque;

	(void)fd;
	if (events & (EPOLLERR | EPOLLHUP)) {
		pthread_mutex_lock(n->lock);
		tap_fail(n);
		pthread_mutex_unlock(n->lock);
		return;
	}
	virtio_worker_serve(&n->worker);
}

/* ---- vhost-net (the generic part is vhost.c) ---- */

/* The tap behind queue @q, or none: what vhost-net reads and writes frames on. */
static int vhost_net_backend(struct vhost_dev *v, unsigned int q, bool on)
{
	struct net_nic *n = v->vdev->priv;
	struct vhost_vring_file f = { .index = q, .fd = on ? n->tap_fd : -1 };

	return ioctl(v->fd, VHOST_NET_SET_BACKEND, &f) < 0 ? -errno : 0;
}

/* DRIVER_OK with vhost: hand both rings to the kernel (lock held). */
static int vhost_net_start(struct net_nic *n)
{
	int ret = vhost_start(&n->vhost);

	if (ret)
		kv_warn_ratelimited("%s: cannot start vhost-net: %s", n->name, strerror(-ret));
	return ret;
}

/* A vhost-net @step failed: 1 with vhost=auto (userspace path), else -errno after kv_err(). */
static int vhost_fail(struct net_host *h, enum vhost_mode mode, const char *step, int ret)
{
	if (mode == VHOST_AUTO) {
		kv_debug("virtio-net %s: vhost-net not usable (%s: %s); userspace data path",
			 h->tap, step, strerror(-ret));
		return 1;
	}
	if (ret == -ENOENT || ret == -ENODEV)
		kv_err("--net tap=%s,vhost=on: /dev/vhost-net is missing; load it with "
		       "modprobe vhost_net, or use vhost=auto", h->tap);
	else if (ret == -EACCES || ret == -EPERM)
		kv_err("--net tap=%s,vhost=on: no permission to open /dev/vhost-net; run as "
		       "root or give your user access to it, or use vhost=auto", h->tap);
	else
		kv_err("--net tap=%s,vhost=on: vhost-net is not usable (%s: %s); use "
		       "vhost=auto or vhost=off", h->tap, step, strerror(-ret));
	return ret;
}

/*
 * Open /dev/vhost-net and take ownership of it. 0: in use; 1: not usable
 * and vhost=auto (userspace path); -errno after kv_err() with vhost=on.
 */
static int vhost_net_open(struct net_host *h, enum vhost_mode mode)
{
	const char *step;
	int ret;

	ret = vhost_open("/dev/vhost-net", &h->vhost_fd, &h->vhost_features, &step);
	if (ret)
		return vhost_fail(h, mode, step, ret);
	h->vhost_owned = true;
	h->vhost_features &= VHOST_RING_FEATURES;
	return 0;
}

/*
 * This VM's NIC on the host's vhost-net fd: ownership (given up by the
 * previous VM), then the guest memory. 0, also when vhost=auto falls back
 * to the userspace path; -errno after kv_err() with vhost=on.
 */
static int vhost_net_attach(struct net_nic *n, struct net_host *h, enum vhost_mode mode)
{
	const char *step = "VHOST_SET_OWNER";
	int ret = 0;

	if (h->vhost_fd < 0)
		return 0;
	if (!h->vhost_owned) {
		ret = vhost_set_owner(h->vhost_fd);
		if (!ret)
			h->vhost_owned = true;
	}
	vhost_dev_init(&n->vhost, &n->vdev, h->vhost_fd, h->vhost_features, vhost_net_backend);
	if (!ret) {
		step = "VHOST_SET_MEM_TABLE";
		ret = vhost_set_mem_table(n->vhost.fd, &n->vm->mem);
	}
	if (!ret) {
		kv_debug("%s: data path in the kernel (vhost-net)", n->name);
		return 0;
	}
	n->vhost.fd = -1;
	ret = vhost_fail(h, mode, step, ret);
	return ret > 0 ? 0 : ret;
}

/* The next VM starts from a device as fresh as a new open. */
static void vhost_net_detach(struct net_nic *n, struct net_host *h)
{
	if (n->vhost.fd < 0)
		return;
	if (h->vhost_owned && vhost_reset_owner(n->vhost.fd) == 0)
		h->vhost_owned = false;
	n->vhost.fd = -1;
}

/* ---- the tap ---- */

static int tap_error(const char *tap, int err, struct errmsg *e)
{
	switch (err) {
	case ENODEV:
		return errmsg_set(e, -err, "tap=%s: no such interface; kvmini uses an existing "
				  "tap: create it with kvmini-ifup %s (or ip tuntap add %s "
				  "mode tap)", tap, tap, tap);
	case EACCES:
	case EPERM:
		return errmsg_set(e, -err, "tap=%s: not permitted to attach to the tap; run as "
				  "root, or create it for your user with ip tuntap add %s mode "
				  "tap user USER", tap, tap);
	case EBUSY:
		return errmsg_set(e, -err, "tap=%s: the tap is in use by another process; stop "
				  "it or give this VM its own tap", tap);
	case EOPNOTSUPP:
		return errmsg_set(e, -err, "tap=%s: the kernel's tun driver lacks IFF_VNET_HDR, "
				  "which virtio-net needs; use a newer kernel", tap);
	case EINVAL:
		return errmsg_set(e, -err, "tap=%s: not a single-queue tap (a tun, a multi-queue "
				  "tap or another kind of link); name a tap made with ip tuntap "
				  "add NAME mode tap", tap);
	default:
		return errmsg_set(e, -err, "tap=%s: cannot attach to the tap: %s", tap,
				  strerror(err));
	}
}

/* Attach to the existing tap @h->tap, never creating one. 0 or -errno, @e filled. */
static int tap_open(struct net_host *h, const struct device_env *env, struct errmsg *e)
{
	unsigned int index, features = 0;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr_sz = NET_HDR_SIZE, err;

	index = if_nametoindex(h->tap);
	if (!index && env->netns)
		return errmsg_set(e, -ENODEV, "tap=%s: no such interface in the network "
				  "namespace of %s; move the tap there (ip link set %s netns NS) "
				  "and give that namespace's path", h->tap, env->netns, h->tap);
	if (!index)
		return tap_error(h->tap, ENODEV, e);
	h->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h->tap_fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV)
			return errmsg_set(e, -err, "tap=%s: /dev/net/tun is missing; load the "
					  "driver with modprobe tun", h->tap);
		return tap_error(h->tap, err, e);
	}
	if (ioctl(h->tap_fd, TUNGETFEATURES, &features) < 0 || !(features & IFF_VNET_HDR))
		return tap_error(h->tap, EOPNOTSUPP, e);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", NET_IFNAME_MAX, h->tap);
	if (ioctl(h->tap_fd, TUNSETIFF, &ifr) < 0)
		return tap_error(h->tap, errno, e);
	h->attached = true;
	/* gone and re-created meanwhile (we made it?): closing removes ours */
	if (if_nametoindex(h->tap) != index)
		return tap_error(h->tap, ENODEV, e);
	if (ioctl(h->tap_fd, TUNGETVNETHDRSZ, &h->saved_hdr_sz) < 0)
		h->saved_hdr_sz = -1;
	if (ioctl(h->tap_fd, TUNSETVNETHDRSZ, &hdr_sz) < 0 ||
	    ioctl(h->tap_fd, TUNSETOFFLOAD, 0UL) < 0)
		return tap_error(h->tap, errno, e);
	return 0;
}

/*
 * Leave the tap as we found it: no offloads, its vnet header size; never
 * its link state or addresses. Its vnet_hdr flag stays on: TUNSETIFF set it
 * on the device and only another TUNSETIFF (outside the sandbox) clears it.
 */
static void tap_close(struct net_host *h)
{
	if (h->tap_fd < 0)
		return;
	if (h->attached) {
		ioctl(h->tap_fd, TUNSETOFFLOAD, 0UL);
		if (h->saved_hdr_sz > 0)
			ioctl(h->tap_fd, TUNSETVNETHDRSZ, &h->saved_hdr_sz);
	}
	close(h->tap_fd);
	h->tap_fd = -1;
}

static int tap_set_offloads(struct net_nic *n, uint64_t features)
{
	unsigned long off = net_tap_offloads(features);

	if (ioctl(n->tap_fd, TUNSETOFFLOAD, off) == 0)
		return 0;
	/* kernels without UFO towards the guest: go on without it */
	if (errno == EINVAL && (off & TUN_F_UFO) &&
	    ioctl(n->tap_fd, TUNSETOFFLOAD, off & ~(unsigned long)TUN_F_UFO) == 0)
		return 0;
	return -errno;
}

/* ---- virtio device ops ---- */

static int net_activate(struct virtio_dev *d)
{
	struct net_nic *n = d->priv;
	int ret;

	if (!d->vqs)
		return -EINVAL;
	pthread_mutex_lock(n->lock);
	ret = tap_set_offloads(n, d->driver_features);
	if (ret)
		kv_warn_ratelimited("%s: cannot set the tap's offloads: %s", d->name,
				    strerror(-ret));
	if (!ret && n->vhost.fd >= 0)
		ret = vhost_net_start(n);
	if (!ret)
		n->active = true;
	pthread_mutex_unlock(n->lock);
	if (!ret)
		virtio_worker_wake(&n->worker);	/* buffers and frames may be waiting already */
	return ret;
}

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct net_nic *n = d->priv;

	(void)q;
	virtio_worker_wake(&n->worker);
}

static void net_reset(struct virtio_dev *d)
{
	struct net_nic *n = d->priv;

	pthread_mutex_lock(n->lock);	/* waits for a round in progress */
	n->active = false;
	if (n->vhost.fd >= 0)
		vhost_stop(&n->vhost);
	for (unsigned int q = 0; d->vqs && q < d->num_queues; q++)
		virtq_reset(&d->vqs[q]);
	if (n->rx)
		n->rx->len = 0;
	if (n->tap_fd >= 0)
		ioctl(n->tap_fd, TUNSETOFFLOAD, 0UL);
	pthread_mutex_unlock(n->lock);
}

static void net_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct net_nic *n = d->priv;

	virtio_config_copy(n->config, NET_CONFIG_SIZE, off, data, len);
}

static const struct virtio_dev_ops net_ops = {
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.config_read = net_config_read,
	/* no config_write: read-only in virtio 1.x (the MAC is set through a control queue) */
	.reset = net_reset,
};

/* ---- setup and teardown ---- */

static void nic_remove(struct net_nic *n)
{
	virtio_worker_stop(&n->worker);
	pthread_mutex_lock(n->lock);
	n->active = false;
	if (n->vhost.fd >= 0)
		vhost_stop(&n->vhost);
	pthread_mutex_unlock(n->lock);
	virtio_remove(&n->vdev);
	pthread_mutex_lock(n->lock);
	virtio_worker_destroy(&n->worker);
	vhost_net_detach(n, n->host);
	vhost_dev_release(&n->vhost);
	/* the tap stays attached for the next VM, without this guest's offloads */
	if (n->tap_fd >= 0)
		ioctl(n->tap_fd, TUNSETOFFLOAD, 0UL);
	n->tap_fd = -1;
	free(n->rx);
	n->rx = NULL;
	pthread_mutex_unlock(n->lock);
}

/* The fds the I/O thread watches besides its wake: tap, and kicks or vhost's calls. */
static int nic_watch(struct net_nic *n)
{
	int ret;

	ret = evloop_add(n->worker.loop, n->tap_fd, 0, nic_tap_readable, n);
	if (!ret && n->vhost.fd < 0)
		return virtio_worker_watch_kicks(&n->worker, &n->vdev);
	if (!ret)
		ret = vhost_watch_calls(&n->vhost, n->worker.loop);
	return ret;
}

static void nic_destroy(struct device *dev)
{
	struct net_nic *n = container_of(dev, struct net_nic, dev);

	nic_remove(n);
	pthread_mutex_destroy(n->lock);
	free(n);
}

static int nic_describe(struct device *dev, struct inventory *inv)
{
	struct net_nic *n = container_of(dev, struct net_nic, dev);

	return virtio_describe(&n->vdev, dev, inv);
}

static void nic_stats(struct device *dev,
		      void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	struct net_nic *n = container_of(dev, struct net_nic, dev);

	/* with vhost-net the kernel moves the frames: these count the userspace path */
	virtio_dev_stats(&n->vdev, "tx_packets", "rx_packets", counter_get(&n->worker.kicks),
			 fn, ctx);
}

static const struct device_ops nic_device_ops = {
	.describe = nic_describe,
	.stats = nic_stats,
	.destroy = nic_destroy,
};

static struct device_type net_type;

/* One NIC on the tap (and vhost-net) its spec opened before the first VM. */
static int nic_create(struct vm *vm, const struct device_env *env, const void *conf,
		      void *host, unsigned int index, struct errmsg *err)
{
	const struct net_config *nc = conf;
	struct net_host *h = host;
	char thread[32];	/* "kvmini-netN": the worker keeps the kernel's 16 bytes */
	struct net_nic *n;
	uint8_t mac[6];
	int ret;

	if (!h || h->tap_fd < 0)
		return errmsg_set(err, -EBADF, "tap=%s: the tap was not opened during setup",
				  nc->tap);
	n = calloc(1, sizeof(*n));
	if (!n)
		return errmsg_set(err, -ENOMEM, "tap=%s: out of memory", nc->tap);
	n->vm = vm;
	n->host = h;
	pthread_mutex_init(&n->lock_mem, NULL);
	n->lock = &n->lock_mem;
	n->tap_fd = -1;
	vhost_dev_init(&n->vhost, &n->vdev, -1, 0, vhost_net_backend);
	snprintf(n->tap, sizeof(n->tap), "%s", nc->tap);
	snprintf(n->name, sizeof(n->name), "virtio-net %s", nc->tap);
	snprintf(thread, sizeof(thread), "kvmini-net%u", index);
	ret = virtio_worker_init(&n->worker, vm, thread, &net_io_class, nic_serve, n);
	if (ret) {
		pthread_mutex_destroy(&n->lock_mem);
		free(n);
		return errmsg_set(err, ret, "tap=%s: cannot start the NIC's I/O thread: %s",
				  nc->tap, strerror(-ret));
	}
	device_add(vm, &n->dev, &net_type, &nic_device_ops);	/* from here on, destroy undoes it */

	n->tap_fd = h->tap_fd;
	n->vdev.host_features = net_host_features();
	ret = vhost_net_attach(n, h, nc->vhost);
	if (ret)
		return ret;	/* vhost_fail() said why */
	if (n->vhost.fd >= 0)
		n->vdev.host_features &= ~VHOST_RING_FEATURES | n->vhost.features;
	if (nc->mac_set)
		memcpy(mac, nc->mac, sizeof(mac));
	else
		net_default_mac(nc->tap, index, mac);
	net_build_config(mac, n->config);

	n->rx = calloc(1, sizeof(*n->rx));
	if (!n->rx) {
		ret = -ENOMEM;
		goto err_thread;
	}
	n->vdev.ops = &net_ops;
	n->vdev.priv = n;
	n->vdev.name = n->name;
	n->vdev.device_id = VIRTIO_ID_NET;
	n->vdev.num_queues = NET_NUM_QUEUES;
	n->vdev.queue_max_size = NET_QUEUE_SIZE;
	n->vdev.config_size = NET_CONFIG_SIZE;
	ret = virtio_add(vm, &n->vdev, env->transport);
	if (ret)
		return ret;	/* the transport said why */
	ret = nic_watch(n);
	if (ret)
		goto err_thread;
	ret = virtio_worker_start(&n->worker);
	if (ret)
		goto err_thread;
	kv_debug("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x, %s data path", n->name, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5],
		 n->vhost.fd >= 0 ? "vhost-net" : "userspace");
	return 0;
err_thread:
	return errmsg_set(err, ret, "tap=%s: cannot start the NIC's I/O thread: %s", nc->tap,
			  strerror(-ret));
}

static void net_close_host(void *host)
{
	struct net_host *h = host;

	if (h->vhost_fd >= 0)
		close(h->vhost_fd);
	h->vhost_fd = -1;
	tap_close(h);
	free(h);
}

/* The tap, and vhost-net where it is used, before the first VM. */
static int net_open_host(const void *conf, const struct device_env *env, void **host,
			 struct errmsg *err)
{
	const struct net_config *nc = conf;
	struct net_host *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return errmsg_set(err, -ENOMEM, "tap=%s: out of memory", nc->tap);
	h->tap_fd = h->vhost_fd = h->saved_hdr_sz = -1;
	snprintf(h->tap, sizeof(h->tap), "%s", nc->tap);
	ret = tap_open(h, env, err);
	if (!ret && nc->vhost != VHOST_OFF) {
		ret = vhost_net_open(h, nc->vhost);
		if (ret < 0)
			err->msg[0] = 0;	/* vhost_fail() said why */
	}
	if (ret < 0) {
		net_close_host(h);
		return ret;
	}
	*host = h;
	return 0;
}

static struct device_type net_type = {
	.name = "net",
	.phase = PHASE_DEVICE,
	.conf_size = sizeof(struct net_config),
	.max = MAX_NETS,
	.help = "  --net tap=NAME[,mac=MAC][,vhost=auto|on|off]\n"
		"                       virtio-net device on an existing tap interface\n"
		"                       (see kvmini-ifup); vhost-net when available; repeatable\n",
	.help_after = "volume-limit",
	.parse = net_config_parse,
	.conflicts = net_config_conflicts,
	.open_host = net_open_host,
	.close_host = net_close_host,
	.create = nic_create,
};
DEVICE_REGISTER(net_type);
