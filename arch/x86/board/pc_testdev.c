/*
 * pc-testdev, the ISA test device of QEMU that kvm-unit-tests' x86 tests
 * drive (its register layout, written anew):
 *   port 0xe0, 4 bytes    a 32-bit scratch register, any width and offset
 *   port 0xe4, 4 bytes    "flush page": a 4-byte write of a guest address
 *   port 0xe8, 4 bytes    the same scratch register, taken a byte at a time
 *   port 0x2000, 24 bytes IRQ lines: a 1-byte write of V to 0x2000 + N sets
 *                         interrupt line N (GSI N of the in-kernel IOAPIC)
 *                         to !!V, so a guest can test edge and level
 *                         delivery, EOI and coalescing
 *   MMIO 0xff000000, 64 KiB  scratch memory, any width
 * Every value and offset comes from the guest and is checked here. The IRQ
 * window reaches lines the board's own devices drive too (COM1's 4, the
 * SCI's 9): a guest that toggles them confuses only its own drivers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "inventory.h"
#include "irq.h"
#include "le.h"
#include "layout.h"
#include "log.h"
#include "mem.h"
#include "testdev.h"
#include "util.h"
#include "vm.h"

#define PCT_DATA_PORT		0xe0
#define PCT_FLUSH_PORT		0xe4
#define PCT_DATA_BYTE_PORT	0xe8
#define PCT_REG_LEN		4
#define PCT_IRQ_PORT		0x2000
#define PCT_IRQ_LINES		IOAPIC_NR_PINS
#define PCT_IOMEM_ADDR		0xff000000ULL
#define PCT_IOMEM_LEN		0x10000ULL

struct pc_testdev {
	struct device dev;
	pthread_mutex_t lock;		/* vCPUs share the registers */
	uint32_t data;
	uint8_t iomem[PCT_IOMEM_LEN];
};

/* Bytes [off, off + len) of a 4-byte register: what of them is inside it. */
static uint32_t reg_span(uint64_t off, uint32_t len)
{
	if (off >= PCT_REG_LEN)
		return 0;
	return len < PCT_REG_LEN - off ? len : (uint32_t)(PCT_REG_LEN - off);
}

static void data_read(void *opaque, uint64_t off, uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;
	uint32_t i, n = reg_span(off, len);

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(t->data >> (8 * (off + i)));
	pthread_mutex_unlock(&t->lock);
}

static void data_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;
	uint32_t i, n = reg_span(off, len);

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < n; i++) {
		unsigned int shift = 8 * (unsigned int)(off + i);

		t->data = (t->data & ~(0xffu << shift)) | (uint32_t)d[i] << shift;
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops data_ops = { .read = data_read, .write = data_write };

/*
 * QEMU takes the page's host mapping away and back so that KVM drops its
 * translation of it. kvmini's I/O threads may be reading that page at the
 * time, and would fault: the address is checked and the write is taken,
 * with nothing else done. A guest cannot tell: the page keeps its content.
 */
static void flush_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;
	uint64_t gpa;

	if (off || len != 4)
		return;		/* QEMU takes 4-byte writes only */
	gpa = get_le32(d) & ~0xfffULL;
	if (!guest_ptr(&t->dev.vm->mem, gpa, 0x1000))
		kv_debug("pc-testdev: flush of 0x%llx, outside guest RAM", (unsigned long long)gpa);
}

static const struct bus_ops flush_ops = { .write = flush_write };

static void irq_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;
	int ret;

	if (len != 1 || off >= PCT_IRQ_LINES)
		return;		/* byte writes only, as QEMU's */
	ret = vm_irq_line(t->dev.vm, (unsigned int)off, d[0] != 0);
	if (ret)
		kv_warn_ratelimited("pc-testdev: interrupt line %u: %s", (unsigned int)off,
				    strerror(-ret));
}

static const struct bus_ops irq_ops = { .write = irq_write };

static void iomem_read(void *opaque, uint64_t off, uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;

	if (off >= PCT_IOMEM_LEN || len > PCT_IOMEM_LEN - off)
		return;
	pthread_mutex_lock(&t->lock);
	memcpy(d, t->iomem + off, len);
	pthread_mutex_unlock(&t->lock);
}

static void iomem_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	struct pc_testdev *t = opaque;

	if (off >= PCT_IOMEM_LEN || len > PCT_IOMEM_LEN - off)
		return;
	pthread_mutex_lock(&t->lock);
	memcpy(t->iomem + off, d, len);
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops iomem_ops = { .read = iomem_read, .write = iomem_write };

static const struct {
	uint64_t base, len;
	bool pio;
	const struct bus_ops *ops;
} pct_ranges[] = {
	{ PCT_DATA_PORT, PCT_REG_LEN, true, &data_ops },
	{ PCT_FLUSH_PORT, PCT_REG_LEN, true, &flush_ops },
	{ PCT_DATA_BYTE_PORT, PCT_REG_LEN, true, &data_ops },
	{ PCT_IRQ_PORT, PCT_IRQ_LINES, true, &irq_ops },
	{ PCT_IOMEM_ADDR, PCT_IOMEM_LEN, false, &iomem_ops },
};

static int pc_testdev_describe(struct device *dev, struct inventory *inv)
{
	const struct inv_entry e = {
		.name = "pc-testdev", .type = "pc-testdev", .role = INV_TEST_DEVICE,
		.ranges = { { PCT_DATA_PORT, PCT_DATA_BYTE_PORT + PCT_REG_LEN - PCT_DATA_PORT, true },
			    { PCT_IRQ_PORT, PCT_IRQ_LINES, true },
			    { PCT_IOMEM_ADDR, PCT_IOMEM_LEN, false } },
		.nr_ranges = 3, .irq = -1, .probed = true, .owner = dev,
	};

	return inventory_add(inv, &e);
}

static void pc_testdev_destroy(struct device *dev)
{
	struct pc_testdev *t = container_of(dev, struct pc_testdev, dev);

	/* the VM's buses go with it */
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static const struct device_ops pc_testdev_ops = {
	.describe = pc_testdev_describe,
	.destroy = pc_testdev_destroy,
};

int pc_testdev_create(struct vm *vm, const struct device_type *type, struct errmsg *err)
{
	struct pc_testdev *t = calloc(1, sizeof(*t));
	unsigned int i;
	int ret;

	if (!t)
		return errmsg_set(err, -ENOMEM, "pc-testdev: out of memory");
	pthread_mutex_init(&t->lock, NULL);
	device_add(vm, &t->dev, type, &pc_testdev_ops);
	for (i = 0; i < ARRAY_SIZE(pct_ranges); i++) {
		ret = bus_register(pct_ranges[i].pio ? &vm->pio : &vm->mmio, pct_ranges[i].base,
				   pct_ranges[i].len, pct_ranges[i].ops, t);
		if (ret)
			return errmsg_set(err, ret, "pc-testdev: %s 0x%llx is taken by another "
					  "device", pct_ranges[i].pio ? "port" : "address",
					  (unsigned long long)pct_ranges[i].base);
	}
	return 0;
}
