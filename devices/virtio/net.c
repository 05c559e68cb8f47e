/*
 * virtio-net (device id 1) on an existing tap: --net tap=NAME[,mac=MAC][,vhost=...].
 * Data path either in the kernel (vhost-net: kicks are the queues' ioeventfds,
 * interrupts the MSI-X irqfds, kvmini only sets it up) or on one I/O thread
 * per NIC: kick/tap readable -> net_tx/net_rx -> virtq -> interrupt.
 */
#include <endian.h>
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

#include "device.h"
#include "evloop.h"
#include "log.h"
#include "net.h"
#include "sandbox.h"
#include "util.h"
#include "vm.h"

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

/* Copy @len bytes of @buf into @iov from byte @skip on; bytes copied. */
static size_t iov_put(const struct iovec *iov, unsigned int n, size_t skip,
		      const uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - skip;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, buf + done, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

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
		/* a frame the tap refuses (link down, malformed GSO) is dropped, as on a wire */
		virtq_push(vq, &e, 0);
		done++;
	}
	if (done && d->transport && d->transport->notify_queue)
		d->transport->notify_queue(d, NET_TXQ);
	if (ret < 0) {
		virtio_dev_needs_reset(d, why);
		return -EINVAL;
	}
	return (int)done;
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
	uint16_t nb;
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
		put = iov_put(e->iov, e->n_in, 0, frame + off, len - off);
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
	nb = htole16((uint16_t)n);
	iov_put(first.iov, first.n_in, NUM_BUFFERS_OFF, (const uint8_t *)&nb, sizeof(nb));
	virtq_push_batch(vq, heads, lens, n);
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
	if (delivered && d->transport && d->transport->notify_queue)
		d->transport->notify_queue(d, NET_RXQ);
	if (res == NET_RX_BROKEN)
		virtio_dev_needs_reset(d, why);
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
	int vhost_fd;			/* the same; -1: the userspace data path */
	uint64_t vhost_features;
	bool vhost_running[NET_NUM_QUEUES];
	int call_fd[NET_NUM_QUEUES];	/* vhost without a direct irqfd: we forward */
	struct net_rx *rx;
	struct evloop *loop;
	pthread_t thread;
	bool thread_started;
	int wake_fd;
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

static void nic_wake(struct net_nic *n)
{
	uint64_t one = 1;

	if (n->wake_fd >= 0 && write(n->wake_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the thread is waking anyway */
	}
}

static void tap_poll(struct net_nic *n, bool on)
{
	on = on && !n->tap_gone;
	if (n->tap_polled == on || n->tap_gone)
		return;
	if (!evloop_mod(n->loop, n->tap_fd, on ? EPOLLIN : 0))
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
	evloop_del(n->loop, n->tap_fd);
	kv_warn("%s: the tap stopped working (deleted?); the guest's network is down "
		"until kvmini is restarted", n->name);
	__atomic_store_n(&n->config[NET_CONFIG_STATUS_OFF], 0, __ATOMIC_SEQ_CST);
	if (d->transport && d->transport->notify_config)
		d->transport->notify_config(d);
}

/* I/O thread: serve both queues once, within budget. */
static void nic_serve(struct net_nic *n)
{
	enum net_rx_result rr = NET_RX_NO_BUFFERS;
	bool more = false;

	pthread_mutex_lock(n->lock);
	if (n->active && n->vhost_fd < 0) {
		if (net_tx(&n->vdev, n->tap_fd, NET_BUDGET) == NET_BUDGET)
			more = true;
		rr = n->tap_gone ? NET_RX_GONE : net_rx(&n->vdev, n->rx, n->tap_fd, NET_BUDGET);
		if (rr == NET_RX_BUDGET)
			more = true;
		if (rr == NET_RX_GONE)
			tap_fail(n);
	}
	/* no buffers: leave frames in the tap until the driver kicks RX */
	tap_poll(n, n->active && n->vhost_fd < 0 && (rr == NET_RX_IDLE || rr == NET_RX_BUDGET));
	pthread_mutex_unlock(n->lock);
	if (more)
		nic_wake(n);
}

static void nic_kick(int fd, uint32_t events, void *opaque)
{
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already drained */
	}
	nic_serve(opaque);
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
	nic_serve(n);
}

/* vhost signalled a queue whose vector has no irqfd: interrupt through the transport. */
static void nic_call(int fd, uint32_t events, void *opaque)
{
	struct net_nic *n = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	for (unsigned int q = 0; q < NET_NUM_QUEUES; q++)
		if (fd == n->call_fd[q] && n->vdev.transport && n->vdev.transport->raise_queue)
			n->vdev.transport->raise_queue(&n->vdev, q);
}

static void *nic_thread(void *opaque)
{
	struct net_nic *n = opaque;
	char name[16];	/* "kvmini-netN" fits the kernel's 16 bytes */
	int ret;

	/* from inside (prctl): naming another thread opens /proc/self/task/N/comm */
	snprintf(name, sizeof(name), "kvmini-net%u", n->dev.index);
	pthread_setname_np(pthread_self(), name);
	ret = sandbox_enter(SANDBOX_IO);
	if (ret == -ECANCELED)
		return NULL;	/* the VM was torn down before setup finished */
	if (ret) {
		vm_request_stop(n->vm, STOP_ERROR, EXIT_ERROR);
		return NULL;
	}
	evloop_run(n->loop);
	return NULL;
}

/*
 * ---- vhost-net ----
 * The kernel serves both rings: kick = the queue's ioeventfd, call = the
 * irqfd of its MSI-X vector (decided at DRIVER_OK), else an eventfd of ours
 * that the I/O thread forwards through raise_queue (INTx, MMIO, no vector).
 * Limits: with a direct irqfd a masked vector still fires (KVM keeps the
 * route), and a vector or MSI-X change after DRIVER_OK is not followed until
 * the next reset; a driver that breaks the ring rules stalls the queue in
 * the kernel instead of getting NEEDS_RESET.
 */

static int vhost_vring(struct net_nic *n, unsigned long req, unsigned int q, int fd)
{
	struct vhost_vring_file f = { .index = q, .fd = fd };

	return ioctl(n->vhost_fd, req, &f) < 0 ? -errno : 0;
}

/* Stop the kernel's data path: no backend, rings stopped (lock held). */
static void vhost_stop(struct net_nic *n)
{
	for (unsigned int q = 0; q < NET_NUM_QUEUES; q++) {
		struct vhost_vring_state s = { .index = q };

		if (!n->vhost_running[q])
			continue;
		vhost_vring(n, VHOST_NET_SET_BACKEND, q, -1);
		ioctl(n->vhost_fd, VHOST_GET_VRING_BASE, &s);
		n->vhost_running[q] = false;
	}
}

/* Ring addresses as host pointers, checked as virtq.c checks them. */
static int vhost_ring_addr(struct virtq *vq, struct vhost_vring_addr *a)
{
	uint64_t extra = vq->event_idx ? 2 : 0;
	void *desc, *avail, *used;

	if (virtq_validate(vq))
		return -EINVAL;
	desc = guest_ptr(vq->mem, vq->desc_gpa, 16ULL * vq->size);
	avail = guest_ptr(vq->mem, vq->avail_gpa, 4 + 2ULL * vq->size + extra);
	used = guest_ptr(vq->mem, vq->used_gpa, 4 + 8ULL * vq->size + extra);
	if (!desc || !avail || !used)
		return -EINVAL;
	a->flags = 0;
	a->desc_user_addr = (uintptr_t)desc;
	a->avail_user_addr = (uintptr_t)avail;
	a->used_user_addr = (uintptr_t)used;
	a->log_guest_addr = 0;
	return 0;
}

static int vhost_start_queue(struct net_nic *n, unsigned int q)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *vq = &d->vqs[q];
	struct vhost_vring_state num = { .index = q, .num = vq->size };
	struct vhost_vring_state base = { .index = q, .num = vq->last_avail };
	struct vhost_vring_addr addr = { .index = q };
	int call = -1, ret;

	ret = vhost_ring_addr(vq, &addr);
	if (ret)
		return ret;
	if (d->kick_fds[q] < 0)
		return -ENODEV;
	if (d->transport->queue_call_fd)
		call = d->transport->queue_call_fd(d, q);
	if (call < 0)
		call = n->call_fd[q];
	if (ioctl(n->vhost_fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(n->vhost_fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(n->vhost_fd, VHOST_SET_VRING_ADDR, &addr) < 0)
		return -errno;
	ret = vhost_vring(n, VHOST_SET_VRING_KICK, q, d->kick_fds[q]);
	if (!ret)
		ret = vhost_vring(n, VHOST_SET_VRING_CALL, q, call);
	if (!ret)
		ret = vhost_vring(n, VHOST_NET_SET_BACKEND, q, n->tap_fd);
	if (!ret)
		n->vhost_running[q] = true;
	return ret;
}

/* DRIVER_OK with vhost: hand both rings to the kernel (lock held). */
static int vhost_start(struct net_nic *n)
{
	uint64_t features = n->vdev.driver_features & n->vhost_features;
	int ret = 0;

	if (ioctl(n->vhost_fd, VHOST_SET_FEATURES, &features) < 0)
		ret = -errno;
	for (unsigned int q = 0; !ret && q < NET_NUM_QUEUES; q++)
		if (n->vdev.vqs[q].ready)
			ret = vhost_start_queue(n, q);
	if (ret) {
		kv_warn_ratelimited("%s: cannot start vhost-net: %s", n->name, strerror(-ret));
		vhost_stop(n);
	}
	return ret;
}

static int vhost_set_mem_table(struct net_nic *n)
{
	const struct guest_mem *m = &n->vm->mem;
	struct vhost_memory *vm;
	int ret = 0;

	vm = calloc(1, sizeof(*vm) + m->nr_regions * sizeof(vm->regions[0]));
	if (!vm)
		return -ENOMEM;
	vm->nregions = m->nr_regions;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		vm->regions[i].guest_phys_addr = m->regions[i].gpa;
		vm->regions[i].memory_size = m->regions[i].size;
		vm->regions[i].userspace_addr = (uintptr_t)m->regions[i].hva;
	}
	if (ioctl(n->vhost_fd, VHOST_SET_MEM_TABLE, vm) < 0)
		ret = -errno;
	free(vm);
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
static int vhost_open(struct net_host *h, enum vhost_mode mode)
{
	const char *step = "open /dev/vhost-net";
	int ret = 0;

	h->vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (h->vhost_fd < 0) {
		ret = -errno;
		goto fail;
	}
	step = "VHOST_SET_OWNER";
	if (ioctl(h->vhost_fd, VHOST_SET_OWNER) < 0) {
		ret = -errno;
		goto fail;
	}
	h->vhost_owned = true;
	step = "VHOST_GET_FEATURES";
	if (ioctl(h->vhost_fd, VHOST_GET_FEATURES, &h->vhost_features) < 0) {
		ret = -errno;
		goto fail;
	}
	if (!(h->vhost_features >> VIRTIO_F_VERSION_1 & 1)) {
		step = "virtio 1.0 rings";
		ret = -EOPNOTSUPP;
		goto fail;
	}
	h->vhost_features &= VHOST_RING_FEATURES;
	return 0;
fail:
	if (h->vhost_fd >= 0)
		close(h->vhost_fd);
	h->vhost_fd = -1;
	h->vhost_owned = false;
	return vhost_fail(h, mode, step, ret);
}

/*
 * This VM's NIC on the host's vhost-net fd: ownership (given up by the
 * previous VM), then the guest memory. 0, also when vhost=auto falls back
 * to the userspace path; -errno after kv_err() with vhost=on.
 */
static int vhost_attach(struct net_nic *n, struct net_host *h, enum vhost_mode mode)
{
	const char *step = "VHOST_SET_OWNER";
	int ret = 0;

	if (h->vhost_fd < 0)
		return 0;
	if (!h->vhost_owned) {
		if (ioctl(h->vhost_fd, VHOST_SET_OWNER) < 0)
			ret = -errno;
		else
			h->vhost_owned = true;
	}
	n->vhost_fd = h->vhost_fd;
	n->vhost_features = h->vhost_features;
	if (!ret) {
		step = "VHOST_SET_MEM_TABLE";
		ret = vhost_set_mem_table(n);
	}
	if (!ret) {
		kv_debug("%s: data path in the kernel (vhost-net)", n->name);
		return 0;
	}
	n->vhost_fd = -1;
	ret = vhost_fail(h, mode, step, ret);
	return ret > 0 ? 0 : ret;
}

/* The next VM starts from a device as fresh as a new open. */
static void vhost_detach(struct net_nic *n, struct net_host *h)
{
	if (n->vhost_fd < 0)
		return;
	if (h->vhost_owned && ioctl(n->vhost_fd, VHOST_RESET_OWNER) == 0)
		h->vhost_owned = false;
	n->vhost_fd = -1;
}

/* ---- the tap ---- */

static int tap_error(const char *tap, int err, struct errmsg *e)
{
	switch (err) {
	case ENODEV:
		return errmsg_set(e, -err, "tap=%s: no such interface; kvmini uses an existing "
				  "tap: create it with tools/kvmini-ifup %s (or ip tuntap add %s "
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
	if (!ret && n->vhost_fd >= 0)
		ret = vhost_start(n);
	if (!ret)
		n->active = true;
	pthread_mutex_unlock(n->lock);
	if (!ret)
		nic_wake(n);	/* buffers and frames may be waiting already */
	return ret;
}

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	(void)q;
	nic_wake(d->priv);
}

static void net_reset(struct virtio_dev *d)
{
	struct net_nic *n = d->priv;

	pthread_mutex_lock(n->lock);	/* waits for a round in progress */
	n->active = false;
	if (n->vhost_fd >= 0)
		vhost_stop(n);
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
	if (n->thread_started) {
		sandbox_abort();	/* the thread may still wait in sandbox_enter() */
		evloop_stop(n->loop);
		pthread_join(n->thread, NULL);
		n->thread_started = false;
	}
	pthread_mutex_lock(n->lock);
	n->active = false;
	if (n->vhost_fd >= 0)
		vhost_stop(n);
	pthread_mutex_unlock(n->lock);
	virtio_remove(&n->vdev);
	pthread_mutex_lock(n->lock);
	evloop_destroy(n->loop);
	n->loop = NULL;
	vhost_detach(n, n->host);
	for (unsigned int q = 0; q < NET_NUM_QUEUES; q++) {
		if (n->call_fd[q] >= 0)
			close(n->call_fd[q]);
		n->call_fd[q] = -1;
	}
	if (n->wake_fd >= 0)
		close(n->wake_fd);
	n->wake_fd = -1;
	/* the tap stays attached for the next VM, without this guest's offloads */
	if (n->tap_fd >= 0)
		ioctl(n->tap_fd, TUNSETOFFLOAD, 0UL);
	n->tap_fd = -1;
	free(n->rx);
	n->rx = NULL;
	pthread_mutex_unlock(n->lock);
}

/* The fds the I/O thread watches: wake, tap, and kicks or vhost's calls. */
static int nic_watch(struct net_nic *n)
{
	int ret;

	ret = evloop_add(n->loop, n->wake_fd, EPOLLIN, nic_kick, n);
	if (!ret)
		ret = evloop_add(n->loop, n->tap_fd, 0, nic_tap_readable, n);
	for (unsigned int q = 0; !ret && q < NET_NUM_QUEUES; q++) {
		if (n->vhost_fd >= 0) {
			n->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			ret = n->call_fd[q] < 0 ? -errno :
				evloop_add(n->loop, n->call_fd[q], EPOLLIN, nic_call, n);
		} else if (n->vdev.kick_fds[q] >= 0) {
			/* without one, kicks arrive through net_queue_notify */
			ret = evloop_add(n->loop, n->vdev.kick_fds[q], EPOLLIN, nic_kick, n);
		}
	}
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

static const struct device_ops nic_device_ops = {
	.describe = nic_describe,
	.destroy = nic_destroy,
};

static struct device_type net_type;

/* One NIC on the tap (and vhost-net) its spec opened before the first VM. */
static int nic_create(struct vm *vm, const struct device_env *env, const void *conf,
		      void *host, unsigned int index, struct errmsg *err)
{
	const struct net_config *nc = conf;
	struct net_host *h = host;
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
	n->tap_fd = n->vhost_fd = n->wake_fd = -1;
	for (unsigned int q = 0; q < NET_NUM_QUEUES; q++)
		n->call_fd[q] = -1;
	snprintf(n->tap, sizeof(n->tap), "%s", nc->tap);
	snprintf(n->name, sizeof(n->name), "virtio-net %s", nc->tap);
	device_add(vm, &n->dev, &net_type, &nic_device_ops);	/* from here on, destroy undoes it */

	n->tap_fd = h->tap_fd;
	n->vdev.host_features = net_host_features();
	ret = vhost_attach(n, h, nc->vhost);
	if (ret)
		return ret;	/* vhost_fail() said why */
	if (n->vhost_fd >= 0)
		n->vdev.host_features &= ~VHOST_RING_FEATURES | n->vhost_features;
	if (nc->mac_set)
		memcpy(mac, nc->mac, sizeof(mac));
	else
		net_default_mac(nc->tap, index, mac);
	net_build_config(mac, n->config);

	n->rx = calloc(1, sizeof(*n->rx));
	n->loop = evloop_create();
	n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!n->rx || !n->loop || n->wake_fd < 0) {
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
	ret = -pthread_create(&n->thread, NULL, nic_thread, n);
	if (ret)
		goto err_thread;
	n->thread_started = true;
	kv_debug("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x, %s data path", n->name, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5],
		 n->vhost_fd >= 0 ? "vhost-net" : "userspace");
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
		ret = vhost_open(h, nc->vhost);
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
