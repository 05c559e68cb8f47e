/*
 * PCIe configuration through ECAM (pci-host-ecam-generic): bus 0's 1 MiB
 * at PCI_ECAM_BASE, 4 KiB per function (devices/pci.c). The arm64 board's
 * PHASE_BUS device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "errmsg.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "pci.h"
#include "util.h"
#include "vm.h"

#define ECAM_FN_SIZE	0x1000u
#define PCI_CONF_SIZE	0x100u	/* conventional space; the extended part reads 0 */

struct ecam {
	struct device dev;	/* the instance: "pci-host0" */
	struct pci_host *host;
};

static struct device_type pci_host_type;
static const struct device_ops ecam_ops;

/*
 * @off is inside the window (the bus checked it); the guest chooses it and
 * @len: only naturally aligned 1, 2 or 4 byte accesses reach a function.
 */
static void ecam_rw(struct ecam *c, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	unsigned int reg = (unsigned int)(off & (ECAM_FN_SIZE - 1));
	unsigned int bus = (unsigned int)(off >> 20), slot = (unsigned int)(off >> 15) & 0x1f;
	unsigned int fn = (unsigned int)(off >> 12) & 7;

	if ((len != 1 && len != 2 && len != 4) || reg % len) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (reg >= PCI_CONF_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pci_config_access(c->host, bus, slot, fn, reg, data, len, is_write);
}

static void ecam_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	ecam_rw(opaque, off, data, len, false);
}

static void ecam_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	ecam_rw(opaque, off, (uint8_t *)data, len, true);
}

static const struct bus_ops ecam_bus_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

/* The device tree's pcie node: ECAM first, then the memory BAR window. */
static int ecam_describe(struct device *dev, struct inventory *inv)
{
	struct ecam *c = container_of(dev, struct ecam, dev);
	const struct inv_entry e = {
		.name = "pci0", .type = "pci-host", .role = INV_PCI_HOST,
		.ranges = {
			{ PCI_ECAM_BASE, PCI_ECAM_SIZE, false },
			{ PCI_MMIO_START, PCI_MMIO_END - PCI_MMIO_START, false },
		},
		.nr_ranges = 2, .irq = -1, .owner = c,
	};

	return inventory_add(inv, &e);
}

int pci_host_init(struct vm *vm)
{
	struct ecam *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	ret = pci_host_create(vm);
	if (ret)
		goto err_free;
	c->host = vm->pci;
	ret = bus_register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_bus_ops, c);
	if (ret)
		goto err_host;
	device_add(vm, &c->dev, &pci_host_type, &ecam_ops);
	return 0;

err_host:
	pci_host_destroy(vm);
err_free:
	free(c);
	kv_err("cannot set up the PCIe host bridge at 0x%llx: %s",
	       (unsigned long long)PCI_ECAM_BASE, strerror(-ret));
	return ret;
}

static void ecam_destroy(struct device *dev)
{
	struct ecam *c = container_of(dev, struct ecam, dev);

	bus_unregister(&dev->vm->mmio, PCI_ECAM_BASE);
	pci_host_destroy(dev->vm);
	free(c);
}

/* Take the host bridge's instance off the VM's list, then destroy it. */
void pci_host_exit(struct vm *vm)
{
	for (struct device **pp = &vm->devices; *pp; pp = &(*pp)->next) {
		if ((*pp)->type == &pci_host_type) {
			struct device *d = *pp;

			*pp = d->next;
			ecam_destroy(d);
			return;
		}
	}
}

static const struct device_ops ecam_ops = {
	.describe = ecam_describe,
	.destroy = ecam_destroy,
};

static int ecam_create(struct vm *vm, const struct device_env *env, const void *conf,
		       void *host, unsigned int index, struct errmsg *err)
{
	int ret;

	(void)env, (void)conf, (void)host, (void)index;
	ret = pci_host_init(vm);
	if (ret)
		return errmsg_set(err, ret, "%s", "");	/* pci_host_init() said why */
	return 0;
}

static struct device_type pci_host_type = {
	.name = "pci-host",
	.phase = PHASE_BUS,
	.create = ecam_create,
};
DEVICE_REGISTER(pci_host_type);
