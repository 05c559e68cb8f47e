/*
 * Drives every register of kvm-unit-tests' test devices (kvmini run
 * --device pc-testdev --device pci-testdev, or kvmini qemu -device ...):
 * pc-testdev's scratch ports at every width and offset, its scratch MMIO
 * page, the flush port and the IRQ window's bad accesses; pci-testdev's six
 * tests the way kvm-unit-tests runs them, then writes of the wrong value
 * and width, a BAR moved and decoding turned off while a test runs. It
 * prints what it reads and ends through the exit device with the number
 * of failures: 0 is status 1, as for kvm-unit-tests.
 */
#include "fw.h"
#include "io.h"
#include "virtio.h"

#define PCT_DATA	0xe0
#define PCT_FLUSH	0xe4
#define PCT_DATA_BYTE	0xe8
#define PCT_IRQ		0x2000
#define PCT_IOMEM	0xff000000ULL
#define PCT_IOMEM_LEN	0x10000ULL

#define PTD_ID		0x00051b36u	/* device << 16 | vendor */
#define PCI_COMMAND_REG	0x04
#define PCI_CLASS_REG	0x08
#define PCI_BAR0	0x10
#define PCI_BAR1	0x14

static unsigned int failures;

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static void check(const char *what, uint64_t got, uint64_t want)
{
	if (got == want) {
		fw_printf("  ok: %s = 0x%llx\n", what, (unsigned long long)got);
		return;
	}
	fw_printf("  FAIL: %s = 0x%llx, expected 0x%llx\n", what, (unsigned long long)got,
		  (unsigned long long)want);
	failures++;
}

static void pc_testdev_ports(void)
{
	fw_printf("pc-testdev: scratch ports\n");
	outl(PCT_DATA, 0x12345678);
	check("inl 0xe0", inl(PCT_DATA), 0x12345678);
	check("inb 0xe0", inb(PCT_DATA), 0x78);
	check("inb 0xe2", inb(PCT_DATA + 2), 0x34);
	check("inw 0xe1", inw(PCT_DATA + 1), 0x3456);
	outb(PCT_DATA + 1, 0xab);
	check("inl 0xe0 after outb 0xe1", inl(PCT_DATA), 0x1234ab78);
	outw(PCT_DATA + 2, 0xcdef);
	check("inl 0xe0 after outw 0xe2", inl(PCT_DATA), 0xcdefab78);
	/* 0xe8 is the same register, taken byte by byte */
	check("inl 0xe8", inl(PCT_DATA_BYTE), 0xcdefab78);
	outl(PCT_DATA_BYTE, 0xdeadbeef);
	check("inl 0xe0 after outl 0xe8", inl(PCT_DATA), 0xdeadbeef);
	outb(PCT_DATA_BYTE + 3, 0x0e);
	check("inl 0xe0 after outb 0xeb", inl(PCT_DATA), 0x0eadbeef);
	check("inb 0xe9", inb(PCT_DATA_BYTE + 1), 0xbe);
}

static void pc_testdev_iomem(void)
{
	volatile uint8_t *m = (volatile uint8_t *)(uintptr_t)PCT_IOMEM;

	fw_printf("pc-testdev: scratch MMIO at 0x%llx\n", (unsigned long long)PCT_IOMEM);
	check("first word, untouched", mmio_read32(PCT_IOMEM), 0);
	mmio_write32(PCT_IOMEM, 0xa5a5f00d);
	mmio_write32(PCT_IOMEM + PCT_IOMEM_LEN - 4, 0x01020304);
	*(volatile uint64_t *)(uintptr_t)(PCT_IOMEM + 0x100) = 0x1122334455667788ULL;
	m[0x201] = 0x5a;
	check("word at 0", mmio_read32(PCT_IOMEM), 0xa5a5f00d);
	check("last word", mmio_read32(PCT_IOMEM + PCT_IOMEM_LEN - 4), 0x01020304);
	check("quad at 0x100", *(volatile uint64_t *)(uintptr_t)(PCT_IOMEM + 0x100),
	      0x1122334455667788ULL);
	check("byte at 0x104", m[0x104], 0x44);
	check("word at 0x200", mmio_read32(PCT_IOMEM + 0x200), 0x5a00);
}

static uint8_t flush_buf[4096] __attribute__((aligned(4096)));

static void pc_testdev_flush(void)
{
	fw_printf("pc-testdev: flush port\n");
	memset(flush_buf, 0x3c, sizeof(flush_buf));
	outl(PCT_FLUSH, (uint32_t)(uintptr_t)flush_buf);
	outl(PCT_FLUSH, (uint32_t)(uintptr_t)flush_buf + 0x123);	/* inside the page */
	outl(PCT_FLUSH, 0xfffff000);	/* outside RAM */
	outb(PCT_FLUSH, 0);		/* the wrong width */
	check("page content after flushes", flush_buf[0] == 0x3c && flush_buf[4095] == 0x3c, 1);
}

static void pc_testdev_irq_window(void)
{
	fw_printf("pc-testdev: IRQ window, bad accesses\n");
	outw(PCT_IRQ + 14, 0x0101);	/* byte writes only */
	outl(PCT_IRQ + 20, 0x01010101);
	outb(PCT_IRQ + 23, 1);		/* the last line, a PCI one nobody uses here */
	outb(PCT_IRQ + 23, 0);
	outb(PCT_IRQ + 24, 1);		/* past the window */
	check("reads of the window", inb(PCT_IRQ + 14), 0);
}

static unsigned int find_testdev(void)
{
	for (unsigned int slot = 0; slot < 32; slot++)
		if (pci_read32(slot, PCI_VENDOR_DEVICE) == PTD_ID)
			return slot;
	return 32;
}

struct bar_io {
	uint64_t base;
	bool pio;
};

static uint8_t bar_rd8(const struct bar_io *b, uint32_t off)
{
	return b->pio ? inb((uint16_t)(b->base + off)) : rd8(b->base + off);
}

static uint32_t bar_rd32(const struct bar_io *b, uint32_t off)
{
	return b->pio ? inl((uint16_t)(b->base + off)) : rd32(b->base + off);
}

static void bar_wr8(const struct bar_io *b, uint32_t off, uint8_t v)
{
	if (b->pio)
		outb((uint16_t)(b->base + off), v);
	else
		wr8(b->base + off, v);
}

static void bar_wr16(const struct bar_io *b, uint32_t off, uint16_t v)
{
	if (b->pio)
		outw((uint16_t)(b->base + off), v);
	else
		wr16(b->base + off, v);
}

/* Choose test @nr; print its header; write its data 16 times; return the count. */
static uint32_t run_test(const struct bar_io *b, unsigned int nr, bool quiet)
{
	uint32_t count, width, data, off, i;
	char name[32];

	bar_wr8(b, 0, (uint8_t)nr);
	count = bar_rd32(b, 12);
	width = bar_rd8(b, 1);
	data = bar_rd32(b, 8);
	off = bar_rd32(b, 4);
	for (i = 0; i < sizeof(name) - 1; i++) {
		name[i] = (char)bar_rd8(b, 16 + i);
		if (!name[i])
			break;
	}
	name[i] = 0;
	if (!name[0]) {
		fw_printf("  test %u: none (header reads %u %u 0x%x 0x%x)\n", nr, count, width,
			  data, off);
		return 0;
	}
	if (!quiet)
		fw_printf("  test %u: %s: width %u data 0x%x offset 0x%x count %u\n", nr, name,
			  width, data, off, count);
	for (i = 0; i < 16; i++)
		bar_wr8(b, off, (uint8_t)data);
	return bar_rd32(b, 12);
}

static void pci_testdev_tests(unsigned int slot, const struct bar_io *b, const char *kind)
{
	unsigned int nr;

	fw_printf("pci-testdev: %s BAR at 0x%llx\n", kind, (unsigned long long)b->base);
	for (nr = 0; nr < 4; nr++) {
		uint32_t count = run_test(b, nr, false);
		/* KVM takes an eventfd test's writes: none reach kvmini */
		uint32_t want = nr == 0 ? 16 : 0;

		if (nr < 3)
			check("  count after 16 writes", count, want);
	}
	(void)slot;
}

static void pci_testdev_hostile(unsigned int slot, const struct bar_io *mem,
				const struct bar_io *io)
{
	uint32_t bar1 = pci_read32(slot, PCI_BAR1);
	struct bar_io moved = { 0xf000, true };
	uint16_t cmd = (uint16_t)pci_read32(slot, PCI_COMMAND_REG);

	fw_printf("pci-testdev: wrong values and widths\n");
	run_test(mem, 2, true);		/* datamatch: 0xfa only, one byte */
	bar_wr8(mem, 2048 + 2, 0x12);
	check("datamatch count after a wrong value", bar_rd32(mem, 12), 0);
	bar_wr16(mem, 2048 + 2, 0x00fa);	/* KVM matches one byte only: it exits */
	check("datamatch count after a 2-byte write", bar_rd32(mem, 12), 1);
	run_test(mem, 0, true);		/* no eventfd: 0xfa counts */
	bar_wr8(mem, 2048, 0xce);
	bar_wr8(mem, 2048 + 1, 0xfa);
	check("no-eventfd count after misses", bar_rd32(mem, 12), 16);
	check("header past its end", bar_rd32(mem, 60), 0);
	check("header at the BAR's end", bar_rd8(mem, 4095), 0);
	bar_wr8(mem, 0, 200);		/* no such test */
	check("header with no test", bar_rd32(mem, 0), 0);

	fw_printf("pci-testdev: I/O BAR moved to 0x%llx during a test\n",
		  (unsigned long long)moved.base);
	run_test(io, 1, true);		/* portio-wildcard-eventfd */
	pci_write32(slot, PCI_BAR1, (uint32_t)moved.base);
	check("BAR1 reads back", pci_read32(slot, PCI_BAR1) & ~3u, moved.base);
	check("old place reads", inl((uint16_t)io->base), 0xffffffff);
	check("new place, test", bar_rd8(&moved, 0), 4);
	for (int i = 0; i < 16; i++)
		bar_wr8(&moved, 128 + 4, 0x55);
	check("count after 16 writes at the new place", bar_rd32(&moved, 12), 0);
	pci_write32(slot, PCI_BAR1, bar1);
	check("count after moving back", bar_rd32(io, 12), 0);

	fw_printf("pci-testdev: decoding off during a test\n");
	run_test(io, 0, true);		/* portio-no-eventfd: counts 16 */
	pci_write16(slot, PCI_COMMAND_REG, cmd & ~3u);
	bar_wr8(io, 128 + 3, 0xfa);	/* nowhere */
	check("I/O BAR off reads", inl((uint16_t)io->base), 0xffffffff);
	pci_write16(slot, PCI_COMMAND_REG, cmd);
	check("count after writes while off", bar_rd32(io, 12), 16);
}

static void pci_testdev(void)
{
	unsigned int slot = find_testdev();
	struct bar_io mem, io;
	uint32_t bar0, bar1;

	if (slot == 32) {
		fw_printf("pci-testdev: FAIL: no 1b36:0005 on bus 0\n");
		failures++;
		return;
	}
	bar0 = pci_read32(slot, PCI_BAR0);
	bar1 = pci_read32(slot, PCI_BAR1);
	fw_printf("pci-testdev: found on slot %u\n", slot);
	check("class and revision", pci_read32(slot, PCI_CLASS_REG), 0xff000000);
	check("BAR0 is 32-bit memory", bar0 & 0xf, 0);
	check("BAR1 is I/O", bar1 & 3, 1);
	check("memory and I/O decoding on", pci_read32(slot, PCI_COMMAND_REG) & 3, 3);
	check("interrupt pin", (pci_read32(slot, 0x3c) >> 8) & 0xff, 0);
	mem = (struct bar_io){ bar0 & ~0xfu, false };
	io = (struct bar_io){ bar1 & ~3u, true };
	pci_testdev_tests(slot, &mem, "memory");
	pci_testdev_tests(slot, &io, "I/O");
	pci_testdev_hostile(slot, &mem, &io);
}

void fw_main(const uint8_t *bp)
{
	(void)bp;
	pc_testdev_ports();
	pc_testdev_iomem();
	pc_testdev_flush();
	pc_testdev_irq_window();
	pci_testdev();
	fw_printf("testdev: %u failures\n", failures);
	outl(0xf4, failures);
	fw_printf("testdev: no exit device\n");
	cpu_halt_forever();
}
