/*
 * pc-testdev and pci-testdev as a hostile guest sees them: every register
 * at every width, accesses that cross a register's or window's end, the IRQ
 * window's lines, pci-testdev's tests with their ioeventfds followed through
 * test changes, BAR moves, decoding off and teardown. KVM is faked: the
 * vm_irq_line and vm_ioeventfd calls are wrapped at link time and recorded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../ram_split.h"
#include "board/testdev.h"
#include "device.h"
#include "irq.h"
#include "layout.h"
#include "pci.h"
#include "vm.h"

#define RAM_SIZE	(1ull << 20)
#define MAX_IOEV	8

static struct {
	int line[64];
	int line_calls;
	struct { int fd; uint64_t addr; uint32_t len; bool pio, match; uint64_t value; } ioev[MAX_IOEV];
	unsigned int nr_ioev;
	int fail_assign;	/* -errno for the next assign */
} kvm;

int __wrap_vm_irq_line(struct vm *vm, unsigned int line, int level)
{
	(void)vm;
	assert_true(line < 64);
	kvm.line[line] = level;
	kvm.line_calls++;
	return 0;
}

static int ioev(int fd, uint64_t addr, uint32_t len, bool pio, bool match, uint64_t value,
		bool assign)
{
	unsigned int i;

	if (assign) {
		if (kvm.fail_assign) {
			int r = kvm.fail_assign;

			kvm.fail_assign = 0;
			return r;
		}
		assert_true(kvm.nr_ioev < MAX_IOEV);
		kvm.ioev[kvm.nr_ioev++] = (typeof(kvm.ioev[0])){ fd, addr, len, pio, match, value };
		return 0;
	}
	for (i = 0; i < kvm.nr_ioev; i++) {
		if (kvm.ioev[i].fd == fd && kvm.ioev[i].addr == addr && kvm.ioev[i].len == len &&
		    kvm.ioev[i].pio == pio) {
			kvm.ioev[i] = kvm.ioev[--kvm.nr_ioev];
			return 0;
		}
	}
	fail_msg("deassigning an ioeventfd that is not assigned (0x%llx)", (unsigned long long)addr);
	return -ENOENT;
}

int __wrap_vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
			bool assign)
{
	(void)vm;
	return ioev(fd, addr, len, is_pio, false, 0, assign);
}

int __wrap_vm_ioeventfd_match(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
			      uint64_t match, bool assign)
{
	(void)vm;
	return ioev(fd, addr, len, is_pio, true, match, assign);
}

struct fixture {
	struct vm vm;
	uint8_t *ram;
};

static int setup(void **state)
{
	const struct device_type *t = device_type_find("device");
	struct fixture *f = calloc(1, sizeof(*f));
	struct errmsg err = { 0 };

	if (!f || !t)
		return -1;
	memset(&kvm, 0, sizeof(kvm));
	f->ram = calloc(1, RAM_SIZE);
	if (!f->ram)
		return -1;
	f->vm.vm_fd = -1;
	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	test_mem_layout(&f->vm.mem, f->ram, RAM_SIZE, MMIO_HOLE_START);
	if (pci_host_init(&f->vm) || pc_testdev_create(&f->vm, t, &err) ||
	    pci_testdev_create(&f->vm, t, &err))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	devices_destroy(&f->vm);
	assert_int_equal(kvm.nr_ioev, 0);	/* every ioeventfd taken back */
	pci_host_exit(&f->vm);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f->ram);
	free(f);
	return 0;
}

static uint64_t rd(struct bus *b, uint64_t addr, unsigned int len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	bus_access(b, addr, d, len, false);
	for (unsigned int i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void wr(struct bus *b, uint64_t addr, uint64_t v, unsigned int len)
{
	uint8_t d[8];

	for (unsigned int i = 0; i < len; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_access(b, addr, d, len, true);
}

static void test_pc_scratch(void **state)
{
	struct fixture *f = *state;
	struct bus *io = &f->vm.pio, *mm = &f->vm.mmio;

	wr(io, 0xe0, 0x11223344, 4);
	assert_int_equal(rd(io, 0xe0, 4), 0x11223344);
	assert_int_equal(rd(io, 0xe8, 4), 0x11223344);	/* one register, two windows */
	assert_int_equal(rd(io, 0xe3, 1), 0x11);
	wr(io, 0xea, 0xbeef, 2);
	assert_int_equal(rd(io, 0xe0, 4), 0xbeef3344);
	/* past the register's end: the bus drops the write, the read is all ones */
	wr(io, 0xe3, 0xaabbccdd, 4);
	assert_int_equal(rd(io, 0xe0, 4), 0xbeef3344);
	assert_int_equal(rd(io, 0xe2, 4), 0xffffffff);
	wr(io, 0xe0, 0x5555555555555555ULL, 8);
	assert_int_equal(rd(io, 0xe0, 4), 0xbeef3344);

	/* the scratch page: any width, nothing past its end */
	wr(mm, 0xff000000, 0x0102030405060708ULL, 8);
	assert_int_equal(rd(mm, 0xff000004, 4), 0x01020304);
	wr(mm, 0xff00fffc, 0xcafef00d, 4);
	assert_int_equal(rd(mm, 0xff00fffc, 4), 0xcafef00d);
	wr(mm, 0xff00fffe, 0x11111111, 4);	/* crosses the end: dropped */
	assert_int_equal(rd(mm, 0xff00fffc, 4), 0xcafef00d);
	assert_int_equal(rd(mm, 0xff00fffe, 4), 0xffffffff);
	assert_int_equal(rd(mm, 0xff010000, 4), 0xffffffff);	/* not ours */

	/* the flush port: any address, any width, nothing happens to RAM */
	f->ram[0x5000] = 0x77;
	wr(io, 0xe4, 0x5000, 4);
	wr(io, 0xe4, 0xfffff000, 4);
	wr(io, 0xe4, 0x5000, 1);
	wr(io, 0xe6, 0x5000, 2);
	assert_int_equal(f->ram[0x5000], 0x77);
}

static void test_pc_irq_lines(void **state)
{
	struct fixture *f = *state;
	struct bus *io = &f->vm.pio;

	wr(io, 0x2000 + 14, 0x80, 1);
	assert_int_equal(kvm.line[14], 1);
	wr(io, 0x2000 + 14, 0, 1);
	assert_int_equal(kvm.line[14], 0);
	wr(io, 0x2000 + 23, 2, 1);
	assert_int_equal(kvm.line[23], 1);
	kvm.line_calls = 0;
	wr(io, 0x2000 + 10, 1, 2);	/* byte writes only */
	wr(io, 0x2000 + 20, 0x01010101, 4);
	wr(io, 0x2000 + 24, 1, 1);	/* past the window */
	assert_int_equal(kvm.line_calls, 0);
	assert_int_equal(rd(io, 0x2000, 1), 0);
}

/* ---- pci-testdev ---- */

static uint32_t cfg_rd(struct fixture *f, unsigned int slot, unsigned int reg)
{
	wr(&f->vm.pio, PCI_CONFIG_ADDR_PORT, 0x80000000u | slot << 11 | reg, 4);
	return (uint32_t)rd(&f->vm.pio, PCI_CONFIG_DATA_PORT, 4);
}

static void cfg_wr(struct fixture *f, unsigned int slot, unsigned int reg, uint32_t v)
{
	wr(&f->vm.pio, PCI_CONFIG_ADDR_PORT, 0x80000000u | slot << 11 | reg, 4);
	wr(&f->vm.pio, PCI_CONFIG_DATA_PORT, v, 4);
}

static unsigned int find_slot(struct fixture *f)
{
	for (unsigned int s = 0; s < 32; s++)
		if (cfg_rd(f, s, 0) == 0x00051b36)
			return s;
	fail_msg("no pci-testdev");
	return 0;
}

static void test_pci_tests(void **state)
{
	struct fixture *f = *state;
	unsigned int slot = find_slot(f);
	uint64_t mem = cfg_rd(f, slot, 0x10) & ~0xfu, io = cfg_rd(f, slot, 0x14) & ~3u;
	struct bus *mm = &f->vm.mmio, *pio = &f->vm.pio;
	char name[32];

	assert_int_equal(cfg_rd(f, slot, 8), 0xff000000);
	assert_int_equal(rd(mm, mem, 4), 0);		/* no test chosen yet */
	/* test 0 of the memory BAR: no eventfd, counts data 0xfa at 0x800 */
	wr(mm, mem, 0, 1);
	assert_int_equal(rd(mm, mem + 1, 1), 1);
	assert_int_equal(rd(mm, mem + 4, 4), 0x800);
	assert_int_equal(rd(mm, mem + 8, 4), 0xfa);
	for (unsigned int i = 0; i < sizeof(name); i++)
		name[i] = (char)rd(mm, mem + 16 + i, 1);
	assert_string_equal(name, "mmio-no-eventfd");
	assert_int_equal(kvm.nr_ioev, 0);
	wr(mm, mem + 0x800, 0xfa, 1);
	wr(mm, mem + 0x800, 0xfb, 1);		/* not the data */
	wr(mm, mem + 0x801, 0xfa, 1);		/* not the offset */
	wr(mm, mem + 0x7ff, 0xfa00, 2);		/* its second byte lands on 0x800 */
	wr(mm, mem + 0x800, 0x12fa, 2);		/* its first byte is the data */
	assert_int_equal(rd(mm, mem + 12, 4), 3);
	assert_int_equal(rd(mm, mem + 60, 4), 0);	/* past the header */
	assert_int_equal(rd(mm, mem + 4095, 1), 0);

	/* test 1: a wildcard ioeventfd on the byte at 0x801 */
	wr(mm, mem, 1, 1);
	assert_int_equal(kvm.nr_ioev, 1);
	assert_false(kvm.ioev[0].pio || kvm.ioev[0].match);
	assert_int_equal(kvm.ioev[0].addr, mem + 0x801);
	assert_int_equal(kvm.ioev[0].len, 1);
	/* test 2 replaces it: data match 0xfa at 0x802 */
	wr(mm, mem, 2, 1);
	assert_int_equal(kvm.nr_ioev, 1);
	assert_true(kvm.ioev[0].match && kvm.ioev[0].value == 0xfa);
	assert_int_equal(kvm.ioev[0].addr, mem + 0x802);
	/* no such test: none, and the header reads 0 */
	wr(mm, mem, 3, 1);
	assert_int_equal(kvm.nr_ioev, 0);
	assert_int_equal(rd(mm, mem, 4), 0);
	wr(mm, mem, 0xff, 4);
	assert_int_equal(kvm.nr_ioev, 0);

	/* the I/O BAR's tests: 3-5, PIO ioeventfds at 128 + 3 + n */
	wr(pio, io, 2, 1);
	assert_int_equal(rd(pio, io, 1), 5);
	assert_true(kvm.nr_ioev == 1 && kvm.ioev[0].pio && kvm.ioev[0].match);
	assert_int_equal(kvm.ioev[0].addr, io + 128 + 5);
	/* a refused ioeventfd: the writes reach kvmini, which counts them */
	kvm.fail_assign = -EEXIST;
	wr(pio, io, 1, 1);
	assert_int_equal(kvm.nr_ioev, 0);
	wr(pio, io + 128 + 4, 0x33, 1);
	assert_int_equal(rd(pio, io + 12, 4), 1);
	wr(pio, io, 1, 1);	/* chosen again: assigned now */
	assert_int_equal(kvm.nr_ioev, 1);
	assert_int_equal(rd(pio, io + 12, 4), 0);	/* chosen anew: count from 0 */
}

static void test_pci_bar_moves(void **state)
{
	struct fixture *f = *state;
	unsigned int slot = find_slot(f);
	uint32_t io = cfg_rd(f, slot, 0x14) & ~3u, mem = cfg_rd(f, slot, 0x10) & ~0xfu;
	uint32_t cmd = cfg_rd(f, slot, 4) & 0xffff;
	struct bus *pio = &f->vm.pio;

	wr(pio, io, 1, 1);		/* portio wildcard at 128 + 4 */
	assert_int_equal(kvm.ioev[0].addr, io + 132);
	cfg_wr(f, slot, 0x14, 0xf000);
	assert_int_equal(kvm.nr_ioev, 1);
	assert_int_equal(kvm.ioev[0].addr, 0xf000 + 132);
	assert_int_equal(rd(pio, 0xf000, 1), 4);
	assert_int_equal(rd(pio, io, 1), 0xff);		/* nothing at the old place */
	/* decoding off: taken back; on again: given back */
	cfg_wr(f, slot, 4, cmd & ~3u);
	assert_int_equal(kvm.nr_ioev, 0);
	cfg_wr(f, slot, 4, cmd);
	assert_int_equal(kvm.nr_ioev, 1);
	/* moving the other BAR leaves it alone */
	cfg_wr(f, slot, 0x10, mem + 0x10000);
	assert_int_equal(kvm.nr_ioev, 1);
	assert_int_equal(kvm.ioev[0].addr, 0xf000 + 132);
	/* sizing the BAR (all ones): it decodes at 0xff00 meanwhile, and its eventfd too */
	cfg_wr(f, slot, 0x14, 0xffffffff);
	assert_int_equal(cfg_rd(f, slot, 0x14) & 0xffff, 0xff01);	/* 256 ports */
	assert_int_equal(kvm.nr_ioev, 1);
	assert_int_equal(kvm.ioev[0].addr, 0xff00 + 132);
	cfg_wr(f, slot, 0x14, io);
	assert_int_equal(kvm.nr_ioev, 1);
	assert_int_equal(kvm.ioev[0].addr, io + 132);
	/* teardown with a test running: the fixture checks it is taken back */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pc_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pc_irq_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_tests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_bar_moves, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
