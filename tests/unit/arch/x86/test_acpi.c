/*
 * ACPI tables as a guest sees them: RSDP -> XSDT -> FADT/MADT -> DSDT/FACS,
 * read back from guest memory at the spec's byte offsets.
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

#include "acpi.h"
#include "inventory.h"
#include "util.h"
#include "../../ram_split.h"
#include "layout.h"
#include "mem.h"

#define RAM_SIZE (2ULL << 20)

/* What the devices of a default run add to the inventory (serial.c, pci_conf1.c). */
static const struct inv_entry pc_entries[] = {
	{ .name = "com1", .type = "serial", .role = INV_UART,
	  .ranges = { { COM1_PORT, 8, true } }, .nr_ranges = 1, .irq = COM1_IRQ },
	{ .name = "pm", .type = "acpi-pm", .role = INV_POWER,
	  .ranges = { { ACPI_PM_BASE, ACPI_PM_LEN, true } }, .nr_ranges = 1,
	  .irq = ACPI_SCI_IRQ },
	{ .name = "pci0", .type = "pci-host", .role = INV_PCI_HOST,
	  .ranges = { { PCI_CONFIG_ADDR_PORT, 8, true },
		      { PCI_IO_START, PCI_IO_END - PCI_IO_START, true },
		      { PCI_MMIO_START, PCI_MMIO_END - PCI_MMIO_START, false } },
	  .nr_ranges = 3, .irq = -1 },
};
static const struct inventory pc_inv = {
	(struct inv_entry *)pc_entries, ARRAY_SIZE(pc_entries), ARRAY_SIZE(pc_entries)
};

struct fixture {
	uint8_t *ram;
	struct guest_mem m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram = malloc(RAM_SIZE);
	if (!f->ram) {
		free(f);
		return -1;
	}
	/* Garbage everywhere: the builder must not depend on zeroed RAM. */
	memset(f->ram, 0xa5, RAM_SIZE);
	test_mem_layout(&f->m, f->ram, RAM_SIZE, MMIO_HOLE_START);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static uint8_t rd8(const uint8_t *p, size_t off)
{
	return p[off];
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)rd16(p, off) | (uint32_t)rd16(p, off + 2) << 16;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	return (uint64_t)rd32(p, off) | (uint64_t)rd32(p, off + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/*
 * Map a table the way a guest would: check where it lies, its signature,
 * length, checksum and OEM ID. Returns the table bytes.
 */
static const uint8_t *map_table(const struct guest_mem *m, uint64_t gpa,
				const char *sig)
{
	const uint8_t *h;
	uint32_t len;

	assert_true(gpa >= ACPI_TABLES_ADDR);
	assert_true(gpa % 16 == 0);
	h = guest_ptr(m, gpa, 36);
	assert_non_null(h);
	assert_memory_equal(h, sig, 4);
	len = rd32(h, 4);
	assert_true(len >= 36);
	assert_true(gpa + len <= ACPI_TABLES_END);
	h = guest_ptr(m, gpa, len);
	assert_non_null(h);
	assert_int_equal(sum(h, len), 0);
	assert_memory_equal(h + 10, "KVMINI", 6);
	return h;
}

static const uint8_t *map_rsdp(const struct guest_mem *m, uint64_t gpa)
{
	const uint8_t *r = guest_ptr(m, gpa, 36);

	assert_int_equal(gpa, ACPI_TABLES_ADDR);
	assert_non_null(r);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(rd8(r, 15), 2);		/* revision */
	assert_int_equal(rd32(r, 20), 36);		/* length */
	assert_int_equal(sum(r, 36), 0);
	assert_memory_equal(r + 9, "KVMINI", 6);
	return r;
}

/* Follow the XSDT to the table with signature @sig; fail if absent. */
static const uint8_t *find_table(const struct guest_mem *m, uint64_t rsdp_gpa,
				 const char *sig, uint64_t *gpa_out)
{
	const uint8_t *r = map_rsdp(m, rsdp_gpa);
	const uint8_t *x = map_table(m, rd64(r, 24), "XSDT");
	uint32_t n = (rd32(x, 4) - 36) / 8;

	assert_int_equal((rd32(x, 4) - 36) % 8, 0);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = rd64(x, 36 + 8 * i);
		const uint8_t *h = guest_ptr(m, gpa, 4);

		assert_non_null(h);
		if (!memcmp(h, sig, 4)) {
			if (gpa_out)
				*gpa_out = gpa;
			return map_table(m, gpa, sig);
		}
	}
	fail_msg("table %s not in the XSDT", sig);
	return NULL;
}

static void build(struct fixture *f, unsigned int nr_cpus, uint64_t *rsdp)
{
	*rsdp = 0;
	assert_int_equal(acpi_build(&f->m, nr_cpus, &pc_inv, rsdp), 0);
}

static void test_rsdp_xsdt(void **state)
{
	struct fixture *f = *state;
	const uint8_t *r, *x;
	uint64_t rsdp;

	build(f, 1, &rsdp);
	r = map_rsdp(&f->m, rsdp);
	x = map_table(&f->m, rd64(r, 24), "XSDT");
	assert_int_equal(rd32(x, 4), 36 + 2 * 8);	/* FADT and MADT */
	assert_non_null(find_table(&f->m, rsdp, "FACP", NULL));
	assert_non_null(find_table(&f->m, rsdp, "APIC", NULL));
}

static void test_fadt_pm_and_reset(void **state)
{
	struct fixture *f = *state;
	const uint8_t *fadt;
	uint64_t rsdp;

	build(f, 2, &rsdp);
	fadt = find_table(&f->m, rsdp, "FACP", NULL);
	assert_int_equal(rd32(fadt, 4), 276);
	assert_int_equal(rd8(fadt, 8), 6);		/* revision */
	assert_int_equal(rd16(fadt, 46), ACPI_SCI_IRQ);
	assert_int_equal(rd32(fadt, 48), 0);		/* SMI_CMD: always ACPI mode */
	assert_int_equal(rd32(fadt, 56), 0x600);	/* PM1a_EVT_BLK */
	assert_int_equal(rd32(fadt, 64), 0x604);	/* PM1a_CNT_BLK */
	assert_int_equal(rd32(fadt, 76), 0x608);	/* PM_TMR_BLK */
	assert_int_equal(rd8(fadt, 88), 4);		/* PM1_EVT_LEN */
	assert_int_equal(rd8(fadt, 89), 2);		/* PM1_CNT_LEN */
	assert_int_equal(rd8(fadt, 91), 4);		/* PM_TMR_LEN */

	/* IAPC_BOOT_ARCH: no 8042; VGA and CMOS RTC absent */
	assert_int_equal(rd16(fadt, 109) & (1 << 1), 0);
	assert_int_not_equal(rd16(fadt, 109) & (1 << 2), 0);
	assert_int_not_equal(rd16(fadt, 109) & (1 << 5), 0);

	/* Flags: RESET_REG_SUP, not HW_REDUCED_ACPI */
	assert_int_not_equal(rd32(fadt, 112) & (1u << 10), 0);
	assert_int_equal(rd32(fadt, 112) & (1u << 20), 0);

	/* RESET_REG: SystemIO, 8 bits, port 0x64, value 0xfe */
	assert_int_equal(rd8(fadt, 116), 1);
	assert_int_equal(rd8(fadt, 117), 8);
	assert_int_equal(rd64(fadt, 120), 0x64);
	assert_int_equal(rd8(fadt, 128), 0xfe);

	/* X_ blocks agree with the 32-bit ones */
	assert_int_equal(rd8(fadt, 148), 1);
	assert_int_equal(rd8(fadt, 149), 32);
	assert_int_equal(rd64(fadt, 152), 0x600);
	assert_int_equal(rd8(fadt, 172), 1);
	assert_int_equal(rd8(fadt, 173), 16);
	assert_int_equal(rd64(fadt, 176), 0x604);
	assert_int_equal(rd8(fadt, 208), 1);
	assert_int_equal(rd8(fadt, 209), 32);
	assert_int_equal(rd64(fadt, 212), 0x608);
}

static void test_fadt_points_to_dsdt_and_facs(void **state)
{
	struct fixture *f = *state;
	const uint8_t *fadt, *facs;
	uint64_t rsdp;

	build(f, 1, &rsdp);
	fadt = find_table(&f->m, rsdp, "FACP", NULL);
	assert_int_equal(rd32(fadt, 40), rd64(fadt, 140));	/* DSDT == X_DSDT */
	assert_non_null(map_table(&f->m, rd64(fadt, 140), "DSDT"));

	assert_int_equal(rd32(fadt, 36), rd64(fadt, 132));	/* FACS == X_FACS */
	assert_int_equal(rd32(fadt, 36) % 64, 0);
	assert_true(rd32(fadt, 36) >= ACPI_TABLES_ADDR);
	assert_true(rd32(fadt, 36) + 64 <= ACPI_TABLES_END);
	facs = guest_ptr(&f->m, rd32(fadt, 36), 64);
	assert_non_null(facs);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs, 4), 64);
}

/* AML PkgLength: returns the encoded length, *n gets its byte count. */
static uint32_t aml_pkglen(const uint8_t *p, unsigned int *n)
{
	uint32_t len;

	*n = (p[0] >> 6) + 1;
	if (*n == 1)
		return p[0] & 0x3f;
	len = p[0] & 0x0f;
	for (unsigned int i = 1; i < *n; i++)
		len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return len;
}

static const uint8_t *map_dsdt(struct fixture *f, uint32_t *len)
{
	const uint8_t *fadt, *d;
	uint64_t rsdp;

	build(f, 1, &rsdp);
	fadt = find_table(&f->m, rsdp, "FACP", NULL);
	d = map_table(&f->m, rd64(fadt, 140), "DSDT");
	*len = rd32(d, 4);
	return d;
}

static void test_dsdt_s5(void **state)
{
	/* NameOp, "\_S5_", PackageOp, PkgLength, NumElements 4, 5, 5, 0, 0 */
	static const uint8_t elems[] = { 4, 0x0a, ACPI_S5_SLP_TYP,
					 0x0a, ACPI_S5_SLP_TYP, 0x00, 0x00 };
	struct fixture *f = *state;
	const uint8_t *d, *p;
	uint32_t len, pkg;
	unsigned int n;

	d = map_dsdt(f, &len);
	p = d + 36;
	assert_int_equal(p[0], 0x08);
	assert_memory_equal(p + 1, "\\_S5_", 5);
	assert_int_equal(p[6], 0x12);
	pkg = aml_pkglen(p + 7, &n);
	assert_int_equal(pkg, n + sizeof(elems));
	assert_memory_equal(p + 7 + n, elems, sizeof(elems));
}

static const uint8_t *memfind(const uint8_t *hay, size_t hay_len,
			      const void *needle, size_t len)
{
	for (size_t i = 0; i + len <= hay_len; i++)
		if (!memcmp(hay + i, needle, len))
			return hay + i;
	return NULL;
}

static void test_dsdt_com1(void **state)
{
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D',
				       0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08 };
	static const uint8_t irq[] = { 0x22, 1 << COM1_IRQ, 0x00 };
	struct fixture *f = *state;
	const uint8_t *d, *s5, *scope, *dev, *end;
	unsigned int n;
	uint32_t len;

	d = map_dsdt(f, &len);
	/* \_S5_ first; then Scope(\_SB_), inside the table */
	s5 = d + 36;
	scope = s5 + 7 + aml_pkglen(s5 + 7, &n);
	assert_true(scope < d + len);
	assert_int_equal(scope[0], 0x10);
	end = scope + 1 + aml_pkglen(scope + 1, &n);
	assert_true(end <= d + len);
	scope += 1 + n;
	assert_memory_equal(scope, "\\_SB_", 5);

	/* Device(COM1), running to the end of the scope */
	dev = scope + 5;
	assert_int_equal(dev[0], 0x5b);
	assert_int_equal(dev[1], 0x82);
	assert_int_equal(aml_pkglen(dev + 2, &n), end - (dev + 2));
	dev += 2 + n;
	assert_memory_equal(dev, "COM1", 4);

	assert_non_null(memfind(dev, end - dev, hid, sizeof(hid)));
	assert_non_null(memfind(dev, end - dev, "_CRS", 4));
	assert_non_null(memfind(dev, end - dev, io, sizeof(io)));
	assert_non_null(memfind(dev, end - dev, irq, sizeof(irq)));
}

/* The body of Device(@name) in the DSDT, and its end; fails if absent. */
static const uint8_t *find_device(const uint8_t *d, uint32_t len, const char *name,
				  const uint8_t **end)
{
	for (const uint8_t *p = d + 36; p + 6 < d + len; p++) {
		unsigned int n;
		uint32_t pkg;

		if (p[0] != 0x5b || p[1] != 0x82)
			continue;
		pkg = aml_pkglen(p + 2, &n);
		if (memcmp(p + 2 + n, name, 4))
			continue;
		*end = p + 2 + pkg;
		assert_true(*end <= d + len);
		return p + 2 + n + 4;
	}
	fail_msg("Device(%s) not in the DSDT", name);
	return NULL;
}

static void test_dsdt_pci0(void **state)
{
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D',
				       0x0c, 0x41, 0xd0, 0x0a, 0x03 };	/* PNP0A03 */
	static const uint8_t uid[] = { 0x08, '_', 'U', 'I', 'D', 0x00 };
	static const uint8_t bbn[] = { 0x08, '_', 'B', 'B', 'N', 0x00 };
	/* WordBusNumber 0-0, producer, min/max fixed */
	static const uint8_t bus[] = { 0x88, 13, 0, 2, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t conf1[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	uint8_t io[16] = { 0x88, 13, 0, 1, 0x0c, 0x03 };
	uint8_t mem[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 };
	struct fixture *f = *state;
	const uint8_t *d, *dev, *end = NULL, *p;
	unsigned int n, entries;
	uint32_t len;

	io[8] = PCI_IO_START & 0xff;
	io[9] = PCI_IO_START >> 8;
	io[10] = (PCI_IO_END - 1) & 0xff;
	io[11] = (PCI_IO_END - 1) >> 8;
	io[14] = (PCI_IO_END - PCI_IO_START) & 0xff;
	io[15] = (PCI_IO_END - PCI_IO_START) >> 8;
	for (int i = 0; i < 4; i++) {
		mem[10 + i] = (uint8_t)(PCI_MMIO_START >> (8 * i));
		mem[14 + i] = (uint8_t)((PCI_MMIO_END - 1) >> (8 * i));
		mem[22 + i] = (uint8_t)((PCI_MMIO_END - PCI_MMIO_START) >> (8 * i));
	}
	d = map_dsdt(f, &len);
	dev = find_device(d, len, "PCI0", &end);
	assert_non_null(memfind(dev, end - dev, hid, sizeof(hid)));
	assert_non_null(memfind(dev, end - dev, uid, sizeof(uid)));
	assert_non_null(memfind(dev, end - dev, bbn, sizeof(bbn)));
	assert_non_null(memfind(dev, end - dev, bus, sizeof(bus)));
	assert_non_null(memfind(dev, end - dev, conf1, sizeof(conf1)));
	assert_non_null(memfind(dev, end - dev, io, sizeof(io)));
	assert_non_null(memfind(dev, end - dev, mem, sizeof(mem)));
	/* the windows stay clear of the fixed MMIO above them */
	assert_true(PCI_MMIO_END <= IOAPIC_ADDR);
	assert_true(PCI_MMIO_START >= MMIO_HOLE_START);

	/* _PRT: Package(128) of Package(4) { slot << 16 | 0xffff, pin, 0, GSI } */
	p = memfind(dev, end - dev, "_PRT", 4);
	assert_non_null(p);
	p += 4;
	assert_int_equal(p[0], 0x12);
	aml_pkglen(p + 1, &n);
	p += 1 + n;
	entries = *p++;
	assert_int_equal(entries, 32 * 4);
	for (unsigned int e = 0; e < entries; e++) {
		unsigned int slot = e / 4, pin = e % 4;
		uint32_t addr, gsi;

		assert_int_equal(p[0], 0x12);
		aml_pkglen(p + 1, &n);
		p += 1 + n;
		assert_int_equal(*p++, 4);
		/* address: Word for slot 0, else DWord */
		if (p[0] == 0x0b) {
			addr = rd16(p, 1);
			p += 3;
		} else {
			assert_int_equal(p[0], 0x0c);
			addr = rd32(p, 1);
			p += 5;
		}
		assert_int_equal(addr, slot << 16 | 0xffff);
		/* pin: Zero, One or BytePrefix n */
		if (pin < 2) {
			assert_int_equal(*p++, pin);
		} else {
			assert_int_equal(*p++, 0x0a);
			assert_int_equal(*p++, pin);
		}
		assert_int_equal(*p++, 0x00);		/* Source: none */
		assert_int_equal(*p++, 0x0a);
		gsi = *p++;
		assert_int_equal(gsi, PCI_INTX_GSI_BASE + (slot + pin) % PCI_INTX_GSIS);
		assert_true(gsi < IOAPIC_NR_PINS);
	}
	assert_true(p <= end);
}

/* Walk the MADT: every CPU 0..n-1 exactly once, enabled, APIC ID = index. */
static void check_madt(struct fixture *f, unsigned int nr_cpus)
{
	unsigned int seen_ioapic = 0, seen_nmi = 0, seen_x2nmi = 0;
	bool iso_timer = false, iso_sci = false;
	const uint8_t *madt;
	uint8_t *seen;
	uint64_t rsdp;
	uint32_t len;
	size_t off;

	build(f, nr_cpus, &rsdp);
	madt = find_table(&f->m, rsdp, "APIC", NULL);
	len = rd32(madt, 4);
	assert_int_equal(rd32(madt, 36), LAPIC_ADDR);
	assert_int_equal(rd32(madt, 40) & 1, 1);	/* PCAT_COMPAT */

	seen = calloc(nr_cpus, 1);
	assert_non_null(seen);
	for (off = 44; off < len; off += madt[off + 1]) {
		const uint8_t *e = madt + off;
		uint32_t id;

		assert_true(off + 2 <= len);
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			id = e[3];
			assert_true(id < 255 && id < nr_cpus);
			assert_int_equal(e[2], id);		/* UID */
			assert_int_equal(rd32(e, 4) & 1, 1);	/* enabled */
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			break;
		case 9:
			assert_int_equal(e[1], 16);
			id = rd32(e, 4);
			assert_true(id >= 255 && id < nr_cpus);
			assert_int_equal(rd32(e, 12), id);	/* UID */
			assert_int_equal(rd32(e, 8) & 1, 1);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(rd32(e, 4), IOAPIC_ADDR);
			assert_int_equal(rd32(e, 8), 0);	/* GSI base */
			seen_ioapic++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);		/* ISA bus */
			if (e[3] == 0) {
				assert_int_equal(rd32(e, 4), 2);
				iso_timer = true;
			} else if (e[3] == ACPI_SCI_IRQ) {
				assert_int_equal(rd32(e, 4), ACPI_SCI_IRQ);
				/* level-triggered, active high */
				assert_int_equal(rd16(e, 8), 0x0d);
				iso_sci = true;
			} else {
				fail_msg("unexpected override for IRQ %u", e[3]);
			}
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);		/* all CPUs */
			assert_int_equal(e[5], 1);		/* LINT1 */
			seen_nmi++;
			break;
		case 10:
			assert_int_equal(e[1], 12);
			assert_int_equal(rd32(e, 4), 0xffffffffu);
			assert_int_equal(e[8], 1);
			seen_x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_int_equal(off, len);
	for (unsigned int i = 0; i < nr_cpus; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
	assert_int_equal(seen_ioapic, 1);
	assert_true(iso_timer && iso_sci);
	if (nr_cpus > 255) {
		assert_int_equal(seen_x2nmi, 1);
		assert_int_equal(seen_nmi, 0);
	} else {
		assert_int_equal(seen_nmi, 1);
		assert_int_equal(seen_x2nmi, 0);
	}
}

static void test_madt_1_cpu(void **state)
{
	check_madt(*state, 1);
}

static void test_madt_4_cpus(void **state)
{
	check_madt(*state, 4);
}

static void test_madt_255_cpus_all_xapic(void **state)
{
	check_madt(*state, 255);
}

static void test_madt_256_cpus_x2apic(void **state)
{
	check_madt(*state, 256);
}

static void test_madt_1024_cpus(void **state)
{
	check_madt(*state, 1024);
}

static void test_rebuild_is_identical(void **state)
{
	struct fixture *f = *state;
	const size_t area = ACPI_TABLES_END - ACPI_TABLES_ADDR;
	uint8_t *first = malloc(area);
	uint64_t rsdp;

	assert_non_null(first);
	build(f, 4, &rsdp);
	memcpy(first, guest_ptr(&f->m, ACPI_TABLES_ADDR, area), area);
	/* A rebuild over a dirty area must give the same bytes. */
	memset(guest_ptr(&f->m, ACPI_TABLES_ADDR, area), 0x5a, area);
	build(f, 4, &rsdp);
	assert_memory_equal(first, guest_ptr(&f->m, ACPI_TABLES_ADDR, area), area);
	free(first);
}

static void test_area_not_ram(void **state)
{
	struct guest_mem m;
	uint8_t *ram = malloc(ACPI_TABLES_ADDR + 0x1000);
	uint64_t rsdp = 0;

	(void)state;
	assert_non_null(ram);
	/* RAM ends inside the ACPI area */
	test_mem_layout(&m, ram, ACPI_TABLES_ADDR + 0x1000, MMIO_HOLE_START);
	assert_int_equal(acpi_build(&m, 1, &pc_inv, &rsdp), -EFAULT);
	assert_int_equal(rsdp, 0);
	/* RAM ends before it */
	test_mem_layout(&m, ram, 0x80000, MMIO_HOLE_START);
	assert_int_equal(acpi_build(&m, 1, &pc_inv, &rsdp), -EFAULT);
	/* layout only, no host memory behind it */
	test_mem_layout(&m, NULL, RAM_SIZE, MMIO_HOLE_START);
	assert_int_equal(acpi_build(&m, 1, &pc_inv, &rsdp), -EFAULT);
	free(ram);
}

/* The DSDT follows the inventory: a second UART is a second device, a probed one none. */
static void test_dsdt_follows_inventory(void **state)
{
	static const uint8_t io2[] = { 0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08 };
	static const uint8_t irq3[] = { 0x22, 1 << 3, 0x00 };
	static const uint8_t uid1[] = { 0x08, '_', 'U', 'I', 'D', 0x01 };
	struct inv_entry e[] = {
		pc_entries[0],
		{ .name = "com2", .type = "serial", .role = INV_UART,
		  .ranges = { { 0x2f8, 8, true } }, .nr_ranges = 1, .irq = 3 },
		{ .name = "com3", .type = "serial", .role = INV_UART,
		  .ranges = { { 0x3e8, 8, true } }, .nr_ranges = 1, .irq = 4, .probed = true },
	};
	struct inventory inv = { e, ARRAY_SIZE(e), ARRAY_SIZE(e) };
	struct fixture *f = *state;
	const uint8_t *d, *dev, *end, *com1, *com1_end;
	uint64_t rsdp;
	uint32_t len;

	assert_int_equal(acpi_build(&f->m, 1, &inv, &rsdp), 0);
	d = map_table(&f->m, rd64(find_table(&f->m, rsdp, "FACP", NULL), 140), "DSDT");
	len = rd32(d, 4);
	com1 = find_device(d, len, "COM1", &com1_end);
	dev = find_device(d, len, "COM2", &end);
	assert_true(com1 < com1_end && dev > com1_end);	/* inventory order */
	assert_non_null(memfind(dev, end - dev, io2, sizeof(io2)));
	assert_non_null(memfind(dev, end - dev, irq3, sizeof(irq3)));
	assert_non_null(memfind(dev, end - dev, uid1, sizeof(uid1)));
	assert_null(memfind(d, len, "COM3", 4));	/* probed: not described */
	assert_null(memfind(d, len, "PCI0", 4));	/* no host bridge in this inventory */
}

static void test_bad_cpu_counts(void **state)
{
	struct fixture *f = *state;
	uint64_t rsdp = 0;

	assert_int_equal(acpi_build(&f->m, 0, &pc_inv, &rsdp), -EINVAL);
	/* 16 bytes per x2APIC entry: this many cannot fit in 128 KiB */
	assert_int_equal(acpi_build(&f->m, 100000, &pc_inv, &rsdp), -ENOSPC);
	assert_int_equal(acpi_build(&f->m, UINT32_MAX, &pc_inv, &rsdp), -ENOSPC);
	assert_int_equal(rsdp, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rsdp_xsdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_pm_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fadt_points_to_dsdt_and_facs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_s5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_com1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsdt_pci0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_1_cpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_4_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_255_cpus_all_xapic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_256_cpus_x2apic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madt_1024_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_is_identical, setup, teardown),
		cmocka_unit_test(test_area_not_ram),
		cmocka_unit_test_setup_teardown(test_dsdt_follows_inventory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_cpu_counts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
