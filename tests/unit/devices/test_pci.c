/*
 * PCI bus 0 and the virtio-pci transport as a guest sees them: conf1
 * ports, BARs on the VM's buses, MSI-X, virtio common configuration.
 * KVM is faked: the vm_msi_*, vm_irqfd, vm_ioeventfd and vm_irq_line
 * calls are wrapped at link time (-Wl,--wrap) and recorded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "../err_capture.h"
#include "irq.h"
#include "../ram_split.h"
#include "layout.h"
#include "pci.h"
#include "virtio/virtio.h"
#include "vm.h"

#define RAM_SIZE	(1ull << 20)
#define MAX_GSI		64
#define MAX_IOEVENTFDS	16

/* ---- the fake KVM ---- */

static struct {
	unsigned int next_gsi;
	struct { uint64_t addr; uint32_t data, devid; bool active; int sets; } route[MAX_GSI];
	int irqfd[MAX_GSI];		/* eventfd bound to each GSI, or -1 */
	int line[MAX_GSI];		/* vm_irq_line levels */
	int signals;			/* vm_msi_signal calls */
	struct { int fd; uint64_t addr; uint32_t len; bool pio; } ioev[MAX_IOEVENTFDS];
	unsigned int nr_ioev;
} kvm;

int __wrap_vm_msi_alloc(struct vm *vm)
{
	(void)vm;
	return kvm.next_gsi < MAX_GSI ? (int)kvm.next_gsi++ : -ENOSPC;
}

int __wrap_vm_msi_set(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data,
		      uint32_t devid, bool masked)
{
	(void)vm;
	assert_true(gsi >= IOAPIC_NR_PINS && gsi < kvm.next_gsi);
	kvm.route[gsi].addr = addr;
	kvm.route[gsi].data = data;
	kvm.route[gsi].devid = devid;
	kvm.route[gsi].active = !masked;
	kvm.route[gsi].sets++;
	return 0;
}

int __wrap_vm_msi_signal(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	(void)vm;
	(void)addr;
	(void)data;
	(void)devid;
	kvm.signals++;
	return 0;
}

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

int __wrap_vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
			bool assign)
{
	(void)vm;
	if (assign) {
		assert_true(kvm.nr_ioev < MAX_IOEVENTFDS);
		for (unsigned int i = 0; i < kvm.nr_ioev; i++)
			if (kvm.ioev[i].addr == addr && kvm.ioev[i].pio == is_pio)
				return -EEXIST;
		kvm.ioev[kvm.nr_ioev++] = (typeof(kvm.ioev[0])){ fd, addr, len, is_pio };
		return 0;
	}
	for (unsigned int i = 0; i < kvm.nr_ioev; i++) {
		if (kvm.ioev[i].fd == fd && kvm.ioev[i].addr == addr &&
		    kvm.ioev[i].len == len && kvm.ioev[i].pio == is_pio) {
			kvm.ioev[i] = kvm.ioev[--kvm.nr_ioev];
			return 0;
		}
	}
	fail_msg("deassigning an ioeventfd that is not assigned");
	return -ENOENT;
}

int __wrap_vm_irq_line(struct vm *vm, unsigned int gsi, int level)
{
	(void)vm;
	assert_true(gsi < MAX_GSI);
	kvm.line[gsi] = level;
	return 0;
}

static uint64_t eventfd_count(int fd)
{
	eventfd_t v = 0;

	if (eventfd_read(fd, &v) < 0)
		return 0;	/* nonblocking and empty */
	return v;
}

/* ---- fixture: a VM with buses, RAM and the PCI host ---- */

struct fixture {
	struct vm vm;
	uint8_t *ram;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	memset(&kvm, 0, sizeof(kvm));
	kvm.next_gsi = IOAPIC_NR_PINS;
	for (int i = 0; i < MAX_GSI; i++)
		kvm.irqfd[i] = -1;
	f->ram = calloc(1, RAM_SIZE);
	if (!f->ram)
		return -1;
	f->vm.vm_fd = -1;
	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	test_mem_layout(&f->vm.mem, f->ram, RAM_SIZE, MMIO_HOLE_START);
	if (pci_host_init(&f->vm))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_host_exit(&f->vm);
	assert_null(f->vm.pci);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- guest-side accessors ---- */

static uint64_t get(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void set(uint8_t *p, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t io_in(struct fixture *f, struct bus *b, uint64_t addr, unsigned int len)
{
	uint8_t d[8];

	(void)f;
	bus_access(b, addr, d, len, false);
	return get(d, len);
}

static void io_out(struct fixture *f, struct bus *b, uint64_t addr, uint64_t v,
		   unsigned int len)
{
	uint8_t d[8];

	(void)f;
	set(d, v, len);
	bus_access(b, addr, d, len, true);
}

static uint32_t conf1_addr(unsigned int bus, unsigned int slot, unsigned int fn,
			   unsigned int reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_rd(struct fixture *f, unsigned int slot, unsigned int reg,
		       unsigned int len)
{
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, conf1_addr(0, slot, 0, reg), 4);
	return (uint32_t)io_in(f, &f->vm.pio, PCI_CONFIG_DATA_PORT + (reg & 3), len);
}

static void cfg_wr(struct fixture *f, unsigned int slot, unsigned int reg, uint32_t v,
		   unsigned int len)
{
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, conf1_addr(0, slot, 0, reg), 4);
	io_out(f, &f->vm.pio, PCI_CONFIG_DATA_PORT + (reg & 3), v, len);
}

/* Config offset of the @nth capability with ID @id (and vendor cfg_type @type). */
static unsigned int find_cap(struct fixture *f, unsigned int slot, uint8_t id, int type)
{
	unsigned int off, guard = 0;

	assert_true(cfg_rd(f, slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (off = cfg_rd(f, slot, PCI_CAPABILITY_LIST, 1); off; off = cfg_rd(f, slot, off + 1, 1)) {
		assert_true(off >= 0x40 && off % 4 == 0 && ++guard < 48);
		if (cfg_rd(f, slot, off, 1) == id &&
		    (type < 0 || cfg_rd(f, slot, off + 3, 1) == (unsigned int)type))
			return off;
	}
	fail_msg("capability 0x%x/%d not found", id, type);
	return 0;
}

/* ---- a plain test device ---- */

struct tdev {
	struct pci_device pci;
	int reads, writes;
	uint64_t last_off;
	int mapped_calls;
	uint64_t mapped_addr[PCI_NUM_BARS];
	bool mapped[PCI_NUM_BARS];
};

static void tdev_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct tdev *t = opaque;

	t->reads++;
	t->last_off = off;
	memset(data, 0x5a, len);
}

static void tdev_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct tdev *t = opaque;

	(void)data;
	(void)len;
	t->writes++;
	t->last_off = off;
}

static const struct bus_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

static void tdev_mapped(struct pci_device *pd, unsigned int bar, uint64_t addr, bool mapped)
{
	struct tdev *t = pd->priv;

	t->mapped_calls++;
	t->mapped_addr[bar] = addr;
	t->mapped[bar] = mapped;
}

/* BAR0: 64-bit 32 KiB memory with MSI-X; BAR2: 32 bytes of I/O; BAR3: 4 KiB memory. */
static struct tdev *tdev_new(struct fixture *f, unsigned int msix)
{
	struct tdev *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->pci.name = "test-dev";
	t->pci.vendor_id = 0x1234;
	t->pci.device_id = 0x5678;
	t->pci.class_code = 0xff0000;
	t->pci.intx = true;
	t->pci.bars[0] = (struct pci_bar){ .size = 0x8000, .mem64 = true, .ops = &tdev_ops,
					   .opaque = t };
	t->pci.bars[2] = (struct pci_bar){ .size = 0x20, .io = true, .ops = &tdev_ops,
					   .opaque = t };
	t->pci.bars[3] = (struct pci_bar){ .size = 0x1000, .ops = &tdev_ops, .opaque = t };
	t->pci.msix_vectors = msix;
	t->pci.msix_bar = 0;
	t->pci.msix_table_off = 0x1000;
	t->pci.msix_pba_off = 0x1800;
	t->pci.bar_mapped = tdev_mapped;
	t->pci.priv = t;
	assert_int_equal(pci_register_device(&f->vm, &t->pci), 0);
	return t;
}

static void tdev_free(struct tdev *t)
{
	pci_unregister_device(&t->pci);
	free(t);
}

/* ---- tests ---- */

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(f, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR_ID);
	assert_int_equal(cfg_rd(f, 0, PCI_DEVICE_ID, 2), PCI_HOST_DEVICE_ID);
	assert_int_equal(cfg_rd(f, 0, PCI_VENDOR_ID, 4),
			 PCI_HOST_DEVICE_ID << 16 | PCI_HOST_VENDOR_ID);
	assert_int_equal(cfg_rd(f, 0, PCI_REVISION_ID, 4) >> 8, PCI_CLASS_BRIDGE_HOST);
	assert_int_equal(cfg_rd(f, 0, PCI_CLASS_PROG + 2, 1), 0x06);	/* base class */
	assert_int_equal(cfg_rd(f, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_rd(f, 0, PCI_BASE_ADDRESS_0, 4), 0);
	/* read-only: vendor ID writes are ignored */
	cfg_wr(f, 0, PCI_VENDOR_ID, 0xbeef, 2);
	assert_int_equal(cfg_rd(f, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR_ID);

	/* Linux's conf1 probe: CONFIG_ADDRESS reads back what was written */
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, 0x80000000u, 4);
	assert_int_equal(io_in(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, 4), 0x80000000u);
	/* a byte write at 0xcfb is not CONFIG_ADDRESS */
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT + 3, 0x01, 1);
	assert_int_equal(io_in(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, 4), 0x80000000u);

	/* absent: empty slots, other functions, other buses, enable bit clear */
	assert_int_equal(cfg_rd(f, 5, PCI_VENDOR_ID, 4), 0xffffffffu);
	assert_int_equal(cfg_rd(f, 31, PCI_VENDOR_ID, 2), 0xffff);
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, conf1_addr(0, 0, 1, 0), 4);
	assert_int_equal(io_in(f, &f->vm.pio, PCI_CONFIG_DATA_PORT, 4), 0xffffffffu);
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, conf1_addr(1, 0, 0, 0), 4);
	assert_int_equal(io_in(f, &f->vm.pio, PCI_CONFIG_DATA_PORT, 4), 0xffffffffu);
	io_out(f, &f->vm.pio, PCI_CONFIG_ADDR_PORT, conf1_addr(0, 0, 0, 0) & 0x7fffffff, 4);
	assert_int_equal(io_in(f, &f->vm.pio, PCI_CONFIG_DATA_PORT, 4), 0xffffffffu);
}

static void test_byte_word_access(void **state)
{
	struct fixture *f = *state;
	struct tdev *t = tdev_new(f, 0);

	assert_int_equal(t->pci.slot, 1);
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 4), 0x56781234);
	assert_int_equal(cfg_rd(f, 1, PCI_DEVICE_ID, 2), 0x5678);	/* port 0xcfe */
	assert_int_equal(cfg_rd(f, 1, PCI_DEVICE_ID + 1, 1), 0x56);	/* port 0xcff */
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_PIN, 1), 1);	/* INTA# */
	/* interrupt line and latency timer are writable bytes */
	cfg_wr(f, 1, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_LINE, 1), 0x0b);
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_PIN, 1), 1);
	tdev_free(t);
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 4), 0xffffffffu);
}

static void test_bar_sizing_and_move(void **state)
{
	struct fixture *f = *state;
	struct tdev *t = tdev_new(f, 0);
	uint32_t bar0 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4);
	uint32_t bar2 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 8, 4);
	uint32_t bar3 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 12, 4);
	uint64_t mem = bar0 & ~0xfu, io = bar2 & ~3u;
	uint16_t cmd = (uint16_t)cfg_rd(f, 1, PCI_COMMAND, 2);

	/* assigned from the windows, decoding on as firmware would leave it */
	assert_int_equal(bar0 & 0xf, PCI_BAR_MEM_TYPE_64);
	assert_true(mem >= PCI_MMIO_START && mem + 0x8000 <= PCI_MMIO_END && mem % 0x8000 == 0);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4), 0);
	assert_int_equal(bar2 & 3, PCI_BAR_SPACE_IO);
	assert_true(io >= PCI_IO_START && io + 0x20 <= PCI_IO_END && io % 0x20 == 0);
	assert_true((bar3 & ~0xfu) >= PCI_MMIO_START && (bar3 & 0xf) == 0);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 4 * 4, 4), 0);	/* unused */
	assert_int_equal(cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_true(t->mapped[0] && t->mapped_addr[0] == mem);

	assert_int_equal(io_in(f, &f->vm.mmio, mem + 0x10, 4), 0x5a5a5a5a);
	assert_int_equal(t->last_off, 0x10);
	assert_int_equal(io_in(f, &f->vm.pio, io + 4, 1), 0x5a);

	/* sizing: all-ones reads back the size mask and the type bits */
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xffff8000u | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4), 0xffffffffu);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 8, 4), 0xffe0u | PCI_BAR_SPACE_IO);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 12, 4), 0xfffff000u);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 16, 4), 0);

	/* move BAR0 and BAR2, then decode again */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 4, 0, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 8, 0xe000, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 12, bar3, 4);
	assert_false(t->mapped[0]);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	assert_true(t->mapped[0] && t->mapped_addr[0] == 0xd0000000u);
	t->reads = 0;
	assert_false(bus_access(&f->vm.mmio, mem + 0x10, (uint8_t[4]){ 0 }, 4, false));
	assert_false(bus_access(&f->vm.pio, io, (uint8_t[1]){ 0 }, 1, false));
	assert_int_equal(t->reads, 0);
	assert_int_equal(io_in(f, &f->vm.mmio, 0xd0000020u, 4), 0x5a5a5a5a);
	assert_int_equal(t->last_off, 0x20);
	assert_int_equal(io_in(f, &f->vm.pio, 0xe001, 1), 0x5a);
	assert_int_equal(t->last_off, 1);

	/* an I/O BAR moved by a conf1 write while decoding: the PIO bus changes
	 * from inside its own handler */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0 + 8, 0xd000, 4);
	assert_false(bus_access(&f->vm.pio, 0xe001, (uint8_t[1]){ 0 }, 1, false));
	assert_int_equal(io_in(f, &f->vm.pio, 0xd002, 1), 0x5a);
	assert_int_equal(t->last_off, 2);
	tdev_free(t);
	assert_false(bus_access(&f->vm.mmio, 0xd0000020u, (uint8_t[4]){ 0 }, 4, false));
	assert_false(bus_access(&f->vm.pio, 0xd000, (uint8_t[1]){ 0 }, 1, false));
}

static void test_command_decode(void **state)
{
	struct fixture *f = *state;
	struct tdev *t = tdev_new(f, 0);
	uint64_t mem = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	uint64_t io = cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 8, 4) & ~3u;
	uint8_t d[4];

	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_false(bus_access(&f->vm.mmio, mem, d, 4, false));
	assert_true(bus_access(&f->vm.pio, io, d, 1, false));
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(bus_access(&f->vm.mmio, mem, d, 4, false));
	assert_false(bus_access(&f->vm.pio, io, d, 1, false));
	/* a byte write to the low command byte works the same */
	cfg_wr(f, 1, PCI_COMMAND, 0, 1);
	assert_false(bus_access(&f->vm.mmio, mem, d, 4, false));
	assert_int_equal(cfg_rd(f, 1, PCI_COMMAND, 2), 0);

	/* INTx: the line follows the device unless INTx Disable is set */
	pci_set_irq(&t->pci, true);
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 1);
	assert_true(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 0);
	assert_true(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 1);
	pci_set_irq(&t->pci, false);
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 0);
	assert_false(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	tdev_free(t);
}

static void msix_entry(struct fixture *f, uint64_t table, unsigned int v, uint64_t addr,
		       uint32_t data, bool masked)
{
	io_out(f, &f->vm.mmio, table + 16 * v, (uint32_t)addr, 4);
	io_out(f, &f->vm.mmio, table + 16 * v + 4, addr >> 32, 4);
	io_out(f, &f->vm.mmio, table + 16 * v + 8, data, 4);
	io_out(f, &f->vm.mmio, table + 16 * v + 12, masked, 4);
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	struct tdev *t = tdev_new(f, 3);
	uint64_t mem = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX, -1);
	uint64_t table = mem + 0x1000, pba = mem + 0x1800;
	int gsi1, fd1;

	assert_int_equal(cfg_rd(f, 1, cap + PCI_MSIX_FLAGS, 2), 2);	/* N - 1 */
	assert_int_equal(cfg_rd(f, 1, cap + PCI_MSIX_TABLE, 4), 0x1000 | 0);
	assert_int_equal(cfg_rd(f, 1, cap + PCI_MSIX_PBA, 4), 0x1800 | 0);
	/* one GSI and irqfd per vector, no routes before the driver writes */
	assert_int_equal(kvm.next_gsi, IOAPIC_NR_PINS + 3);
	gsi1 = IOAPIC_NR_PINS + 1;
	fd1 = kvm.irqfd[gsi1];
	assert_true(fd1 >= 0);
	assert_int_equal(kvm.route[gsi1].sets, 0);
	/* vectors start masked; the table reads back */
	assert_int_equal(io_in(f, &f->vm.mmio, table + 16 + 12, 4), 1);

	/* program vector 1 while MSI-X is off: no route yet */
	msix_entry(f, table, 1, 0xfee01000, 0x4041, false);
	assert_int_equal(io_in(f, &f->vm.mmio, table + 16 + 8, 4), 0x4041);
	assert_int_equal(kvm.route[gsi1].sets, 0);
	assert_false(pci_msix_enabled(&t->pci));
	cfg_wr(f, 1, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_true(pci_msix_enabled(&t->pci));
	assert_true(kvm.route[gsi1].active);
	assert_int_equal(kvm.route[gsi1].addr, 0xfee01000);
	assert_int_equal(kvm.route[gsi1].data, 0x4041);
	/* the requester ID of slot 1, function 0: what arm64's ITS takes as the DeviceID */
	assert_int_equal(kvm.route[gsi1].devid, 1 << 3);
	/* the table size field stays read-only */
	assert_int_equal(cfg_rd(f, 1, cap + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE | 2);

	/* a message goes out through the vector's irqfd */
	pci_msix_notify(&t->pci, 1);
	assert_int_equal(eventfd_count(fd1), 1);

	/* masked: pending in the PBA, sent on unmask */
	io_out(f, &f->vm.mmio, table + 16 + 12, 1, 4);
	pci_msix_notify(&t->pci, 1);
	assert_int_equal(eventfd_count(fd1), 0);
	assert_int_equal(io_in(f, &f->vm.mmio, pba, 8), 1u << 1);
	/* a new address while masked reaches KVM at unmask */
	io_out(f, &f->vm.mmio, table + 16, 0xfee02000, 4);
	assert_int_equal(kvm.route[gsi1].addr, 0xfee01000);
	io_out(f, &f->vm.mmio, table + 16 + 12, 0, 4);
	assert_int_equal(kvm.route[gsi1].addr, 0xfee02000);
	assert_int_equal(eventfd_count(fd1), 1);
	assert_int_equal(io_in(f, &f->vm.mmio, pba, 8), 0);

	/* function mask */
	cfg_wr(f, 1, cap + PCI_MSIX_FLAGS,
	       PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_msix_notify(&t->pci, 1);
	assert_int_equal(eventfd_count(fd1), 0);
	cfg_wr(f, 1, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(eventfd_count(fd1), 1);

	/* vector 0 was never unmasked; out-of-range vectors are ignored */
	pci_msix_notify(&t->pci, 0);
	pci_msix_notify(&t->pci, 3);
	assert_int_equal(io_in(f, &f->vm.mmio, pba, 4), 1);
	assert_int_equal(kvm.signals, 0);

	/* disabling MSI-X drops the routes; unregistering drops the irqfds */
	cfg_wr(f, 1, cap + PCI_MSIX_FLAGS, 0, 2);
	assert_false(kvm.route[gsi1].active);
	tdev_free(t);
	for (int g = IOAPIC_NR_PINS; g < IOAPIC_NR_PINS + 3; g++)
		assert_int_equal(kvm.irqfd[g], -1);
}

static void test_bad_bars_rejected(void **state)
{
	struct fixture *f = *state;
	struct pci_device pd = {
		.name = "bad",
		.bars[0] = { .size = 0x3000, .ops = &tdev_ops },	/* not a power of two */
	};

	assert_int_equal(pci_register_device(&f->vm, &pd), -EINVAL);
	memset(&pd, 0, sizeof(pd));
	pd.name = "bad64";
	pd.bars[5] = (struct pci_bar){ .size = 0x1000, .mem64 = true, .ops = &tdev_ops };
	assert_int_equal(pci_register_device(&f->vm, &pd), -EINVAL);
	memset(&pd, 0, sizeof(pd));
	pd.name = "huge";
	pd.bars[0] = (struct pci_bar){ .size = 1ull << 40, .mem64 = true, .ops = &tdev_ops };
	assert_int_equal(pci_register_device(&f->vm, &pd), -ENOSPC);
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 4), 0xffffffffu);
}

/* ---- virtio-pci with a dummy device ---- */

#define VQ_SIZE		256
#define DUMMY_ID	4
#define DUMMY_FEATURE	0	/* a device-specific feature bit we offer */

struct dummy {
	struct virtio_dev vdev;
	int activated, resets;
	uint8_t config[8];
};

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

static const struct virtio_dev_ops dummy_ops = {
	.activate = dummy_activate,
	.reset = dummy_reset,
	.config_read = dummy_config_read,
};

struct vfix {
	struct fixture *f;
	struct dummy dev;
	uint64_t bar;		/* BAR0 address */
	unsigned int slot;
};

static void vfix_add(struct fixture *f, struct vfix *v)
{
	memset(v, 0, sizeof(*v));
	v->f = f;
	v->dev.vdev = (struct virtio_dev){
		.ops = &dummy_ops,
		.priv = &v->dev,
		.name = "virtio-dummy",
		.device_id = DUMMY_ID,
		.host_features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX |
				 1ull << DUMMY_FEATURE,
		.num_queues = 2,
		.queue_max_size = VQ_SIZE,
		.config_size = sizeof(v->dev.config),
	};
	memcpy(v->dev.config, "kvmini!", 8);
	assert_int_equal(virtio_pci_add(&f->vm, &v->dev.vdev), 0);
	v->slot = 1;
	v->bar = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	v->bar |= (uint64_t)cfg_rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4) << 32;
}

/* Read the virtio capability of @type: its BAR offset (and notify multiplier). */
static uint32_t vcap(struct vfix *v, int type, uint32_t *len, uint32_t *mult)
{
	unsigned int c = find_cap(v->f, v->slot, PCI_CAP_ID_VNDR, type);

	assert_int_equal(cfg_rd(v->f, v->slot, c + 4, 1), 0);	/* BAR0 */
	if (len)
		*len = cfg_rd(v->f, v->slot, c + 12, 4);
	if (mult)
		*mult = cfg_rd(v->f, v->slot, c + 16, 4);
	return cfg_rd(v->f, v->slot, c + 8, 4);
}

static uint64_t cc_rd(struct vfix *v, unsigned int off, unsigned int len)
{
	return io_in(v->f, &v->f->vm.mmio, v->bar + vcap(v, 1, NULL, NULL) + off, len);
}

static void cc_wr(struct vfix *v, unsigned int off, uint64_t val, unsigned int len)
{
	io_out(v->f, &v->f->vm.mmio, v->bar + vcap(v, 1, NULL, NULL) + off, val, len);
}

static void cc_wr64(struct vfix *v, unsigned int off, uint64_t val)
{
	cc_wr(v, off, (uint32_t)val, 4);
	cc_wr(v, off + 4, val >> 32, 4);
}

static void negotiate(struct vfix *v, uint64_t features)
{
	cc_wr(v, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	cc_wr(v, 0x08, 0, 4);
	cc_wr(v, 0x0c, (uint32_t)features, 4);
	cc_wr(v, 0x08, 1, 4);
	cc_wr(v, 0x0c, features >> 32, 4);
	cc_wr(v, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	      VIRTIO_STATUS_FEATURES_OK, 1);
}

static void test_virtio_identity_and_caps(void **state)
{
	struct fixture *f = *state;
	struct vfix v;
	uint32_t len, mult;

	vfix_add(f, &v);
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, 1, PCI_DEVICE_ID, 2), 0x1040 + DUMMY_ID);
	assert_int_equal(cfg_rd(f, 1, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_rd(f, 1, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BAR_MEM_TYPE_64);

	assert_int_equal(vcap(&v, 1, &len, NULL), 0x0000);
	assert_true(len >= 0x38);
	assert_int_equal(vcap(&v, 2, &len, &mult), 0x3000);
	assert_int_equal(mult, 4);
	assert_int_equal(len, 2 * 4);
	assert_int_equal(vcap(&v, 3, &len, NULL), 0x1000);
	assert_int_equal(vcap(&v, 4, &len, NULL), 0x2000);
	assert_int_equal(len, 8);
	(void)find_cap(f, 1, PCI_CAP_ID_VNDR, 5);
	assert_int_equal(cfg_rd(f, 1, find_cap(f, 1, PCI_CAP_ID_MSIX, -1) + 2, 2), 2);

	/* device config through the BAR */
	assert_int_equal(io_in(f, &f->vm.mmio, v.bar + 0x2000, 4), get((uint8_t *)"kvmi", 4));
	assert_int_equal(cc_rd(&v, 0x12, 2), 2);		/* num_queues */

	/* one ioeventfd per queue doorbell, on the queue's kick eventfd */
	assert_int_equal(kvm.nr_ioev, 2);
	for (unsigned int i = 0; i < 2; i++) {
		unsigned int q = (unsigned int)((kvm.ioev[i].addr - v.bar - 0x3000) / 4);

		assert_true(q < 2);
		assert_int_equal(kvm.ioev[i].addr, v.bar + 0x3000 + 4 * q);
		assert_int_equal(kvm.ioev[i].fd, v.dev.vdev.kick_fds[q]);
		assert_int_equal(kvm.ioev[i].len, 2);
		assert_false(kvm.ioev[i].pio);
	}
	/* they follow the BAR */
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(kvm.nr_ioev, 0);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(kvm.nr_ioev, 2);
	assert_int_equal(kvm.ioev[0].addr & ~0xfffull, 0xd0003000u);
	v.bar = 0xd0000000u;

	/* a kick that reaches userspace lands on the same eventfd */
	io_out(f, &f->vm.mmio, v.bar + 0x3004, 1, 2);
	assert_int_equal(eventfd_count(v.dev.vdev.kick_fds[1]), 1);
	assert_int_equal(eventfd_count(v.dev.vdev.kick_fds[0]), 0);

	/* the PCI_CFG window reads the BAR through config space */
	{
		unsigned int c = find_cap(f, 1, PCI_CAP_ID_VNDR, 5);

		cfg_wr(f, 1, c + 4, 0, 1);
		cfg_wr(f, 1, c + 8, 0x12, 4);		/* num_queues */
		cfg_wr(f, 1, c + 12, 2, 4);
		assert_int_equal(cfg_rd(f, 1, c + 16, 2), 2);
	}
	virtio_pci_remove(&v.dev.vdev);
	assert_int_equal(kvm.nr_ioev, 0);
	assert_null(v.dev.vdev.vqs);
}

static void test_virtio_negotiation(void **state)
{
	struct fixture *f = *state;
	struct vfix v;

	vfix_add(f, &v);
	cc_wr(&v, 0x00, 0, 4);
	assert_int_equal(cc_rd(&v, 0x04, 4), 1u << VIRTIO_F_EVENT_IDX | 1u << DUMMY_FEATURE);
	cc_wr(&v, 0x00, 1, 4);
	assert_int_equal(cc_rd(&v, 0x04, 4), 1);		/* VERSION_1 */
	cc_wr(&v, 0x00, 2, 4);
	assert_int_equal(cc_rd(&v, 0x04, 4), 0);

	/* an unknown feature: FEATURES_OK does not stick */
	negotiate(&v, 1ull << VIRTIO_F_VERSION_1 | 1ull << 5);
	assert_int_equal(cc_rd(&v, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* nor without VERSION_1 */
	cc_wr(&v, 0x14, 0, 1);
	negotiate(&v, 1ull << DUMMY_FEATURE);
	assert_int_equal(cc_rd(&v, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK does not start the device */
	cc_wr(&v, 0x14, 0x0f & ~VIRTIO_STATUS_FEATURES_OK, 1);
	assert_int_equal(v.dev.activated, 0);

	cc_wr(&v, 0x14, 0, 1);
	negotiate(&v, 1ull << VIRTIO_F_VERSION_1 | 1ull << DUMMY_FEATURE);
	assert_int_equal(cc_rd(&v, 0x14, 1), VIRTIO_STATUS_ACKNOWLEDGE |
			 VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(v.dev.vdev.driver_features,
			 1ull << VIRTIO_F_VERSION_1 | 1ull << DUMMY_FEATURE);
	/* features are frozen once accepted */
	cc_wr(&v, 0x08, 0, 4);
	cc_wr(&v, 0x0c, 0, 4);
	assert_int_equal(cc_rd(&v, 0x0c, 4), 1u << DUMMY_FEATURE);
	virtio_pci_remove(&v.dev.vdev);
}

static void test_virtio_queues_and_reset(void **state)
{
	struct fixture *f = *state;
	struct virtq *vq;
	struct vfix v;
	uint8_t gen;

	vfix_add(f, &v);
	negotiate(&v, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX);
	assert_true(cc_rd(&v, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);

	cc_wr(&v, 0x16, 0, 2);
	assert_int_equal(cc_rd(&v, 0x18, 2), VQ_SIZE);
	assert_int_equal(cc_rd(&v, 0x1e, 2), 0);		/* notify_off */
	assert_int_equal(cc_rd(&v, 0x1a, 2), 0xffff);
	cc_wr(&v, 0x18, 16, 2);
	cc_wr64(&v, 0x20, 0x10000);
	cc_wr64(&v, 0x28, 0x11000);
	cc_wr64(&v, 0x30, 0x12000);
	cc_wr(&v, 0x1a, 1, 2);
	assert_int_equal(cc_rd(&v, 0x1a, 2), 1);
	cc_wr(&v, 0x1a, 99, 2);				/* no such vector */
	assert_int_equal(cc_rd(&v, 0x1a, 2), 0xffff);
	cc_wr(&v, 0x1a, 1, 2);
	cc_wr(&v, 0x1c, 1, 2);
	assert_int_equal(cc_rd(&v, 0x1c, 2), 1);
	assert_int_equal(cc_rd(&v, 0x24, 4), 0);
	assert_int_equal(cc_rd(&v, 0x20, 8), 0x10000);
	vq = &v.dev.vdev.vqs[0];
	assert_true(vq->ready && vq->size == 16 && vq->event_idx && !vq->indirect);
	assert_ptr_equal(vq->mem, &f->vm.mem);
	/* an enabled queue's configuration is frozen */
	cc_wr64(&v, 0x20, 0x20000);
	assert_int_equal(vq->desc_gpa, 0x10000);

	/* queue 1: rings outside guest RAM are refused, the device needs a reset */
	cc_wr(&v, 0x16, 1, 2);
	cc_wr64(&v, 0x20, RAM_SIZE - 0x100);
	cc_wr64(&v, 0x28, 0x13000);
	cc_wr64(&v, 0x30, 0x14000);
	cc_wr(&v, 0x1c, 1, 2);
	assert_int_equal(cc_rd(&v, 0x1c, 2), 0);
	assert_true(cc_rd(&v, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* a queue beyond num_queues reads size 0 */
	cc_wr(&v, 0x16, 2, 2);
	assert_int_equal(cc_rd(&v, 0x18, 2), 0);

	/* config change without MSI-X: generation moves, ISR bit 1, INTx */
	gen = (uint8_t)cc_rd(&v, 0x15, 1);
	v.dev.vdev.transport->notify_config(&v.dev.vdev);
	assert_int_equal((uint8_t)cc_rd(&v, 0x15, 1), (uint8_t)(gen + 1));
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 1);
	assert_int_equal(io_in(f, &f->vm.mmio, v.bar + 0x1000, 1), 2);
	assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 0);
	assert_int_equal(io_in(f, &f->vm.mmio, v.bar + 0x1000, 1), 0);

	/* used buffers on queue 0 with MSI-X on: vector 1's irqfd */
	{
		unsigned int cap = find_cap(f, 1, PCI_CAP_ID_MSIX, -1);
		int fd = kvm.irqfd[IOAPIC_NR_PINS + 1];

		msix_entry(f, v.bar + 0x4000, 1, 0xfee00000, 0x41, false);
		cfg_wr(f, 1, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
		v.dev.vdev.transport->notify_queue(&v.dev.vdev, 0);
		assert_int_equal(eventfd_count(fd), 1);
		assert_int_equal(kvm.line[PCI_INTX_GSI_BASE + 1], 0);
		assert_int_equal(io_in(f, &f->vm.mmio, v.bar + 0x1000, 1), 0);
	}

	/* DRIVER_OK starts the device once */
	cc_wr(&v, 0x14, 0x0f, 1);
	assert_int_equal(v.dev.activated, 1);
	cc_wr(&v, 0x14, 0x0f, 1);
	assert_int_equal(v.dev.activated, 1);

	/* reset clears everything the driver set */
	cc_wr(&v, 0x14, 0, 1);
	assert_int_equal(v.dev.resets, 1);
	assert_int_equal(cc_rd(&v, 0x14, 1), 0);
	assert_int_equal(v.dev.vdev.driver_features, 0);
	assert_int_equal(cc_rd(&v, 0x16, 2), 0);
	assert_int_equal(cc_rd(&v, 0x1c, 2), 0);
	assert_int_equal(cc_rd(&v, 0x18, 2), VQ_SIZE);
	assert_int_equal(cc_rd(&v, 0x1a, 2), 0xffff);
	assert_int_equal(cc_rd(&v, 0x10, 2), 0xffff);
	assert_int_equal(cc_rd(&v, 0x20, 8), 0);
	assert_false(vq->ready);
	virtio_pci_remove(&v.dev.vdev);
}

/*
 * Status bits cleared without a reset: the device stops, sets NEEDS_RESET,
 * sends a config interrupt (INTx and ISR bit 1 here), ignores the driver
 * until the reset, and warns once however often the driver does it.
 */
static void test_virtio_status_clear(void **state)
{
	struct fixture *f = *state;
	struct vfix v;
	const char *err;
	int round;

	vfix_add(f, &v);
	negotiate(&v, 1ull << VIRTIO_F_VERSION_1);
	cc_wr(&v, 0x14, 0x0f, 1);
	assert_int_equal(v.dev.activated, 1);

	err_begin();
	for (round = 0; round < 100; round++) {
		uint8_t gen = (uint8_t)cc_rd(&v, 0x15, 1);

		/* DRIVER_OK and FEATURES_OK cleared on a live device */
		cc_wr(&v, 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
		assert_int_equal(cc_rd(&v, 0x14, 1), 0x0f | VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(v.dev.resets, 2 * round + 1);
		assert_int_equal((uint8_t)cc_rd(&v, 0x15, 1), (uint8_t)(gen + 1));
		assert_int_equal(io_in(f, &f->vm.mmio, v.bar + 0x1000, 1), 2);
		/* new features and DRIVER_OK again: ignored */
		cc_wr(&v, 0x08, 0, 4);
		cc_wr(&v, 0x0c, 1u << DUMMY_FEATURE, 4);
		cc_wr(&v, 0x14, 0x0f, 1);
		assert_int_equal(v.dev.activated, round + 1);
		assert_true(v.dev.vdev.driver_features == 1ull << VIRTIO_F_VERSION_1);

		cc_wr(&v, 0x14, 0, 1);
		assert_int_equal(cc_rd(&v, 0x14, 1), 0);
		negotiate(&v, 1ull << VIRTIO_F_VERSION_1);
		cc_wr(&v, 0x14, 0x0f, 1);
		assert_int_equal(v.dev.activated, round + 2);
		assert_int_equal(cc_rd(&v, 0x14, 1), 0x0f);
	}
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "virtio-dummy"));
	assert_non_null(strstr(err, "cleared status bits 0x0c"));
	virtio_pci_remove(&v.dev.vdev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_word_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_bars_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_queues_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_status_clear, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
