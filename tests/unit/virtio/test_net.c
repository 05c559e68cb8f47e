/* virtio-net TX and RX against a socketpair in place of the tap, and the device's constants. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <cmocka.h>

#include "virtio/net.h"
#include "../ram_split.h"

/* virtio 1.x 5.1, written out here so the test checks the device's numbers */
#define F_CSUM		0
#define F_GUEST_CSUM	1
#define F_MAC		5
#define F_GUEST_TSO4	7
#define F_GUEST_TSO6	8
#define F_GUEST_ECN	9
#define F_GUEST_UFO	10
#define F_HOST_TSO4	11
#define F_MRG_RXBUF	15
#define F_STATUS	16
#define HDR		12

#define MEM_SIZE	(1u << 20)
#define QSIZE		16
#define RX_DESC		0x1000ULL
#define RX_AVAIL	0x2000ULL
#define RX_USED		0x3000ULL
#define TX_DESC		0x4000ULL
#define TX_AVAIL	0x5000ULL
#define TX_USED		0x6000ULL
#define BUF_GPA		0x10000ULL	/* guest buffers from here, 0x1000 apart */

#define D_NEXT		1
#define D_WRITE		2

static struct guest_mem mem;
static struct virtq vqs[2];
static struct virtio_dev dev;
static struct net_rx *rx;
static int sv[2];	/* sv[0]: the device's "tap", sv[1]: the network */
static unsigned int irqs[2], config_irqs;

static void fake_notify_queue(struct virtio_dev *d, unsigned int q)
{
	if (virtq_should_notify(&d->vqs[q]))
		irqs[q]++;
}

static void fake_notify_config(struct virtio_dev *d)
{
	(void)d;
	config_irqs++;
}

static const struct virtio_transport_ops fake_transport = {
	.notify_queue = fake_notify_queue,
	.notify_config = fake_notify_config,
};

static uint8_t *gp(uint64_t gpa)
{
	return mem.base + gpa;
}

static uint64_t buf(unsigned int i)
{
	return BUF_GPA + 0x1000ULL * i;
}

static void desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *d = gp(table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void offer(uint64_t avail, uint16_t head)
{
	uint16_t *idx = (uint16_t *)gp(avail + 2);

	*(uint16_t *)gp(avail + 4 + 2ULL * (*idx % QSIZE)) = head;
	(*idx)++;
}

static uint16_t used_idx(uint64_t used)
{
	return *(uint16_t *)gp(used + 2);
}

static void used_elem(uint64_t used, unsigned int slot, uint32_t *id, uint32_t *len)
{
	memcpy(id, gp(used + 4 + 8ULL * (slot % QSIZE)), 4);
	memcpy(len, gp(used + 8 + 8ULL * (slot % QSIZE)), 4);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* A frame as the tap hands it over: vnet header (num_buffers garbage), then data. */
static void send_frame(size_t len, uint8_t seed, uint8_t *copy)
{
	uint8_t f[NET_MAX_FRAME];

	fill(f, len, seed);
	f[10] = 0xee;
	f[11] = 0xee;
	memcpy(copy, f, len);
	assert_int_equal(send(sv[1], f, len, 0), (ssize_t)len);
}

static bool needs_reset(void)
{
	return dev.status & VIRTIO_STATUS_NEEDS_RESET;
}

static int setup(void **state)
{
	(void)state;
	if (!mem.base)
		assert_int_equal(test_mem_alloc(&mem, MEM_SIZE, 0xc0000000ULL), 0);
	memset(mem.base, 0, MEM_SIZE);
	vqs[NET_RXQ] = (struct virtq){
		.mem = &mem, .size = QSIZE, .ready = true, .event_idx = true,
		.desc_gpa = RX_DESC, .avail_gpa = RX_AVAIL, .used_gpa = RX_USED,
	};
	vqs[NET_TXQ] = (struct virtq){
		.mem = &mem, .size = QSIZE, .ready = true, .event_idx = true,
		.desc_gpa = TX_DESC, .avail_gpa = TX_AVAIL, .used_gpa = TX_USED,
	};
	dev = (struct virtio_dev){
		.name = "virtio-net test", .num_queues = 2, .vqs = vqs,
		.transport = &fake_transport,
		.host_features = net_host_features(),
	};
	dev.driver_features = dev.host_features & ~(1ULL << F_MRG_RXBUF);
	irqs[0] = irqs[1] = config_irqs = 0;
	rx = calloc(1, sizeof(*rx));
	assert_non_null(rx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(rx);
	return 0;
}

/* ---- constants ---- */

static void test_config_space(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t want[NET_CONFIG_SIZE] = {
		0x02, 0x11, 0x22, 0x33, 0x44, 0x55,	/* mac */
		1, 0,					/* status: LINK_UP */
		1, 0,					/* max_virtqueue_pairs */
	};
	uint8_t config[NET_CONFIG_SIZE];

	(void)state;
	memset(config, 0xcc, sizeof(config));
	net_build_config(mac, config);
	assert_memory_equal(config, want, sizeof(want));
}

static void test_features(void **state)
{
	uint64_t f = net_host_features();
	static const unsigned int want[] = {
		F_CSUM, F_GUEST_CSUM, F_MAC, F_GUEST_TSO4, F_GUEST_TSO6, F_GUEST_ECN,
		F_GUEST_UFO, F_HOST_TSO4, 12, 13, 14, F_MRG_RXBUF, F_STATUS, 28, 29, 32,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_true(f >> want[i] & 1);
	/* no control queue, no multiqueue, no MTU: none of their bits */
	assert_false(f >> 17 & 1);	/* CTRL_VQ */
	assert_false(f >> 22 & 1);	/* MQ */
	assert_false(f >> 3 & 1);	/* MTU */
}

static void test_tap_offloads(void **state)
{
	uint64_t all = 1ULL << F_GUEST_CSUM | 1ULL << F_GUEST_TSO4 | 1ULL << F_GUEST_TSO6 |
		       1ULL << F_GUEST_ECN | 1ULL << F_GUEST_UFO;

	(void)state;
	assert_int_equal(net_tap_offloads(0), 0);
	assert_int_equal(net_tap_offloads(1ULL << F_GUEST_CSUM), TUN_F_CSUM);
	assert_int_equal(net_tap_offloads(all), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
						TUN_F_TSO_ECN | TUN_F_UFO);
	/* TSO without checksum offload is meaningless to the tap */
	assert_int_equal(net_tap_offloads(all & ~(1ULL << F_GUEST_CSUM)), 0);
	/* HOST_* features concern the other direction */
	assert_int_equal(net_tap_offloads(1ULL << F_HOST_TSO4 | 1ULL << F_CSUM), 0);
}

static void test_default_mac(void **state)
{
	uint8_t a[6], b[6], c[6], d[6];

	(void)state;
	net_default_mac("tap0", 0, a);
	net_default_mac("tap0", 0, b);
	net_default_mac("tap1", 0, c);
	net_default_mac("tap0", 1, d);
	assert_memory_equal(a, b, 6);		/* stable */
	assert_memory_not_equal(a, c, 6);	/* per tap */
	assert_memory_not_equal(a, d, 6);	/* per index */
	assert_int_equal(a[0] & 1, 0);		/* unicast */
	assert_int_equal(a[0] & 2, 2);		/* locally administered */
	assert_int_equal(c[0] & 3, 2);
}

/* ---- TX ---- */

static void test_tx_chain(void **state)
{
	uint8_t want[HDR + 1500], got[2048];
	uint32_t id, len;

	(void)state;
	fill(want, sizeof(want), 3);
	/* header alone, then the frame split unevenly over two descriptors */
	memcpy(gp(buf(0)), want, HDR);
	memcpy(gp(buf(1)), want + HDR, 100);
	memcpy(gp(buf(2)), want + HDR + 100, 1400);
	desc(TX_DESC, 0, buf(0), HDR, D_NEXT, 1);
	desc(TX_DESC, 1, buf(1), 100, D_NEXT, 2);
	desc(TX_DESC, 2, buf(2), 1400, 0, 0);
	offer(TX_AVAIL, 0);
	assert_int_equal(net_tx(&dev, sv[0], QSIZE), 1);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), (ssize_t)sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(used_idx(TX_USED), 1);
	used_elem(TX_USED, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);	/* TX writes nothing into the chain */
	assert_int_equal(irqs[NET_TXQ], 1);
	assert_false(needs_reset());
	/* nothing more to send */
	assert_int_equal(net_tx(&dev, sv[0], QSIZE), 0);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), -1);
}

static void test_tx_budget(void **state)
{
	uint8_t got[256];

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		fill(gp(buf(i)), HDR + 60, (uint8_t)i);
		desc(TX_DESC, i, buf(i), HDR + 60, 0, 0);
		offer(TX_AVAIL, (uint16_t)i);
	}
	assert_int_equal(net_tx(&dev, sv[0], 2), 2);
	assert_int_equal(used_idx(TX_USED), 2);
	assert_int_equal(net_tx(&dev, sv[0], 2), 1);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(recv(sv[1], got, sizeof(got), 0), HDR + 60);
		assert_memory_equal(got, gp(buf(i)), HDR + 60);
	}
}

/* Guest memory outside the used rings, to check hostile chains leave it alone. */
static uint8_t *snapshot(void)
{
	uint8_t *s = malloc(MEM_SIZE);

	assert_non_null(s);
	memcpy(s, mem.base, MEM_SIZE);
	return s;
}

static void assert_untouched(uint8_t *s)
{
	/* the used rings may get avail_event; everything else must be as it was */
	memcpy(s + RX_USED, gp(RX_USED), 0x1000);
	memcpy(s + TX_USED, gp(TX_USED), 0x1000);
	assert_memory_equal(s, mem.base, MEM_SIZE);
	free(s);
}

static void tx_expect_broken(void)
{
	uint8_t got[64];
	uint8_t *s;

	offer(TX_AVAIL, 0);
	s = snapshot();
	assert_int_equal(net_tx(&dev, sv[0], QSIZE), -EINVAL);
	assert_untouched(s);
	assert_true(needs_reset());
	assert_int_equal(used_idx(TX_USED), 0);
	assert_int_equal(recv(sv[1], got, sizeof(got), 0), -1);	/* nothing sent */
	assert_true(config_irqs >= 1);
}

static void test_tx_device_writable(void **state)
{
	(void)state;
	desc(TX_DESC, 0, buf(0), HDR, D_NEXT, 1);
	desc(TX_DESC, 1, buf(1), 100, D_WRITE, 0);
	tx_expect_broken();
}

static void test_tx_short_header(void **state)
{
	(void)state;
	desc(TX_DESC, 0, buf(0), HDR - 1, 0, 0);
	tx_expect_broken();
}

static void test_tx_outside_ram(void **state)
{
	(void)state;
	desc(TX_DESC, 0, buf(0), HDR, D_NEXT, 1);
	desc(TX_DESC, 1, MEM_SIZE - 16, 64, 0, 0);
	tx_expect_broken();
}

static void test_tx_huge_length(void **state)
{
	(void)state;
	desc(TX_DESC, 0, buf(0), 0xffffffffu, 0, 0);
	tx_expect_broken();
}

static void test_tx_loop(void **state)
{
	(void)state;
	desc(TX_DESC, 0, buf(0), HDR, D_NEXT, 1);
	desc(TX_DESC, 1, buf(1), 64, D_NEXT, 0);
	tx_expect_broken();
}

/* ---- RX ---- */

static void test_rx_single_buffer(void **state)
{
	uint8_t frame[HDR + 1500];
	uint32_t id, len;
	uint16_t nb;

	(void)state;
	/* header and data in separate descriptors of one chain */
	desc(RX_DESC, 0, buf(0), HDR, D_WRITE | D_NEXT, 1);
	desc(RX_DESC, 1, buf(1), 2048, D_WRITE, 0);
	offer(RX_AVAIL, 0);
	send_frame(sizeof(frame), 9, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(used_idx(RX_USED), 1);
	used_elem(RX_USED, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, sizeof(frame));
	assert_memory_equal(gp(buf(0)), frame, 10);	/* the tap's header */
	memcpy(&nb, gp(buf(0)) + 10, 2);
	assert_int_equal(nb, 1);			/* num_buffers */
	assert_memory_equal(gp(buf(1)), frame + HDR, 1500);
	assert_int_equal(*gp(buf(1) + 1500), 0);	/* nothing past the frame */
	assert_int_equal(irqs[NET_RXQ], 1);
	assert_int_equal(rx->dropped, 0);
	assert_false(needs_reset());
}

static void test_rx_mergeable(void **state)
{
	uint8_t frame[HDR + 1400];
	uint32_t id, len;
	uint16_t nb;

	(void)state;
	dev.driver_features |= 1ULL << F_MRG_RXBUF;
	for (unsigned int i = 0; i < 4; i++) {
		desc(RX_DESC, i, buf(i), 512, D_WRITE, 0);
		offer(RX_AVAIL, (uint16_t)i);
	}
	send_frame(sizeof(frame), 1, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	/* 1412 bytes: 512 + 512 + 388, all published at once */
	assert_int_equal(used_idx(RX_USED), 3);
	for (unsigned int i = 0; i < 3; i++) {
		used_elem(RX_USED, i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 512 : 388);
	}
	memcpy(&nb, gp(buf(0)) + 10, 2);
	assert_int_equal(nb, 3);
	assert_memory_equal(gp(buf(0)), frame, 10);
	assert_memory_equal(gp(buf(0)) + HDR, frame + HDR, 500);
	assert_memory_equal(gp(buf(1)), frame + 512, 512);
	assert_memory_equal(gp(buf(2)), frame + 1024, 388);
	assert_int_equal(*gp(buf(2) + 388), 0);
	assert_int_equal(*gp(buf(3)), 0);		/* the fourth buffer stays free */
	assert_int_equal(irqs[NET_RXQ], 1);

	/* a small frame next takes the fourth buffer alone */
	send_frame(HDR + 40, 2, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(used_idx(RX_USED), 4);
	used_elem(RX_USED, 3, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, HDR + 40);
	memcpy(&nb, gp(buf(3)) + 10, 2);
	assert_int_equal(nb, 1);
	assert_memory_equal(gp(buf(3)) + HDR, frame + HDR, 40);
}

/* MRG_RXBUF: a frame waits in the device until the driver adds enough buffers. */
static void test_rx_mergeable_waits_for_buffers(void **state)
{
	uint8_t frame[HDR + 1500];
	uint16_t nb;

	(void)state;
	dev.driver_features |= 1ULL << F_MRG_RXBUF;
	for (unsigned int i = 0; i < 2; i++) {
		desc(RX_DESC, i, buf(i), 512, D_WRITE, 0);
		offer(RX_AVAIL, (uint16_t)i);
	}
	send_frame(sizeof(frame), 5, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_NO_BUFFERS);
	assert_int_equal(used_idx(RX_USED), 0);
	assert_int_equal(rx->len, sizeof(frame));	/* kept, not dropped */
	assert_int_equal(irqs[NET_RXQ], 0);
	/* with EVENT_IDX the device asked to be kicked at the next buffer */
	assert_int_equal(*(uint16_t *)gp(RX_USED + 4 + 8 * QSIZE), 2);

	for (unsigned int i = 2; i < 4; i++) {
		desc(RX_DESC, i, buf(i), 512, D_WRITE, 0);
		offer(RX_AVAIL, (uint16_t)i);
	}
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(used_idx(RX_USED), 3);
	memcpy(&nb, gp(buf(0)) + 10, 2);
	assert_int_equal(nb, 3);
	assert_memory_equal(gp(buf(2)), frame + 1024, sizeof(frame) - 1024);
	assert_int_equal(rx->len, 0);
	assert_int_equal(rx->dropped, 0);
}

/* Without MRG_RXBUF one chain must hold the whole frame; the buffer is kept for the next. */
static void test_rx_too_big_for_chain(void **state)
{
	uint8_t frame[HDR + 1000];
	uint32_t id, len;

	(void)state;
	desc(RX_DESC, 0, buf(0), 600, D_WRITE, 0);
	offer(RX_AVAIL, 0);
	send_frame(sizeof(frame), 7, frame);
	send_frame(HDR + 100, 8, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(rx->dropped, 1);
	assert_int_equal(used_idx(RX_USED), 1);
	used_elem(RX_USED, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, HDR + 100);	/* the second frame */
	assert_memory_equal(gp(buf(0)) + HDR, frame + HDR, 100);
	assert_int_equal(*gp(buf(0) + HDR + 100), 0);
}

/* MRG_RXBUF: a frame bigger than the whole ring can never fit and is dropped. */
static void test_rx_bigger_than_ring(void **state)
{
	uint8_t frame[HDR + 4000];

	(void)state;
	dev.driver_features |= 1ULL << F_MRG_RXBUF;
	for (unsigned int i = 0; i < QSIZE; i++) {
		desc(RX_DESC, i, buf(i), HDR + 100, D_WRITE, 0);
		offer(RX_AVAIL, (uint16_t)i);
	}
	send_frame(sizeof(frame), 4, frame);
	send_frame(HDR + 50, 4, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(rx->dropped, 1);
	assert_int_equal(used_idx(RX_USED), 1);
	assert_memory_equal(gp(buf(0)) + HDR, frame + HDR, 50);
}

static void test_rx_no_buffers(void **state)
{
	uint8_t frame[HDR + 64];

	(void)state;
	send_frame(sizeof(frame), 6, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_NO_BUFFERS);
	assert_int_equal(rx->len, sizeof(frame));
	assert_int_equal(irqs[NET_RXQ], 0);
	/* the queue not enabled: nothing is read at all */
	rx->len = 0;
	vqs[NET_RXQ].ready = false;
	send_frame(sizeof(frame), 7, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_NO_BUFFERS);
	assert_int_equal(rx->len, 0);
	assert_int_equal(recv(sv[0], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
}

static void test_rx_budget(void **state)
{
	uint8_t frame[HDR + 64];

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		desc(RX_DESC, i, buf(i), 256, D_WRITE, 0);
		offer(RX_AVAIL, (uint16_t)i);
		send_frame(sizeof(frame), (uint8_t)i, frame);
	}
	assert_int_equal(net_rx(&dev, rx, sv[0], 2), NET_RX_BUDGET);
	assert_int_equal(used_idx(RX_USED), 2);
	assert_int_equal(net_rx(&dev, rx, sv[0], 2), NET_RX_IDLE);
	assert_int_equal(used_idx(RX_USED), 3);
	assert_memory_equal(gp(buf(2)) + HDR, frame + HDR, 64);
}

/* Runts (no room for a frame after the header) are dropped, not delivered. */
static void test_rx_runt(void **state)
{
	uint8_t frame[HDR];

	(void)state;
	desc(RX_DESC, 0, buf(0), 256, D_WRITE, 0);
	offer(RX_AVAIL, 0);
	send_frame(sizeof(frame), 1, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_IDLE);
	assert_int_equal(rx->dropped, 1);
	assert_int_equal(used_idx(RX_USED), 0);
}

static void rx_expect_broken(void)
{
	uint8_t frame[HDR + 64];
	uint8_t *s;

	offer(RX_AVAIL, 0);
	send_frame(sizeof(frame), 1, frame);
	s = snapshot();
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_BROKEN);
	assert_untouched(s);
	assert_true(needs_reset());
	assert_int_equal(used_idx(RX_USED), 0);
	assert_int_equal(irqs[NET_RXQ], 0);
	/* broken stays broken until a reset: no more reads */
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_BROKEN);
}

static void test_rx_device_readable(void **state)
{
	(void)state;
	desc(RX_DESC, 0, buf(0), 256, 0, 0);
	rx_expect_broken();
}

static void test_rx_readable_after_writable(void **state)
{
	(void)state;
	desc(RX_DESC, 0, buf(0), 256, D_WRITE | D_NEXT, 1);
	desc(RX_DESC, 1, buf(1), 256, 0, 0);
	rx_expect_broken();
}

static void test_rx_outside_ram(void **state)
{
	(void)state;
	desc(RX_DESC, 0, MEM_SIZE - 100, 256, D_WRITE, 0);
	rx_expect_broken();
}

static void test_rx_huge_length(void **state)
{
	(void)state;
	desc(RX_DESC, 0, buf(0), 0xfffffff0u, D_WRITE, 0);
	rx_expect_broken();
}

static void test_rx_loop(void **state)
{
	(void)state;
	desc(RX_DESC, 0, buf(0), 256, D_WRITE | D_NEXT, 1);
	desc(RX_DESC, 1, buf(1), 256, D_WRITE | D_NEXT, 0);
	rx_expect_broken();
}

static void test_rx_short_buffer(void **state)
{
	(void)state;
	desc(RX_DESC, 0, buf(0), HDR - 2, D_WRITE, 0);
	rx_expect_broken();
}

/* A hostile chain in the middle of a merged frame: nothing of the frame is published. */
static void test_rx_mergeable_hostile_second(void **state)
{
	uint8_t frame[HDR + 64];

	(void)state;
	dev.driver_features |= 1ULL << F_MRG_RXBUF;
	desc(RX_DESC, 0, buf(0), 32, D_WRITE, 0);
	desc(RX_DESC, 1, MEM_SIZE + 0x1000, 512, D_WRITE, 0);
	offer(RX_AVAIL, 0);
	offer(RX_AVAIL, 1);
	send_frame(sizeof(frame), 1, frame);
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_BROKEN);
	assert_true(needs_reset());
	assert_int_equal(used_idx(RX_USED), 0);
	assert_int_equal(irqs[NET_RXQ], 0);
}

/*
 * The tap goes away (here: the peer closes). Frames already read still
 * reach the guest; then net_rx() says the fd is gone rather than idle,
 * so the NIC stops polling it instead of spinning on its error.
 */
static void test_rx_peer_gone(void **state)
{
	uint8_t frame[HDR + 64];

	(void)state;
	desc(RX_DESC, 0, buf(0), 256, D_WRITE, 0);
	offer(RX_AVAIL, 0);
	desc(RX_DESC, 1, buf(1), 256, D_WRITE, 0);
	offer(RX_AVAIL, 1);
	send_frame(sizeof(frame), 3, frame);
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_GONE);
	assert_int_equal(used_idx(RX_USED), 1);
	assert_memory_equal(gp(buf(0)) + HDR, frame + HDR, 64);
	assert_int_equal(irqs[NET_RXQ], 1);
	/* and again: still gone, nothing more delivered */
	assert_int_equal(net_rx(&dev, rx, sv[0], QSIZE), NET_RX_GONE);
	assert_int_equal(used_idx(RX_USED), 1);
	assert_false(needs_reset());
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_space),
		T(test_features),
		T(test_tap_offloads),
		T(test_default_mac),
		T(test_tx_chain),
		T(test_tx_budget),
		T(test_tx_device_writable),
		T(test_tx_short_header),
		T(test_tx_outside_ram),
		T(test_tx_huge_length),
		T(test_tx_loop),
		T(test_rx_single_buffer),
		T(test_rx_mergeable),
		T(test_rx_mergeable_waits_for_buffers),
		T(test_rx_too_big_for_chain),
		T(test_rx_bigger_than_ring),
		T(test_rx_no_buffers),
		T(test_rx_budget),
		T(test_rx_runt),
		T(test_rx_device_readable),
		T(test_rx_readable_after_writable),
		T(test_rx_outside_ram),
		T(test_rx_huge_length),
		T(test_rx_loop),
		T(test_rx_short_buffer),
		T(test_rx_mergeable_hostile_second),
		T(test_rx_peer_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
