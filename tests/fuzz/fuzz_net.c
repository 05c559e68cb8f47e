/*
 * libFuzzer harness for virtio-net's data path (devices/virtio/net.c):
 * net_tx() and net_rx() on queues whose rings and buffers are the input,
 * with a socketpair in place of the tap, without KVM.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/net.h"
#include "fuzz.h"

#define MEM_SIZE	0x10000u	/* 64 KiB: a u16 reaches every byte */
#define MAX_FRAMES	3

/*
 * Input (little-endian; mkcorpus.py writes the seeds):
 *   u8  log2 of the RX queue size, u8 log2 of the TX queue size (mod 11)
 *   u8  flags, below
 *   u8  budget (chains or frames per call)
 *   u16 desc_gpa, avail_gpa, used_gpa, last_avail, used_idx: RX queue
 *   u16 desc_gpa, avail_gpa, used_gpa, last_avail, used_idx: TX queue
 *   u16 lengths of up to three frames the tap delivers (0: none; taken
 *       mod NET_MAX_FRAME + 1)
 *   the rest: guest RAM from gpa 0, zero beyond the input
 */
#define FL_EVENT_IDX	1
#define FL_INDIRECT	2
#define FL_MRG_RXBUF	4	/* driver accepted MRG_RXBUF */

static struct guest_mem mem;
static struct net_rx *rx;
static int sv[2] = { -1, -1 };	/* sv[0]: the device's "tap", sv[1]: the network */
static uint8_t frame[NET_MAX_FRAME];

static void fake_notify_queue(struct virtio_dev *d, unsigned int q)
{
	(void)virtq_should_notify(&d->vqs[q]);
}

static void fake_notify_config(struct virtio_dev *d)
{
	(void)d;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static void init_once(void)
{
	size_t i;

	fuzz_mem_alloc(&mem, MEM_SIZE, MEM_SIZE);
	rx = calloc(1, sizeof(*rx));
	FUZZ_CHECK(rx);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	for (i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 13 + (i >> 8));
}

/* Throw away whatever waits on @fd, so inputs do not see each other's frames. */
static void drain(int fd)
{
	while (recv(fd, frame, 0, MSG_TRUNC) >= 0)
		;
}

static void read_queue(struct fuzz_in *in, struct virtq *vq, uint8_t log2, uint8_t flags)
{
	vq->mem = &mem;
	vq->ready = true;
	vq->size = (uint16_t)(1u << (log2 % 11));
	vq->event_idx = flags & FL_EVENT_IDX;
	vq->indirect = flags & FL_INDIRECT;
	vq->desc_gpa = fuzz_u16(in);
	vq->avail_gpa = fuzz_u16(in);
	vq->used_gpa = fuzz_u16(in);
	vq->last_avail = fuzz_u16(in);
	vq->used_idx = fuzz_u16(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtq vqs[NET_NUM_QUEUES];
	struct virtio_dev dev = { 0 };
	uint8_t rx_log2, tx_log2, flags;
	enum net_rx_result res;
	unsigned int budget, i;
	int ret;

	if (!rx)
		init_once();
	memset(vqs, 0, sizeof(vqs));
	rx_log2 = fuzz_u8(&in);
	tx_log2 = fuzz_u8(&in);
	flags = fuzz_u8(&in);
	budget = fuzz_u8(&in);
	read_queue(&in, &vqs[NET_RXQ], rx_log2, flags);
	read_queue(&in, &vqs[NET_TXQ], tx_log2, flags);

	drain(sv[0]);
	drain(sv[1]);
	rx->len = 0;
	for (i = 0; i < MAX_FRAMES; i++) {
		size_t len = fuzz_u16(&in) % (NET_MAX_FRAME + 1);

		/* a frame the socket buffer has no room for is simply not sent */
		if (len)
			(void)send(sv[1], frame, len, 0);
	}
	memset(mem.base, 0, MEM_SIZE);
	memcpy(mem.base, in.p, in.n < MEM_SIZE ? in.n : MEM_SIZE);

	dev.name = "virtio-net fuzz";
	dev.num_queues = NET_NUM_QUEUES;
	dev.vqs = vqs;
	dev.transport = &fake_transport;
	dev.host_features = net_host_features();
	dev.driver_features = dev.host_features & ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if (flags & FL_MRG_RXBUF)
		dev.driver_features |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;

	ret = net_tx(&dev, sv[0], budget);
	if (ret < 0)
		FUZZ_CHECK(ret == -EINVAL && (dev.status & VIRTIO_STATUS_NEEDS_RESET));
	else
		FUZZ_CHECK((unsigned int)ret <= budget);

	/* twice: a frame left waiting for buffers is retried */
	for (i = 0; i < 2; i++) {
		res = net_rx(&dev, rx, sv[0], budget);
		FUZZ_CHECK(res == NET_RX_IDLE || res == NET_RX_NO_BUFFERS ||
			   res == NET_RX_BUDGET || res == NET_RX_BROKEN);
		if (res == NET_RX_BROKEN)
			FUZZ_CHECK(dev.status & VIRTIO_STATUS_NEEDS_RESET);
		FUZZ_CHECK(rx->len <= sizeof(rx->buf));
	}
	return 0;
}
