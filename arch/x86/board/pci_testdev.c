/*
 * pci-testdev, QEMU's PCI test device (1b36:0005) that kvm-unit-tests'
 * pci test drives to check ioeventfd-backed and plain I/O and MMIO
 * (its register layout, written anew). BAR0 is 4 KiB of memory, BAR1 256
 * I/O ports; each has six tests, of which the guest picks one by writing
 * its number (0-2) to offset 0 of the BAR. The chosen test's header
 * reads back from offset 0 of either BAR:
 *   u8 test, u8 width, u16 pad, le32 offset, u8 data, u8 pad[3],
 *   le32 count, the name ("mmio-no-eventfd", ...) and a NUL.
 * The guest then writes data (width bytes) to offset: kvmini counts the
 * writes that reach it, and for the two eventfd tests KVM signals an
 * ioeventfd (any value, or data only) and they never do, so count stays 0.
 * Accesses go a byte at a time, as in QEMU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device.h"
#include "inventory.h"
#include "irq.h"
#include "le.h"
#include "log.h"
#include "pci.h"
#include "testdev.h"
#include "util.h"
#include "vm.h"

#define PTD_VENDOR_ID	0x1b36		/* Red Hat, QEMU's */
#define PTD_DEVICE_ID	0x0005		/* PCI_DEVICE_ID_REDHAT_TEST */
#define PTD_CLASS	0xff0000	/* unclassified */
#define PTD_MEM_BAR	0
#define PTD_IO_BAR	1
#define PTD_MEM_SIZE	4096		/* tests' writes go to the upper half */
#define PTD_IO_SIZE	256
#define PTD_DATAMATCH	0xfa
#define PTD_NOMATCH	0xce

/* The header's fields */
#define HDR_TEST	0
#define HDR_WIDTH	1
#define HDR_OFFSET	4
#define HDR_DATA	8
#define HDR_COUNT	12
#define HDR_NAME	16
#define HDR_MAX		(HDR_NAME + 32)

enum ptd_kind { KIND_NO_EVENTFD, KIND_WILDCARD, KIND_DATAMATCH, PTD_KINDS };
#define PTD_TESTS	(2 * PTD_KINDS)	/* MMIO ones, then I/O ones */

static const char *const kind_names[PTD_KINDS] = {
	"no-eventfd", "wildcard-eventfd", "datamatch-eventfd",
};

struct ptd_test {
	uint8_t hdr[HDR_MAX];
	uint32_t hdr_len;	/* with the name's NUL */
	enum ptd_kind kind;
	unsigned int bar;
	uint32_t offset;	/* in the BAR */
	int efd;		/* the ioeventfd, -1 for no-eventfd */
};

struct pci_testdev {
	struct device dev;
	struct pci_device pci;
	pthread_mutex_t lock;	/* inside the PCI lock: bar_mapped runs under it */
	int current;		/* the chosen test, -1: none */
	bool wired;		/* its ioeventfd is with KVM */
	uint64_t bar_addr[2];
	bool bar_mapped[2];
	struct ptd_test tests[PTD_TESTS];
};

/* Give the current test's ioeventfd to KVM, or take it back; lock held. */
static void wire(struct pci_testdev *t, bool assign)
{
	struct ptd_test *x;
	uint64_t addr;
	int ret;

	if (t->current < 0)
		return;
	x = &t->tests[t->current];
	if (x->efd < 0 || t->wired == assign || (assign && !t->bar_mapped[x->bar]))
		return;
	addr = t->bar_addr[x->bar] + x->offset;
	if (x->kind == KIND_DATAMATCH)
		ret = vm_ioeventfd_match(t->dev.vm, x->efd, addr, 1, x->bar == PTD_IO_BAR,
					 PTD_DATAMATCH, assign);
	else
		ret = vm_ioeventfd(t->dev.vm, x->efd, addr, 1, x->bar == PTD_IO_BAR, assign);
	if (ret) {
		/* the writes then reach kvmini, which counts them: still a valid outcome */
		kv_warn_ratelimited("pci-testdev: ioeventfd at 0x%llx: %s",
				    (unsigned long long)addr, strerror(-ret));
		return;
	}
	t->wired = assign;
}

static void drain(const struct ptd_test *x)
{
	uint64_t v;

	if (x->efd >= 0 && read(x->efd, &v, sizeof(v)) < 0)
		return;		/* EAGAIN: nothing signalled */
}

/* A write of @val to byte 0: end the current test, start test @val of @bar's kind. */
static void select_test(struct pci_testdev *t, unsigned int bar, uint8_t val)
{
	struct ptd_test *x;

	wire(t, false);
	t->current = -1;
	t->wired = false;
	if (val >= PTD_KINDS)
		return;
	x = &t->tests[(bar == PTD_IO_BAR ? PTD_KINDS : 0) + val];
	put_le32(x->hdr + HDR_COUNT, 0);
	drain(x);
	t->current = (int)(x - t->tests);
	wire(t, true);
}

static void ptd_write(struct pci_testdev *t, unsigned int bar, uint64_t off,
		      const uint8_t *d, uint32_t len)
{
	uint32_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < len; i++) {
		struct ptd_test *x;

		if (off + i == 0) {
			select_test(t, bar, d[i]);
			continue;
		}
		if (t->current < 0)
			continue;
		x = &t->tests[t->current];
		if (x->bar != bar || off + i != x->offset)
			continue;
		if (x->kind != KIND_WILDCARD && d[i] != x->hdr[HDR_DATA])
			continue;
		put_le32(x->hdr + HDR_COUNT, get_le32(x->hdr + HDR_COUNT) + 1);
	}
	pthread_mutex_unlock(&t->lock);
}

static void ptd_read(struct pci_testdev *t, uint64_t off, uint8_t *d, uint32_t len)
{
	const struct ptd_test *x;
	uint32_t i;

	pthread_mutex_lock(&t->lock);
	if (t->current >= 0) {
		x = &t->tests[t->current];
		drain(x);
		for (i = 0; i < len; i++)
			d[i] = off + i < x->hdr_len ? x->hdr[off + i] : 0;
	}
	pthread_mutex_unlock(&t->lock);
}

static void mem_read(void *opaque, uint64_t off, uint8_t *d, uint32_t len)
{
	ptd_read(opaque, off, d, len);
}

static void mem_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	ptd_write(opaque, PTD_MEM_BAR, off, d, len);
}

static void io_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	ptd_write(opaque, PTD_IO_BAR, off, d, len);
}

static const struct bus_ops mem_ops = { .read = mem_read, .write = mem_write };
static const struct bus_ops io_ops = { .read = mem_read, .write = io_write };

/* The BAR moved or stopped decoding: the chosen test's ioeventfd moves with it. */
static void ptd_bar_mapped(struct pci_device *pd, unsigned int bar, uint64_t addr, bool mapped)
{
	struct pci_testdev *t = pd->priv;
	bool ours;

	if (bar > PTD_IO_BAR)
		return;
	pthread_mutex_lock(&t->lock);
	ours = t->current >= 0 && t->tests[t->current].bar == bar;
	if (ours)
		wire(t, false);
	t->bar_addr[bar] = addr;
	t->bar_mapped[bar] = mapped;
	if (ours && mapped)
		wire(t, true);
	pthread_mutex_unlock(&t->lock);
}

static void init_test(struct ptd_test *x, unsigned int i)
{
	int n;

	x->kind = (enum ptd_kind)(i % PTD_KINDS);
	x->bar = i < PTD_KINDS ? PTD_MEM_BAR : PTD_IO_BAR;
	x->offset = (x->bar == PTD_MEM_BAR ? PTD_MEM_SIZE : PTD_IO_SIZE) / 2 + i;
	x->hdr[HDR_TEST] = (uint8_t)i;
	x->hdr[HDR_WIDTH] = 1;
	put_le32(x->hdr + HDR_OFFSET, x->offset);
	x->hdr[HDR_DATA] = x->kind == KIND_WILDCARD ? PTD_NOMATCH : PTD_DATAMATCH;
	n = snprintf((char *)x->hdr + HDR_NAME, HDR_MAX - HDR_NAME, "%s-%s",
		     x->bar == PTD_MEM_BAR ? "mmio" : "portio", kind_names[x->kind]);
	x->hdr_len = HDR_NAME + (uint32_t)n + 1;
	x->efd = -1;
}

static int ptd_describe(struct device *dev, struct inventory *inv)
{
	struct inv_entry e = {
		.name = "pci-testdev", .type = "pci-testdev", .role = INV_PCI_DEVICE,
		.irq = -1, .probed = true, .owner = dev,
	};

	return inventory_add(inv, &e);
}

static void ptd_destroy(struct device *dev)
{
	struct pci_testdev *t = container_of(dev, struct pci_testdev, dev);
	unsigned int i;

	pthread_mutex_lock(&t->lock);
	wire(t, false);
	pthread_mutex_unlock(&t->lock);
	if (t->pci.vm)
		pci_unregister_device(&t->pci);
	for (i = 0; i < PTD_TESTS; i++)
		if (t->tests[i].efd >= 0)
			close(t->tests[i].efd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct device_ops ptd_ops = {
	.describe = ptd_describe,
	.destroy = ptd_destroy,
};

int pci_testdev_create(struct vm *vm, const struct device_type *type, struct errmsg *err)
{
	struct pci_testdev *t = calloc(1, sizeof(*t));
	struct pci_device *pd;
	unsigned int i;
	int ret;

	if (!t)
		return errmsg_set(err, -ENOMEM, "pci-testdev: out of memory");
	pthread_mutex_init(&t->lock, NULL);
	t->current = -1;
	for (i = 0; i < PTD_TESTS; i++)
		init_test(&t->tests[i], i);
	device_add(vm, &t->dev, type, &ptd_ops);
	for (i = 0; i < PTD_TESTS; i++) {
		if (t->tests[i].kind == KIND_NO_EVENTFD)
			continue;
		t->tests[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->tests[i].efd < 0)
			return errmsg_set(err, -errno, "pci-testdev: eventfd: %s",
					  strerror(errno));
	}
	pd = &t->pci;
	pd->name = "pci-testdev";
	pd->vendor_id = PTD_VENDOR_ID;
	pd->device_id = PTD_DEVICE_ID;
	pd->subsys_vendor_id = PTD_VENDOR_ID;
	pd->subsys_id = 0x1100;		/* QEMU's default subsystem */
	pd->class_code = PTD_CLASS;
	pd->bars[PTD_MEM_BAR] = (struct pci_bar){
		.size = PTD_MEM_SIZE, .ops = &mem_ops, .opaque = t,
	};
	pd->bars[PTD_IO_BAR] = (struct pci_bar){
		.size = PTD_IO_SIZE, .io = true, .ops = &io_ops, .opaque = t,
	};
	pd->bar_mapped = ptd_bar_mapped;
	pd->priv = t;
	ret = pci_register_device(vm, pd);
	if (ret) {
		pd->vm = NULL;
		return errmsg_set(err, ret, "%s", "");	/* it said why */
	}
	return 0;
}
