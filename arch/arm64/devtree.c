/* The arm64 device tree (devtree.h): libfdt's sequential-write API over the inventory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libfdt.h>

#include "devtree.h"
#include "inventory.h"
#include "layout.h"

#define PHANDLE_GIC	1
#define PHANDLE_ITS	2

/* The GIC's interrupt specifier: type, number, flags */
#define GIC_SPI		0
#define GIC_PPI		1
#define IRQ_EDGE_RISING	1
#define IRQ_LEVEL_HIGH	4
#define IRQ_LEVEL_LOW	8

/* PPIs of the architected timer (INTID - 16): secure, non-secure, virtual, hypervisor */
static const uint32_t timer_ppis[] = { 13, 14, 11, 10 };

#define UART_CLOCK_HZ	1843200

static int fdt_errno(int err)
{
	return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

#define TRY(expr) do {				\
		int try_ret_ = (expr);		\
		if (try_ret_)			\
			return fdt_errno(try_ret_);	\
	} while (0)

uint64_t arm64_vcpu_mpidr(unsigned int index)
{
	return (uint64_t)(index & 0x0f) | (uint64_t)((index >> 4) & 0xff) << 8 |
	       (uint64_t)((index >> 12) & 0xff) << 16;
}

/* reg = <base size> with two cells each (the root's #address-cells and #size-cells) */
static int prop_reg64(void *fdt, const char *name, const uint64_t *pairs, unsigned int n)
{
	fdt64_t cells[8];

	for (unsigned int i = 0; i < n && i < 8; i++)
		cells[i] = cpu_to_fdt64(pairs[i]);
	return fdt_property(fdt, name, cells, (int)(n * sizeof(cells[0])));
}

static int prop_cells(void *fdt, const char *name, const uint32_t *v, unsigned int n)
{
	fdt32_t cells[32];

	if (n > 32)
		return -FDT_ERR_BADVALUE;
	for (unsigned int i = 0; i < n; i++)
		cells[i] = cpu_to_fdt32(v[i]);
	return fdt_property(fdt, name, cells, (int)(n * sizeof(cells[0])));
}

static int begin_node_at(void *fdt, const char *prefix, uint64_t addr)
{
	char name[64];

	snprintf(name, sizeof(name), "%s@%llx", prefix, (unsigned long long)addr);
	return fdt_begin_node(fdt, name);
}

static int add_memory(void *fdt, const struct arm64_platform *p)
{
	const uint64_t reg[] = { p->ram_base, p->ram_size };

	TRY(begin_node_at(fdt, "memory", p->ram_base));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg64(fdt, "reg", reg, 2));
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_cpus(void *fdt, const struct arm64_platform *p)
{
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < p->nr_cpus; i++) {
		uint64_t mpidr = arm64_vcpu_mpidr(i);

		TRY(begin_node_at(fdt, "cpu", mpidr));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_property_u64(fdt, "reg", mpidr));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	return 0;
}

/* KVM's in-kernel PSCI (KVM_ARM_VCPU_PSCI_0_2), called with HVC */
static int add_psci(void *fdt)
{
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2";

	TRY(fdt_begin_node(fdt, "psci"));
	TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_gic(void *fdt, const struct arm64_platform *p)
{
	TRY(begin_node_at(fdt, "intc", GIC_DIST_BASE));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_GIC));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	/* cells for the ITS below, and for the interrupt-map's parent unit address */
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	if (p->gic_version == 3) {
		const uint64_t reg[] = {
			GIC_DIST_BASE, GIC_DIST_SIZE,
			GIC_REDIST_BASE, (uint64_t)p->nr_cpus * GIC_REDIST_SIZE,
		};

		TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		TRY(prop_reg64(fdt, "reg", reg, 4));
		if (p->its) {
			const uint64_t its_reg[] = { GIC_ITS_BASE, GIC_ITS_SIZE };

			TRY(begin_node_at(fdt, "msi-controller", GIC_ITS_BASE));
			TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
			TRY(fdt_property(fdt, "msi-controller", NULL, 0));
			TRY(fdt_property_u32(fdt, "#msi-cells", 1));
			TRY(fdt_property_u32(fdt, "phandle", PHANDLE_ITS));
			TRY(prop_reg64(fdt, "reg", its_reg, 2));
			TRY(fdt_end_node(fdt));
		}
	} else {
		const uint64_t reg[] = { GIC_DIST_BASE, GIC_DIST_SIZE, GIC_CPU_BASE, GIC_CPU_SIZE };

		TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		TRY(prop_reg64(fdt, "reg", reg, 4));
	}
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_timer(void *fdt, const struct arm64_platform *p)
{
	uint32_t irqs[3 * 4];
	/* GICv2 PPIs name the CPUs they reach in bits 8-15 of the flags */
	uint32_t cpumask = p->gic_version == 2 ?
		((1u << (p->nr_cpus > 8 ? 8 : p->nr_cpus)) - 1) << 8 : 0;

	for (unsigned int i = 0; i < 4; i++) {
		irqs[3 * i] = GIC_PPI;
		irqs[3 * i + 1] = timer_ppis[i];
		irqs[3 * i + 2] = IRQ_LEVEL_LOW | cpumask;
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(prop_cells(fdt, "interrupts", irqs, 12));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_uart(void *fdt, const struct inv_entry *e)
{
	const uint64_t reg[] = { e->ranges[0].base, e->ranges[0].len };
	const uint32_t irq[] = { GIC_SPI, (uint32_t)e->irq, IRQ_LEVEL_HIGH };

	TRY(begin_node_at(fdt, "serial", e->ranges[0].base));
	TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
	TRY(prop_reg64(fdt, "reg", reg, 2));
	TRY(fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ));
	if (e->irq >= 0)
		TRY(prop_cells(fdt, "interrupts", irq, 3));
	TRY(fdt_end_node(fdt));
	return 0;
}

static int add_virtio_mmio(void *fdt, const struct inv_entry *e)
{
	const uint64_t reg[] = { e->ranges[0].base, e->ranges[0].len };
	const uint32_t irq[] = { GIC_SPI, (uint32_t)e->irq, IRQ_EDGE_RISING };

	TRY(begin_node_at(fdt, "virtio_mmio", e->ranges[0].base));
	TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	TRY(prop_reg64(fdt, "reg", reg, 2));
	TRY(prop_cells(fdt, "interrupts", irq, 3));
	TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	TRY(fdt_end_node(fdt));
	return 0;
}

/* The exit device, for a guest-side helper that looks it up by compatible. */
static int add_exit(void *fdt, const struct inv_entry *e)
{
	const uint64_t reg[] = { e->ranges[0].base, e->ranges[0].len };

	TRY(begin_node_at(fdt, "exit", e->ranges[0].base));
	TRY(fdt_property_string(fdt, "compatible", "kvmini,exit"));
	TRY(prop_reg64(fdt, "reg", reg, 2));
	TRY(fdt_end_node(fdt));
	return 0;
}

/* INTx of slots 0-3 and pins A-D; the mask repeats it for every fourth slot. */
static int add_pci_interrupt_map(void *fdt)
{
	uint32_t map[4 * 4 * 10], *m = map;
	const uint32_t mask[] = { 0x1800, 0, 0, 7 };

	for (unsigned int slot = 0; slot < 4; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			const uint32_t entry[10] = {
				slot << 11, 0, 0, pin + 1,	/* child unit address, pin */
				PHANDLE_GIC, 0, 0,		/* parent, its unit address */
				GIC_SPI, PCI_INTX_SPI(slot, pin), IRQ_LEVEL_HIGH,
			};

			memcpy(m, entry, sizeof(entry));
			m += 10;
		}
	}
	TRY(prop_cells(fdt, "interrupt-map-mask", mask, 4));
	/* prop_cells takes 32 at most: this one is longer */
	for (unsigned int i = 0; i < 160; i++)
		map[i] = cpu_to_fdt32(map[i]);
	TRY(fdt_property(fdt, "interrupt-map", map, sizeof(map)));
	return 0;
}

/*
 * An ECAM host bridge: range 0 is its configuration space, each further
 * MMIO range a 32-bit memory window for BARs (PCI address = CPU address).
 */
static int add_pci_host(void *fdt, const struct arm64_platform *p, const struct inv_entry *e)
{
	const uint64_t reg[] = { e->ranges[0].base, e->ranges[0].len };
	const uint32_t bus_range[] = { 0, (uint32_t)(e->ranges[0].len >> 20) - 1 };
	uint32_t ranges[7 * (INV_MAX_RANGES - 1)];
	unsigned int n = 0;
	int ret;

	if (e->nr_ranges < 1 || e->ranges[0].pio || e->ranges[0].len < (1u << 20))
		return -EINVAL;
	for (unsigned int i = 1; i < e->nr_ranges; i++) {
		const struct inv_range *r = &e->ranges[i];

		if (r->pio)
			continue;	/* no I/O window on this board */
		ranges[n++] = 0x02000000;	/* 32-bit memory space */
		ranges[n++] = (uint32_t)(r->base >> 32);
		ranges[n++] = (uint32_t)r->base;
		ranges[n++] = (uint32_t)(r->base >> 32);
		ranges[n++] = (uint32_t)r->base;
		ranges[n++] = (uint32_t)(r->len >> 32);
		ranges[n++] = (uint32_t)r->len;
	}
	TRY(begin_node_at(fdt, "pcie", e->ranges[0].base));
	TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	TRY(fdt_property_string(fdt, "device_type", "pci"));
	TRY(fdt_property_u32(fdt, "#address-cells", 3));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(fdt_property_u32(fdt, "linux,pci-domain", 0));
	TRY(prop_cells(fdt, "bus-range", bus_range, 2));
	TRY(prop_reg64(fdt, "reg", reg, 2));
	TRY(prop_cells(fdt, "ranges", ranges, n));
	TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	if (p->its) {
		/* requester ID N is ITS DeviceID N, for bus 0's 256 functions and beyond */
		const uint32_t msi_map[] = { 0, PHANDLE_ITS, 0, 0x10000 };

		TRY(prop_cells(fdt, "msi-map", msi_map, 4));
	}
	ret = add_pci_interrupt_map(fdt);
	if (ret)
		return ret;
	TRY(fdt_end_node(fdt));
	return 0;
}

/* Every inventory entry the guest cannot find by itself. */
static int add_devices(void *fdt, const struct arm64_platform *p)
{
	const struct inventory *inv = p->inv;
	int ret = 0;

	for (unsigned int i = 0; inv && i < inv->nr && !ret; i++) {
		const struct inv_entry *e = &inv->entries[i];

		if (e->nr_ranges < 1 || e->ranges[0].pio)
			continue;	/* nothing on arm64 decodes port I/O */
		switch (e->role) {
		case INV_UART:
			/* "probed" means a PC's legacy port: MMIO UARTs are always listed */
			ret = add_uart(fdt, e);
			break;
		case INV_VIRTIO_MMIO:
			ret = e->irq >= 0 ? add_virtio_mmio(fdt, e) : -EINVAL;
			break;
		case INV_PCI_HOST:
			ret = add_pci_host(fdt, p, e);
			break;
		case INV_EXIT:
			ret = add_exit(fdt, e);
			break;
		default:
			break;	/* PCI devices are enumerated; PSCI powers off and resets */
		}
	}
	return ret;
}

static const struct inv_entry *console_uart(const struct inventory *inv)
{
	for (unsigned int i = 0; inv && i < inv->nr; i++)
		if (inv->entries[i].role == INV_UART && inv->entries[i].nr_ranges &&
		    !inv->entries[i].ranges[0].pio)
			return &inv->entries[i];
	return NULL;
}

static int add_chosen(void *fdt, const struct arm64_platform *p)
{
	const struct inv_entry *con = console_uart(p->inv);
	char path[64];

	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", p->bootargs ? p->bootargs : ""));
	if (con) {
		snprintf(path, sizeof(path), "/serial@%llx",
			 (unsigned long long)con->ranges[0].base);
		TRY(fdt_property_string(fdt, "stdout-path", path));
	}
	if (p->initrd_end > p->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
	}
	TRY(fdt_property(fdt, "rng-seed", p->rng_seed, sizeof(p->rng_seed)));
	TRY(fdt_property_u64(fdt, "kaslr-seed", p->kaslr_seed));
	TRY(fdt_end_node(fdt));
	if (con) {
		TRY(fdt_begin_node(fdt, "aliases"));
		TRY(fdt_property_string(fdt, "serial0", path));
		TRY(fdt_end_node(fdt));
	}
	return 0;
}

int arm64_fdt_build(const struct arm64_platform *p, void *buf, size_t size)
{
	void *fdt = buf;
	int ret;

	if (!p->nr_cpus || (p->gic_version != 2 && p->gic_version != 3) ||
	    (p->gic_version == 2 && (p->nr_cpus > 8 || p->its)) ||
	    (p->gic_version == 3 && p->nr_cpus > ARM64_MAX_VCPUS) || size > INT32_MAX)
		return -EINVAL;
	TRY(fdt_create(fdt, (int)size));
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	TRY(fdt_property_string(fdt, "model", "kvmini"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", PHANDLE_GIC));
	ret = add_chosen(fdt, p);
	if (!ret)
		ret = add_memory(fdt, p);
	if (!ret)
		ret = add_cpus(fdt, p);
	if (!ret)
		ret = add_psci(fdt);
	if (!ret)
		ret = add_gic(fdt, p);
	if (!ret)
		ret = add_timer(fdt, p);
	if (!ret)
		ret = add_devices(fdt, p);
	if (ret)
		return ret;
	TRY(fdt_end_node(fdt));
	TRY(fdt_finish(fdt));
	return 0;
}
