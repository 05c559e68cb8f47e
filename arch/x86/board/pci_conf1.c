/*
 * PCI configuration mechanism #1: CONFIG_ADDRESS at port 0xCF8 selects a
 * register, CONFIG_DATA at 0xCFC-0xCFF reaches it (devices/pci.c). The
 * x86 board's PHASE_BUS device: bus 0 and these ports.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "errmsg.h"
#include "inventory.h"
#include "layout.h"
#include "le.h"
#include "log.h"
#include "pci.h"
#include "util.h"
#include "vm.h"

#define CONF1_ENABLE		0x80000000u
#define CONF1_ADDR_MASK		0x80fffffcu	/* enable, bus, device, function, register */
#define CONF1_PORTS		8

struct conf1 {
	struct device dev;	/* the instance: "pci-host0" */
	struct pci_host *host;
	pthread_mutex_t lock;	/* serialises CONFIG_ADDRESS/CONFIG_DATA pairs */
	uint32_t config_addr;
};

static struct device_type pci_host_type;
static const struct device_ops conf1_ops;

static void conf1_addr_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct conf1 *c = opaque;
	uint32_t v;

	/* only dword accesses reach CONFIG_ADDRESS */
	if (off || len != 4) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&c->lock);
	v = c->config_addr;
	pthread_mutex_unlock(&c->lock);
	for (unsigned int i = 0; i < 4; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

static void conf1_addr_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct conf1 *c = opaque;
	uint32_t v = 0;

	if (off || len != 4)
		return;
	for (unsigned int i = 0; i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	pthread_mutex_lock(&c->lock);
	c->config_addr = v & CONF1_ADDR_MASK;
	pthread_mutex_unlock(&c->lock);
}

static void conf1_data_rw(struct conf1 *c, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	uint32_t a;

	pthread_mutex_lock(&c->lock);
	a = c->config_addr;
	if (a & CONF1_ENABLE)
		pci_config_access(c->host, a >> 16 & 0xff, a >> 11 & 0x1f, a >> 8 & 7,
				  (a & 0xfc) + (unsigned int)off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
	pthread_mutex_unlock(&c->lock);
}

static void conf1_data_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	conf1_data_rw(opaque, off, data, len, false);
}

static void conf1_data_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	conf1_data_rw(opaque, off, (uint8_t *)data, len, true);
}

static const struct bus_ops conf1_addr_ops = {
	.read = conf1_addr_read,
	.write = conf1_addr_write,
};

static const struct bus_ops conf1_data_ops = {
	.read = conf1_data_read,
	.write = conf1_data_write,
};

/* PCI0 of the DSDT: the conf1 ports, then the I/O and memory BAR windows. */
static int conf1_describe(struct device *dev, struct inventory *inv)
{
	struct conf1 *c = container_of(dev, struct conf1, dev);
	const struct inv_entry e = {
		.name = "pci0", .type = "pci-host", .role = INV_PCI_HOST,
		.ranges = {
			{ PCI_CONFIG_ADDR_PORT, CONF1_PORTS, true },
			{ PCI_IO_START, PCI_IO_END - PCI_IO_START, true },
			{ PCI_MMIO_START, PCI_MMIO_END - PCI_MMIO_START, false },
		},
		.nr_ranges = 3, .irq = -1, .owner = c,
	};

	return inventory_add(inv, &e);
}

int pci_host_init(struct vm *vm)
{
	struct conf1 *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	ret = pci_host_create(vm);
	if (ret)
		goto err_free;
	c->host = vm->pci;
	ret = bus_register(&vm->pio, PCI_CONFIG_ADDR_PORT, 4, &conf1_addr_ops, c);
	if (ret)
		goto err_host;
	ret = bus_register(&vm->pio, PCI_CONFIG_DATA_PORT, 4, &conf1_data_ops, c);
	if (ret)
		goto err_addr;
	device_add(vm, &c->dev, &pci_host_type, &conf1_ops);
	return 0;

err_addr:
	bus_unregister(&vm->pio, PCI_CONFIG_ADDR_PORT);
err_host:
	pci_host_destroy(vm);
err_free:
	pthread_mutex_destroy(&c->lock);
	free(c);
	kv_err("cannot set up the PCI host bridge at ports 0x%x-0x%x: %s",
	       PCI_CONFIG_ADDR_PORT, PCI_CONFIG_DATA_PORT + 3, strerror(-ret));
	return ret;
}

static void conf1_destroy(struct device *dev)
{
	struct conf1 *c = container_of(dev, struct conf1, dev);
	struct vm *vm = dev->vm;

	bus_unregister(&vm->pio, PCI_CONFIG_DATA_PORT);
	bus_unregister(&vm->pio, PCI_CONFIG_ADDR_PORT);
	pci_host_destroy(vm);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Take the host bridge's instance off the VM's list, then destroy it. */
void pci_host_exit(struct vm *vm)
{
	struct device **pp;

	for (pp = &vm->devices; *pp; pp = &(*pp)->next) {
		if ((*pp)->type == &pci_host_type) {
			struct device *d = *pp;

			*pp = d->next;
			conf1_destroy(d);
			return;
		}
	}
}

/* Snapshot: CONFIG_ADDRESS, then the host bridge's config space. */
static int conf1_save(struct device *dev, void *buf, size_t len)
{
	struct conf1 *c = container_of(dev, struct conf1, dev);
	uint8_t *p = buf;

	if (len < 4 + PCI_CFG_SIZE)
		return -ENOSPC;
	pthread_mutex_lock(&c->lock);
	put_le32(p, c->config_addr);
	pthread_mutex_unlock(&c->lock);
	pci_host_save_bridge(c->host, p + 4);
	return 4 + PCI_CFG_SIZE;
}

static int conf1_restore(struct device *dev, const void *buf, size_t len)
{
	struct conf1 *c = container_of(dev, struct conf1, dev);
	const uint8_t *p = buf;

	if (len != 4 + PCI_CFG_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->config_addr = get_le32(p) & CONF1_ADDR_MASK;
	pthread_mutex_unlock(&c->lock);
	pci_host_restore_bridge(c->host, p + 4);
	return 0;
}

static const struct device_ops conf1_ops = {
	.save = conf1_save,
	.restore = conf1_restore,
	.describe = conf1_describe,
	.destroy = conf1_destroy,
};

static int conf1_create(struct vm *vm, const struct device_env *env, const void *conf,
			void *host, unsigned int index, struct errmsg *err)
{
	int ret;

	(void)env;
	(void)conf;
	(void)host;
	(void)index;
	ret = pci_host_init(vm);
	if (ret)
		return errmsg_set(err, ret, "%s", "");	/* pci_host_init() said why */
	return 0;
}

static struct device_type pci_host_type = {
	.name = "pci-host",
	.phase = PHASE_BUS,
	.create = conf1_create,
};
DEVICE_REGISTER(pci_host_type);
