/*
 * arch/arm64/devtree.c on the host: each tree is decompiled with
 * `dtc -I dtb -O dts` (which must print no warning) and checked node by node.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devtree.h"
#include "inventory.h"
#include "layout.h"

#define MiB (1ULL << 20)
#define DTB_SIZE (64 * 1024)

static bool have_dtc(void)
{
	return system("dtc --version >/dev/null 2>&1") == 0;
}

/* The tree of @p decompiled; fails the test on a build error or a dtc warning. */
static char *build_dts(const struct arm64_platform *p)
{
	char dir[] = "/tmp/kvmini-devtree-XXXXXX", path[64], cmd[256];
	static uint8_t dtb[DTB_SIZE];
	char *dts = calloc(1, 1 << 16), *err = calloc(1, 4096);
	FILE *f;
	size_t n;

	assert_non_null(dts);
	assert_non_null(err);
	assert_int_equal(arm64_fdt_build(p, dtb, sizeof(dtb)), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.dtb", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dtb, 1, sizeof(dtb), f), sizeof(dtb));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s/t.dts %s 2>%s/err", dir, path, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/err", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(err, 1, 4095, f);
	fclose(f);
	if (n)
		fail_msg("dtc warns about the tree: %s", err);
	snprintf(path, sizeof(path), "%s/t.dts", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(dts, 1, (1 << 16) - 1, f);
	fclose(f);
	assert_true(n > 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(err);
	return dts;
}

/* The text of node @name at @depth (tabs), from its opening line to its "};". */
static char *node(const char *dts, const char *name, unsigned int depth)
{
	char open[96], close[16];
	const char *start, *end;
	char *out;

	snprintf(open, sizeof(open), "\n%.*s%s {\n", depth, "\t\t\t\t", name);
	snprintf(close, sizeof(close), "\n%.*s};", depth, "\t\t\t\t");
	start = strstr(dts, open);
	if (!start)
		return NULL;
	end = strstr(start + 1, close);
	assert_non_null(end);
	out = strndup(start, (size_t)(end - start) + strlen(close));
	assert_non_null(out);
	return out;
}

#define assert_prop(block, text) do {						\
		if (!strstr((block), (text)))					\
			fail_msg("missing \"%s\" in:%s", (text), (block));	\
	} while (0)
#define assert_no_prop(block, text) do {					\
		if (strstr((block), (text)))					\
			fail_msg("unexpected \"%s\" in:%s", (text), (block));	\
	} while (0)

static struct inventory inv;

static void add(const char *name, enum inv_role role, uint64_t base, uint64_t len, bool pio,
		int irq)
{
	struct inv_entry e = {
		.role = role, .ranges = { { base, len, pio } }, .nr_ranges = 1, .irq = irq,
	};

	snprintf(e.name, sizeof(e.name), "%s", name);
	assert_int_equal(inventory_add(&inv, &e), 0);
}

/* What the arm64 board's devices describe: two UARTs, a virtio-mmio disk, PCIe, the exit device. */
static void board_inventory(void)
{
	struct inv_entry pci = {
		.name = "pci0", .role = INV_PCI_HOST,
		.ranges = {
			{ PCI_ECAM_BASE, PCI_ECAM_SIZE, false },
			{ PCI_MMIO_START, PCI_MMIO_END - PCI_MMIO_START, false },
		},
		.nr_ranges = 2, .irq = -1,
	};

	inventory_free(&inv);
	add("uart0", INV_UART, UART0_BASE, UART_SIZE, false, UART0_SPI);
	add("uart1", INV_UART, UART1_BASE, UART_SIZE, false, UART1_SPI);
	add("disk0", INV_VIRTIO_MMIO, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, false, 16);
	assert_int_equal(inventory_add(&inv, &pci), 0);
	add("net0", INV_PCI_DEVICE, 0, 0, false, -1);
	add("exit", INV_EXIT, EXIT_MMIO_BASE, EXIT_MMIO_SIZE, false, -1);
}

static struct arm64_platform platform(unsigned int cpus, unsigned int gic, bool its)
{
	struct arm64_platform p = {
		.ram_base = RAM_BASE, .ram_size = 512 * MiB, .nr_cpus = cpus,
		.gic_version = gic, .its = its, .inv = &inv,
		.bootargs = "console=ttyS0 earlycon panic=1 root=/dev/vda",
		.initrd_start = 0x5f000000, .initrd_end = 0x5f123000,
		.kaslr_seed = 0x0123456789abcdefULL,
	};

	for (unsigned int i = 0; i < sizeof(p.rng_seed); i++)
		p.rng_seed[i] = (uint8_t)(0xa0 + i);
	return p;
}

static void test_root_memory_chosen(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	board_inventory();
	p = platform(2, 3, true);
	dts = build_dts(&p);
	assert_prop(dts, "\tcompatible = \"linux,dummy-virt\";\n");
	assert_prop(dts, "\t#address-cells = <0x02>;\n\t#size-cells = <0x02>;\n");
	assert_prop(dts, "\tinterrupt-parent = <0x01>;\n");

	n = node(dts, "memory@40000000", 1);
	assert_non_null(n);
	assert_prop(n, "device_type = \"memory\";");
	assert_prop(n, "reg = <0x00 0x40000000 0x00 0x20000000>;");
	free(n);

	n = node(dts, "chosen", 1);
	assert_non_null(n);
	assert_prop(n, "bootargs = \"console=ttyS0 earlycon panic=1 root=/dev/vda\";");
	assert_prop(n, "stdout-path = \"/serial@9000000\";");
	assert_prop(n, "linux,initrd-start = <0x00 0x5f000000>;");
	assert_prop(n, "linux,initrd-end = <0x00 0x5f123000>;");
	assert_prop(n, "kaslr-seed = <0x1234567 0x89abcdef>;");
	/* 64 bytes from the platform, as given: dtc shows them as 16 cells */
	assert_prop(n, "rng-seed = <0xa0a1a2a3 0xa4a5a6a7 ");
	assert_prop(n, " 0xdcdddedf>;");
	free(n);

	n = node(dts, "aliases", 1);
	assert_non_null(n);
	assert_prop(n, "serial0 = \"/serial@9000000\";");
	free(n);
	free(dts);
}

static void test_cpus_psci_timer(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	board_inventory();
	p = platform(17, 3, false);
	dts = build_dts(&p);
	n = node(dts, "cpus", 1);
	assert_non_null(n);
	assert_prop(n, "#address-cells = <0x02>;");
	assert_prop(n, "#size-cells = <0x00>;");
	free(n);
	n = node(dts, "cpu@0", 2);
	assert_non_null(n);
	assert_prop(n, "device_type = \"cpu\";");
	assert_prop(n, "compatible = \"arm,arm-v8\";");
	assert_prop(n, "enable-method = \"psci\";");
	assert_prop(n, "reg = <0x00 0x00>;");
	free(n);
	/* vCPU 16: KVM's MPIDR puts index bits 4-11 in Aff1 */
	n = node(dts, "cpu@100", 2);
	assert_non_null(n);
	assert_prop(n, "reg = <0x00 0x100>;");
	free(n);
	assert_null(node(dts, "cpu@10", 2));
	assert_null(node(dts, "cpu@101", 2));

	n = node(dts, "psci", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"arm,psci-1.0\\0arm,psci-0.2\";");
	assert_prop(n, "method = \"hvc\";");
	free(n);

	n = node(dts, "timer", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"arm,armv8-timer\";");
	assert_prop(n, "interrupts = <0x01 0x0d 0x08 0x01 0x0e 0x08 0x01 0x0b 0x08 0x01 0x0a 0x08>;");
	assert_prop(n, "always-on;");
	free(n);
	free(dts);
}

static void test_gicv3_its_and_pcie_msi(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	board_inventory();
	p = platform(2, 3, true);
	dts = build_dts(&p);
	n = node(dts, "intc@8000000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"arm,gic-v3\";");
	assert_prop(n, "interrupt-controller;");
	assert_prop(n, "#interrupt-cells = <0x03>;");
	assert_prop(n, "phandle = <0x01>;");
	/* the distributor, then one 128 KiB redistributor per vCPU */
	assert_prop(n, "reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000>;");
	free(n);
	n = node(dts, "msi-controller@8080000", 2);
	assert_non_null(n);
	assert_prop(n, "compatible = \"arm,gic-v3-its\";");
	assert_prop(n, "msi-controller;");
	assert_prop(n, "#msi-cells = <0x01>;");
	assert_prop(n, "phandle = <0x02>;");
	assert_prop(n, "reg = <0x00 0x8080000 0x00 0x20000>;");
	free(n);

	n = node(dts, "pcie@3f000000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"pci-host-ecam-generic\";");
	assert_prop(n, "device_type = \"pci\";");
	assert_prop(n, "#address-cells = <0x03>;");
	assert_prop(n, "#size-cells = <0x02>;");
	assert_prop(n, "#interrupt-cells = <0x01>;");
	assert_prop(n, "bus-range = <0x00 0x00>;");
	assert_prop(n, "reg = <0x00 0x3f000000 0x00 0x100000>;");
	assert_prop(n, "ranges = <0x2000000 0x00 0x10000000 0x00 0x10000000 0x00 0x2eff0000>;");
	assert_prop(n, "msi-map = <0x00 0x02 0x00 0x10000>;");
	assert_prop(n, "interrupt-map-mask = <0x1800 0x00 0x00 0x07>;");
	/* slot 0 INTA# -> SPI 3, slot 1 INTA# -> SPI 4, slot 3 INTD# -> SPI 5: PCI_INTX_SPI() */
	assert_prop(n, "interrupt-map = <0x00 0x00 0x00 0x01 0x01 0x00 0x00 0x00 0x03 0x04 ");
	assert_prop(n, " 0x800 0x00 0x00 0x01 0x01 0x00 0x00 0x00 0x04 0x04 ");
	assert_prop(n, " 0x1800 0x00 0x00 0x04 0x01 0x00 0x00 0x00 0x05 0x04>;");
	free(n);
	free(dts);
}

static void test_gicv2_no_its_no_initrd(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	board_inventory();
	p = platform(2, 2, false);
	p.initrd_start = p.initrd_end = 0;
	dts = build_dts(&p);
	n = node(dts, "intc@8000000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"arm,cortex-a15-gic\";");
	assert_prop(n, "reg = <0x00 0x8000000 0x00 0x10000 0x00 0x8010000 0x00 0x2000>;");
	assert_no_prop(n, "msi-controller");
	free(n);
	n = node(dts, "timer", 1);
	assert_non_null(n);
	/* GICv2 PPIs carry the CPU mask of two CPUs */
	assert_prop(n, "interrupts = <0x01 0x0d 0x308 0x01 0x0e 0x308 0x01 0x0b 0x308 0x01 0x0a 0x308>;");
	free(n);
	n = node(dts, "pcie@3f000000", 1);
	assert_non_null(n);
	assert_no_prop(n, "msi-map");
	free(n);
	n = node(dts, "chosen", 1);
	assert_non_null(n);
	assert_no_prop(n, "linux,initrd");
	free(n);
	free(dts);
}

static void test_devices_from_inventory(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	board_inventory();
	p = platform(1, 3, false);
	dts = build_dts(&p);
	n = node(dts, "serial@9000000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"ns16550a\";");
	assert_prop(n, "reg = <0x00 0x9000000 0x00 0x08>;");
	assert_prop(n, "clock-frequency = <0x1c2000>;");
	assert_prop(n, "interrupts = <0x00 0x01 0x04>;");
	free(n);
	n = node(dts, "serial@9001000", 1);
	assert_non_null(n);
	assert_prop(n, "interrupts = <0x00 0x02 0x04>;");
	free(n);
	n = node(dts, "virtio_mmio@a000000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"virtio,mmio\";");
	assert_prop(n, "reg = <0x00 0xa000000 0x00 0x1000>;");
	assert_prop(n, "interrupts = <0x00 0x10 0x01>;");
	assert_prop(n, "dma-coherent;");
	free(n);
	n = node(dts, "exit@9010000", 1);
	assert_non_null(n);
	assert_prop(n, "compatible = \"kvmini,exit\";");
	assert_prop(n, "reg = <0x00 0x9010000 0x00 0x04>;");
	free(n);
	/* a PCI device is enumerated, not listed */
	assert_no_prop(dts, "net0");
	free(dts);
}

/* Port I/O means nothing here: an x86-style entry is left out, and so is stdout-path. */
static void test_pio_entries_left_out(void **state)
{
	struct arm64_platform p;
	char *dts, *n;

	(void)state;
	if (!have_dtc())
		skip();
	inventory_free(&inv);
	add("com1", INV_UART, 0x3f8, 8, true, 4);
	p = platform(1, 3, false);
	dts = build_dts(&p);
	assert_no_prop(dts, "serial@");
	assert_no_prop(dts, "aliases");
	n = node(dts, "chosen", 1);
	assert_non_null(n);
	assert_no_prop(n, "stdout-path");
	free(n);
	free(dts);
}

static void test_refused_platforms(void **state)
{
	static uint8_t buf[DTB_SIZE];
	struct arm64_platform p;

	(void)state;
	board_inventory();
	p = platform(0, 3, false);
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
	p = platform(1, 4, false);
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
	p = platform(9, 2, false);	/* GICv2 reaches 8 CPUs */
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
	p = platform(2, 2, true);	/* no ITS on a GICv2 */
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
	p = platform(ARM64_MAX_VCPUS + 1, 3, false);
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
	p = platform(ARM64_MAX_VCPUS, 3, false);
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), 0);
	/* too small a buffer: -ENOSPC, not a truncated tree */
	p = platform(2, 3, true);
	assert_int_equal(arm64_fdt_build(&p, buf, 512), -ENOSPC);
	/* a virtio-mmio window without a line cannot be described */
	add("bad", INV_VIRTIO_MMIO, VIRTIO_MMIO_BASE + VIRTIO_MMIO_SIZE, VIRTIO_MMIO_SIZE,
	    false, -1);
	assert_int_equal(arm64_fdt_build(&p, buf, sizeof(buf)), -EINVAL);
}

static void test_mpidr(void **state)
{
	(void)state;
	assert_true(arm64_vcpu_mpidr(0) == 0);
	assert_true(arm64_vcpu_mpidr(15) == 0xf);
	assert_true(arm64_vcpu_mpidr(16) == 0x100);
	assert_true(arm64_vcpu_mpidr(0x1234) == 0x12304);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_memory_chosen),
		cmocka_unit_test(test_cpus_psci_timer),
		cmocka_unit_test(test_gicv3_its_and_pcie_msi),
		cmocka_unit_test(test_gicv2_no_its_no_initrd),
		cmocka_unit_test(test_devices_from_inventory),
		cmocka_unit_test(test_pio_entries_left_out),
		cmocka_unit_test(test_refused_platforms),
		cmocka_unit_test(test_mpidr),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	inventory_free(&inv);
	return ret;
}
