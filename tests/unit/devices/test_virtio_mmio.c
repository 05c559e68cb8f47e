/*
 * The virtio-mmio transport as a guest driver sees it: identity registers,
 * feature negotiation, queue setup, doorbells, interrupts, reset, and the
 * command line announcement. KVM is faked: vm_irqfd and vm_ioeventfd_match
 * are wrapped at link time (-Wl,--wrap) and recorded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "../err_capture.h"
#include "irq.h"
#include "../ram_split.h"
#include "layout.h"
#include "virtio/virtio.h"
#include "vm.h"

#define RAM_SIZE	(1ull << 20)
#define MAX_GSI		32
#define MAX_IOEVENTFDS	16

/* ---- the fake KVM ---- */

static struct {
	int irqfd[MAX_GSI];		/* eventfd bound to each GSI, or -1 */
	struct { int fd; uint64_t addr; uint32_t len; uint64_t match; } ioev[MAX_IOEVENTFDS];
	unsigned int nr_ioev;
} kvm;

int __wrap_vm_irqfd(struct vm *vm, int fd, unsigned int gsi, bool assign)
{
	(void)vm;
	assert_true(gsi < MAX_GSI);
	if (assign) {
		assert_int_equal(kvm.irqfd[gsi], -1);
		kvm.irqfd[gsi] = fd;
	} else {
		assert_int_equal(kvm.irqfd[gsi], fd);
		kvm.irqfd[gsi] = -1;
	}
	return 0;
}

int __wrap_vm_ioeventfd_match(struct vm *vm, int fd, uint64_t addr, uint32_t len,
			      bool is_pio, uint64_t match, bool assign)
{
	(void)vm;
	assert_false(is_pio);
	if (assign) {
		assert_true(kvm.nr_ioev < MAX_IOEVENTFDS);
		for (unsigned int i = 0; i < kvm.nr_ioev; i++)
			if (kvm.ioev[i].addr == addr && kvm.ioev[i].match == match)
				return -EEXIST;
		kvm.ioev[kvm.nr_ioev++] = (typeof(kvm.ioev[0])){ fd, addr, len, match };
		return 0;
	}
	for (unsigned int i = 0; i < kvm.nr_ioev; i++) {
		if (kvm.ioev[i].fd == fd && kvm.ioev[i].addr == addr &&
		    kvm.ioev[i].len == len && kvm.ioev[i].match == match) {
			kvm.ioev[i] = kvm.ioev[--kvm.nr_ioev];
			return 0;
		}
	}
	fail_msg("deassigning an ioeventfd that is not assigned");
	return -ENOENT;
}

static uint64_t eventfd_count(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) < 0)
		return 0;	/* nonblocking and empty */
	return v;
}

/* ---- a dummy device on a VM with RAM and buses ---- */

#define VQ_SIZE		256
#define DUMMY_ID	4
#define DUMMY_FEATURE	0
#define BASE0		VIRTIO_MMIO_BASE
#define IRQ0		5

struct dummy {
	struct virtio_dev vdev;
	int activated, resets;
	uint8_t config[8];
};

struct fixture {
	struct vm vm;
	uint8_t *ram;
	struct dummy dev;
	char *cmdline;
};

/* The kernel command-line fragments the inventory holds, in order. */
static const char *devices_cmdline(struct fixture *f)
{
	free(f->cmdline);
	f->cmdline = inventory_cmdline(&f->vm.inventory, "", NULL);
	return f->cmdline;
}

static int dummy_activate(struct virtio_dev *d)
{
	((struct dummy *)d->priv)->activated++;
	return 0;
}

static void dummy_reset(struct virtio_dev *d)
{
	((struct dummy *)d->priv)->resets++;
}

static void dummy_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, ((struct dummy *)d->priv)->config + off, len);
}

static void dummy_config_write(struct virtio_dev *d, uint64_t off, const uint8_t *data,
			       uint32_t len)
{
	memcpy(((struct dummy *)d->priv)->config + off, data, len);
}

static const struct virtio_dev_ops dummy_ops = {
	.activate = dummy_activate,
	.reset = dummy_reset,
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
};

static void dummy_init(struct dummy *dev, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	dev->vdev = (struct virtio_dev){
		.ops = &dummy_ops,
		.priv = dev,
		.name = name,
		.device_id = DUMMY_ID,
		.host_features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX |
				 1ull << DUMMY_FEATURE,
		.num_queues = 2,
		.queue_max_size = VQ_SIZE,
		.config_size = sizeof(dev->config),
	};
	memcpy(dev->config, "kvmini!", 8);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	memset(&kvm, 0, sizeof(kvm));
	for (int i = 0; i < MAX_GSI; i++)
		kvm.irqfd[i] = -1;
	f->ram = calloc(1, RAM_SIZE);
	if (!f->ram)
		return -1;
	f->vm.vm_fd = -1;
	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	test_mem_layout(&f->vm.mem, f->ram, RAM_SIZE, MMIO_HOLE_START);
	dummy_init(&f->dev, "virtio-dummy");
	if (virtio_mmio_add(&f->vm, &f->dev.vdev))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_remove(&f->dev.vdev);
	assert_null(f->dev.vdev.vqs);
	assert_int_equal(kvm.nr_ioev, 0);
	assert_int_equal(kvm.irqfd[IRQ0], -1);
	assert_false(bus_access(&f->vm.mmio, BASE0, (uint8_t[4]){ 0 }, 4, false));
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	inventory_free(&f->vm.inventory);
	free(f->cmdline);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- guest-side accessors ---- */

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint8_t d[4];

	assert_true(bus_access(&f->vm.mmio, BASE0 + off, d, 4, false));
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	assert_true(bus_access(&f->vm.mmio, BASE0 + off, d, 4, true));
}

static void wr64(struct fixture *f, uint64_t off, uint64_t v)
{
	wr(f, off, (uint32_t)v);
	wr(f, off + 4, (uint32_t)(v >> 32));
}

/* Linux's order: ACKNOWLEDGE, DRIVER, features (high word, low word), FEATURES_OK. */
static void negotiate(struct fixture *f, uint64_t features)
{
	wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, 0x024, 1);
	wr(f, 0x020, (uint32_t)(features >> 32));
	wr(f, 0x024, 0);
	wr(f, 0x020, (uint32_t)features);
	wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK);
}

/* Queue @q with @size entries and rings at @desc, @desc + 0x1000, @desc + 0x2000. */
static void setup_queue(struct fixture *f, unsigned int q, uint32_t size, uint64_t desc)
{
	wr(f, 0x030, q);
	assert_int_equal(rd(f, 0x044), 0);
	wr(f, 0x038, size);
	wr64(f, 0x080, desc);
	wr64(f, 0x090, desc + 0x1000);
	wr64(f, 0x0a0, desc + 0x2000);
	wr(f, 0x044, 1);
}

/* ---- tests ---- */

static void test_identity_and_announcement(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;
	struct dummy second;
	uint8_t b[2];

	assert_int_equal(rd(f, 0x000), 0x74726976);
	assert_int_equal(rd(f, 0x004), 2);
	assert_int_equal(rd(f, 0x008), DUMMY_ID);
	assert_int_not_equal(rd(f, 0x00c), 0);
	assert_int_equal(rd(f, 0x070), 0);
	assert_int_equal(rd(f, 0x060), 0);
	assert_int_equal(rd(f, 0x0b0), 0xffffffffu);	/* no shared memory region */
	/* device config at 0x100, any width; beyond it nothing */
	assert_int_equal(rd(f, 0x100), 0x696d766b);	/* "kvmi" */
	assert_true(bus_access(&f->vm.mmio, BASE0 + 0x106, b, 2, false));
	assert_memory_equal(b, "!", 2);
	b[0] = 'K';
	assert_true(bus_access(&f->vm.mmio, BASE0 + 0x100, b, 1, true));
	assert_int_equal(f->dev.config[0], 'K');
	assert_int_equal(rd(f, 0x108), 0);
	/* registers take aligned 32-bit accesses only */
	assert_true(bus_access(&f->vm.mmio, BASE0, b, 2, false));
	assert_int_equal(b[0] | b[1] << 8, 0);

	/* announced for Linux's virtio_mmio.device=<size>@<base>:<irq> */
	assert_string_equal(devices_cmdline(f), "virtio_mmio.device=4K@0xfc000000:5");
	/* one irqfd on the device's IRQ; one doorbell per queue, told apart by value */
	assert_true(kvm.irqfd[IRQ0] >= 0);
	assert_int_equal(kvm.nr_ioev, 2);
	for (unsigned int i = 0; i < 2; i++) {
		unsigned int q = (unsigned int)kvm.ioev[i].match;

		assert_true(q < 2);
		assert_int_equal(kvm.ioev[i].addr, BASE0 + 0x050);
		assert_int_equal(kvm.ioev[i].len, 4);
		assert_int_equal(kvm.ioev[i].fd, d->kick_fds[q]);
	}

	/* a second device: the next window and IRQ, appended to the command line */
	dummy_init(&second, "virtio-second");
	assert_int_equal(virtio_mmio_add(&f->vm, &second.vdev), 0);
	assert_string_equal(devices_cmdline(f), "virtio_mmio.device=4K@0xfc000000:5 "
			    "virtio_mmio.device=4K@0xfc001000:6");
	assert_true(kvm.irqfd[6] >= 0);
	assert_int_equal(kvm.nr_ioev, 4);
	assert_true(bus_access(&f->vm.mmio, BASE0 + VIRTIO_MMIO_SIZE, b, 2, false));
	virtio_remove(&second.vdev);
	assert_int_equal(kvm.irqfd[6], -1);
	assert_int_equal(kvm.nr_ioev, 2);
	assert_false(bus_access(&f->vm.mmio, BASE0 + VIRTIO_MMIO_SIZE, b, 2, false));
}

static void test_slots_run_out(void **state)
{
	struct fixture *f = *state;
	struct dummy devs[8];
	const char *err;
	unsigned int i;

	for (i = 0; i < 7; i++) {
		dummy_init(&devs[i], "virtio-more");
		assert_int_equal(virtio_mmio_add(&f->vm, &devs[i].vdev), 0);
	}
	assert_true(kvm.irqfd[15] >= 0);
	assert_non_null(strstr(devices_cmdline(f), "virtio_mmio.device=4K@0xfc007000:15"));
	dummy_init(&devs[7], "virtio-extra");
	err_begin();
	assert_int_equal(virtio_mmio_add(&f->vm, &devs[7].vdev), -ENOSPC);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "virtio-extra"));
	assert_non_null(strstr(err, "--transport pci"));
	assert_null(devs[7].vdev.transport_priv);
	virtio_remove(&devs[7].vdev);		/* not attached: a no-op */
	for (i = 0; i < 7; i++)
		virtio_remove(&devs[i].vdev);
	assert_int_equal(kvm.nr_ioev, 2);
}

static void test_negotiation(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;

	wr(f, 0x014, 0);
	assert_int_equal(rd(f, 0x010), 1u << VIRTIO_F_EVENT_IDX | 1u << DUMMY_FEATURE);
	wr(f, 0x014, 1);
	assert_int_equal(rd(f, 0x010), 1);		/* VERSION_1 */
	wr(f, 0x014, 2);
	assert_int_equal(rd(f, 0x010), 0);

	/* a feature we did not offer: FEATURES_OK does not stick */
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << 5);
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* nor without VERSION_1 */
	wr(f, 0x070, 0);
	negotiate(f, 1ull << DUMMY_FEATURE);
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK does not start the device */
	wr(f, 0x070, 0x0f & ~VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(f->dev.activated, 0);
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_DRIVER_OK, 0);

	wr(f, 0x070, 0);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << DUMMY_FEATURE);
	assert_int_equal(rd(f, 0x070), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK);
	assert_true(d->driver_features == (1ull << VIRTIO_F_VERSION_1 | 1ull << DUMMY_FEATURE));
	/* frozen once accepted */
	wr(f, 0x024, 0);
	wr(f, 0x020, 0);
	assert_true(d->driver_features == (1ull << VIRTIO_F_VERSION_1 | 1ull << DUMMY_FEATURE));
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 1);
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 1);
}

static void test_queue_setup(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;
	int irq_fd = kvm.irqfd[IRQ0];
	struct virtq *vq = &d->vqs[0];

	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX);
	wr(f, 0x030, 0);
	assert_int_equal(rd(f, 0x034), VQ_SIZE);
	setup_queue(f, 0, 16, 0x10000);
	assert_int_equal(rd(f, 0x044), 1);
	assert_true(vq->ready && vq->size == 16 && vq->event_idx && !vq->indirect);
	assert_true(vq->desc_gpa == 0x10000 && vq->avail_gpa == 0x11000 &&
		    vq->used_gpa == 0x12000);
	assert_ptr_equal(vq->mem, &f->vm.mem);
	/* an enabled queue's configuration is frozen */
	wr64(f, 0x080, 0x20000);
	wr(f, 0x038, 32);
	assert_true(vq->desc_gpa == 0x10000 && vq->size == 16);
	/* high words count: a ring above RAM */
	wr(f, 0x030, 1);
	wr(f, 0x084, 1);
	assert_true(d->vqs[1].desc_gpa == 1ull << 32);
	wr(f, 0x084, 0);

	/* queue 1: rings outside guest RAM are refused, the device needs a reset */
	setup_queue(f, 1, 16, RAM_SIZE - 0x100);
	assert_int_equal(rd(f, 0x044), 0);
	assert_false(d->vqs[1].ready);
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	/* ... and says so with a config change interrupt */
	assert_int_equal(rd(f, 0x060), 2);
	assert_int_equal(eventfd_count(irq_fd), 1);
	assert_int_equal(rd(f, 0x0fc), 1);
	/* a size that is no power of two, or above the maximum, is refused too */
	wr(f, 0x070, 0);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(f, 1, 24, 0x20000);
	assert_int_equal(rd(f, 0x044), 0);
	wr(f, 0x070, 0);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(f, 1, VQ_SIZE * 2, 0x20000);
	assert_int_equal(rd(f, 0x044), 0);
	/* a queue beyond num_queues has QueueNumMax 0 and ignores writes */
	wr(f, 0x030, 2);
	assert_int_equal(rd(f, 0x034), 0);
	wr(f, 0x044, 1);
	assert_int_equal(rd(f, 0x044), 0);
}

static void test_notify_kicks(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;

	/* a doorbell write that reaches userspace lands on the queue's kick eventfd */
	wr(f, 0x050, 1);
	assert_int_equal(eventfd_count(d->kick_fds[1]), 1);
	assert_int_equal(eventfd_count(d->kick_fds[0]), 0);
	wr(f, 0x050, 0);
	assert_int_equal(eventfd_count(d->kick_fds[0]), 1);
	wr(f, 0x050, 2);				/* no such queue */
	assert_int_equal(eventfd_count(d->kick_fds[0]) + eventfd_count(d->kick_fds[1]), 0);
	assert_int_equal(rd(f, 0x050), 0);		/* write-only */
}

static void test_interrupts(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;
	int irq_fd = kvm.irqfd[IRQ0];
	uint32_t gen = rd(f, 0x0fc);

	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, 16, 0x10000);
	wr(f, 0x070, 0x0f);

	/* used buffers: InterruptStatus bit 0 and a pulse on the IRQ */
	d->transport->notify_queue(d, 0);
	assert_int_equal(rd(f, 0x060), 1);
	assert_int_equal(eventfd_count(irq_fd), 1);
	/* a queue the driver has not enabled raises nothing */
	d->transport->notify_queue(d, 1);
	assert_int_equal(eventfd_count(irq_fd), 0);
	/* the driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT) */
	f->ram[0x11000] = 1;
	d->transport->notify_queue(d, 0);
	assert_int_equal(eventfd_count(irq_fd), 0);
	f->ram[0x11000] = 0;

	/* config change: bit 1, the generation moves */
	d->transport->notify_config(d);
	assert_int_equal(rd(f, 0x060), 3);
	assert_int_equal(rd(f, 0x0fc), gen + 1);
	assert_int_equal(eventfd_count(irq_fd), 1);
	/* InterruptACK clears only the bits written */
	wr(f, 0x064, 1);
	assert_int_equal(rd(f, 0x060), 2);
	wr(f, 0x064, 2);
	assert_int_equal(rd(f, 0x060), 0);
	assert_int_equal(rd(f, 0x064), 0);		/* write-only */
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;

	/* before DRIVER_OK, a queue can be taken back */
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX);
	setup_queue(f, 0, 16, 0x10000);
	wr(f, 0x044, 0);
	assert_int_equal(rd(f, 0x044), 0);
	wr(f, 0x044, 1);
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 1);
	/* once running, it stays until a reset */
	wr(f, 0x044, 0);
	assert_int_equal(rd(f, 0x044), 1);
	d->transport->notify_config(d);
	wr(f, 0x014, 1);
	wr(f, 0x030, 1);

	wr(f, 0x070, 0);
	assert_int_equal(f->dev.resets, 1);
	assert_int_equal(rd(f, 0x070), 0);
	assert_int_equal(rd(f, 0x060), 0);
	assert_true(d->driver_features == 0);
	assert_int_equal(rd(f, 0x010), 1u << VIRTIO_F_EVENT_IDX | 1u << DUMMY_FEATURE);
	/* QueueSel back to 0, the queue unconfigured */
	assert_int_equal(rd(f, 0x044), 0);
	assert_false(d->vqs[0].ready);
	assert_true(d->vqs[0].desc_gpa == 0 && d->vqs[0].size == VQ_SIZE);
	/* and it can start again */
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, 8, 0x30000);
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 2);
	assert_true(d->vqs[0].ready && d->vqs[0].size == 8);
}

/*
 * A driver that clears status bits without writing 0 (here DRIVER_OK,
 * then FEATURES_OK) would renegotiate on a live device and activate it
 * again. The device stops instead, sets NEEDS_RESET, raises a config
 * interrupt, ignores the driver until the reset, and warns once.
 */
static void test_status_clear_needs_reset(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev *d = &f->dev.vdev;
	uint32_t gen = rd(f, 0x0fc);
	const char *err;
	int round;

	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, 16, 0x10000);
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 1);

	err_begin();
	for (round = 0; round < 100; round++) {
		/* DRIVER_OK cleared on a live device */
		wr(f, 0x070, 0x0b);
		assert_int_equal(rd(f, 0x070), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(f->dev.resets, 2 * round + 1);	/* stopped */
		assert_int_equal(rd(f, 0x060) & 2, 2);
		/* renegotiation and a second activation are ignored */
		wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		wr(f, 0x024, 0);
		wr(f, 0x020, 1u << DUMMY_FEATURE);
		wr(f, 0x070, 0x0f);
		assert_int_equal(f->dev.activated, round + 1);
		assert_true(d->driver_features == 1ull << VIRTIO_F_VERSION_1);
		assert_int_equal(rd(f, 0x070), 0x0f | VIRTIO_STATUS_NEEDS_RESET);

		/* the reset brings it back */
		wr(f, 0x070, 0);
		assert_int_equal(rd(f, 0x070), 0);
		assert_int_equal(f->dev.resets, 2 * round + 2);
		negotiate(f, 1ull << VIRTIO_F_VERSION_1);
		setup_queue(f, 0, 16, 0x10000);
		wr(f, 0x070, 0x0f);
		assert_int_equal(f->dev.activated, round + 2);
		assert_int_equal(rd(f, 0x070), 0x0f);
	}

	/* FEATURES_OK cleared before DRIVER_OK: nothing to stop, DRIVER_OK refused */
	wr(f, 0x070, 0);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_NEEDS_RESET);
	setup_queue(f, 1, 16, 0x20000);
	assert_int_equal(rd(f, 0x044), 0);		/* queue enable ignored */
	wr(f, 0x070, 0x0f);
	assert_int_equal(f->dev.activated, 101);
	assert_false(rd(f, 0x070) & VIRTIO_STATUS_DRIVER_OK);
	err = err_end();
	/* one line for the whole device lifetime, naming the device */
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "virtio-dummy"));
	assert_non_null(strstr(err, "cleared status bits"));
	assert_true(rd(f, 0x0fc) != gen);
}

static void test_bad_description(void **state)
{
	struct fixture *f = *state;
	struct dummy bad;
	const char *err;

	dummy_init(&bad, "virtio-bad");
	bad.vdev.host_features = 1ull << DUMMY_FEATURE;	/* no VERSION_1 */
	err_begin();
	assert_int_equal(virtio_mmio_add(&f->vm, &bad.vdev), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	dummy_init(&bad, "virtio-bad");
	bad.vdev.config_size = VIRTIO_MMIO_SIZE;	/* cannot fit above 0x100 */
	err_begin();
	assert_int_equal(virtio_mmio_add(&f->vm, &bad.vdev), -EINVAL);
	err_end();
	assert_string_equal(devices_cmdline(f), "virtio_mmio.device=4K@0xfc000000:5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_announcement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_run_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_kicks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_clear_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_description, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
