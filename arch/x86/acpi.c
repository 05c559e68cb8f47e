/*
 * ACPI tables for x86 guests. Built in host memory, checksummed, then
 * copied into [ACPI_TABLES_ADDR, ACPI_TABLES_END) with the RSDP first so
 * a guest that scans the BIOS area finds it too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "board.h"
#include "layout.h"
#include "le.h"
#include "mem.h"
#include "util.h"

#define ACPI_OEM_ID		"KVMINI"
#define ACPI_OEM_TABLE_ID	"KVMINI  "
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"KVMI"
#define ACPI_CREATOR_REVISION	1

#define ACPI_TABLE_ALIGN	16
#define ACPI_FACS_ALIGN		64	/* the spec requires 64-byte alignment */

/* Revisions: ACPI 6.3 layouts throughout. */
#define ACPI_RSDP_REVISION	2
#define ACPI_XSDT_REVISION	1
#define ACPI_FADT_REVISION	6
#define ACPI_FADT_MINOR		3
#define ACPI_MADT_REVISION	5
#define ACPI_DSDT_REVISION	2	/* 64-bit AML integers */
#define ACPI_FACS_VERSION	2

/* Generic Address Structure */
#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_LEGACY	0
#define ACPI_GAS_ACCESS_BYTE	1

/* FADT Flags */
#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* set: no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* set: no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)

/* FADT IAPC_BOOT_ARCH */
#define FADT_BOOT_8042		(1u << 1)
#define FADT_BOOT_NO_VGA	(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC	(1u << 5)

/* C2/C3 latencies above these values mean "not supported". */
#define FADT_C2_UNSUPPORTED	101
#define FADT_C3_UNSUPPORTED	1001

/* MADT */
#define MADT_F_PCAT_COMPAT	(1u << 0)
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_X2APIC		9
#define MADT_X2APIC_NMI		10
#define MADT_CPU_ENABLED	(1u << 0)
#define MADT_ALL_CPUS_UID8	0xff
#define MADT_ALL_CPUS_UID32	0xffffffffu
#define MADT_LINT1		1
/* MPS INTI flags: polarity in bits 1:0, trigger mode in bits 3:2. */
#define MPS_INTI_CONFORMS	0x0
#define MPS_INTI_ACTIVE_HIGH	0x1
#define MPS_INTI_LEVEL		(0x3 << 2)
/*
 * The in-kernel IOAPIC reports ID 0 after reset; advertising the same ID
 * keeps the MADT and the hardware register in agreement. x86-64 Linux
 * does not require IOAPIC IDs to differ from LAPIC IDs.
 */
#define MADT_IOAPIC_ID		0
/*
 * Type-0 entries carry an 8-bit APIC ID and 0xff means broadcast in xAPIC
 * mode, so CPUs with index >= 255 get x2APIC (type 9) entries.
 */
#define MADT_XAPIC_MAX_ID	254
#define ISA_IRQ_TIMER		0
#define GSI_TIMER		2

/* AML opcodes and resource descriptor tags used by the DSDT. */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_ROOT_CHAR		0x5c
#define AML_EXT_PREFIX		0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_PREFIX */
#define AML_DSDT_MAX		4096
#define RES_IO_TAG		0x47	/* small item 8, 7 bytes */
#define RES_IO_DECODE16		0x01
#define RES_IRQ_NOFLAGS_TAG	0x22	/* small item 4, 2 bytes */
#define RES_END_TAG		0x79	/* small item 15, 1 byte */
#define PCI_SLOTS_ALL		32
#define RES_WORD_ADDR_TAG	0x88	/* large item: Word Address Space */
#define RES_DWORD_ADDR_TAG	0x87	/* large item: DWord Address Space */
#define RES_ADDR_MEMORY		0
#define RES_ADDR_IO		1
#define RES_ADDR_BUS		2
#define RES_ADDR_FIXED		0x0c	/* producer, positive decode, min and max fixed */
#define RES_IO_ENTIRE_RANGE	0x03
#define RES_MEM_RW		0x01	/* read-write, non-cacheable */
#define PCI_PRT_ANY_FUNCTION	0xffff
#define PCI_INTX_PINS		4

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

#define ACPI_RSDP_V1_LEN 20

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t acpi_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type;
	uint8_t length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t acpi_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type;
	uint8_t length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t acpi_uid;
} __attribute__((packed));

struct madt_x2apic_nmi {
	uint8_t type;
	uint8_t length;
	uint16_t flags;
	uint32_t acpi_uid;
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(sizeof(struct acpi_header) == 36, "header layout");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC layout");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC layout");
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO layout");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT NMI layout");
_Static_assert(sizeof(struct madt_x2apic) == 16, "MADT x2APIC layout");
_Static_assert(sizeof(struct madt_x2apic_nmi) == 12, "MADT x2APIC NMI layout");

/* Bump allocator over the ACPI area of guest memory. */
struct acpi_area {
	struct guest_mem *m;
	uint64_t next;
};

static int acpi_alloc(struct acpi_area *a, uint64_t len, uint64_t align,
		      uint64_t *gpa)
{
	uint64_t at = ALIGN_UP(a->next, align);

	if (len > ACPI_TABLES_END || at > ACPI_TABLES_END - len)
		return -ENOSPC;
	*gpa = at;
	a->next = at + len;
	return 0;
}

static int acpi_copy_out(struct acpi_area *a, uint64_t gpa, const void *src,
			 size_t len)
{
	void *dst = guest_ptr(a->m, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

/* Reserve room for @len bytes and copy @src there. */
static int acpi_place(struct acpi_area *a, const void *src, size_t len,
		      uint64_t align, uint64_t *gpa)
{
	int ret = acpi_alloc(a, len, align, gpa);

	if (ret)
		return ret;
	return acpi_copy_out(a, *gpa, src, len);
}

/* The byte that makes @len bytes at @p sum to zero. */
static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig,
			     uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Checksum a complete table (header->length bytes) and place it. */
static int acpi_place_table(struct acpi_area *a, struct acpi_header *h,
			    uint64_t *gpa)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
	return acpi_place(a, h, h->length, ACPI_TABLE_ALIGN, gpa);
}

static int acpi_build_facs(struct acpi_area *a, uint64_t *gpa)
{
	struct acpi_facs facs = {
		.signature = { 'F', 'A', 'C', 'S' },
		.length = sizeof(facs),
		.version = ACPI_FACS_VERSION,
	};

	return acpi_place(a, &facs, sizeof(facs), ACPI_FACS_ALIGN, gpa);
}

/*
 * A tiny AML emitter. Package lengths are not known until the body is
 * written, so pkg_begin() remembers where the body starts and pkg_end()
 * slides it right to make room for the encoded PkgLength.
 */
struct aml {
	uint8_t buf[AML_DSDT_MAX];
	size_t len;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->buf) - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_nameseg(struct aml *a, const char seg[4])
{
	aml_bytes(a, seg, 4);
}

static void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		uint16_t w = (uint16_t)v;

		aml_byte(a, AML_WORD_PREFIX);
		aml_bytes(a, &w, sizeof(w));
	} else if (v <= UINT32_MAX) {
		uint32_t d = (uint32_t)v;

		aml_byte(a, AML_DWORD_PREFIX);
		aml_bytes(a, &d, sizeof(d));
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_bytes(a, &v, sizeof(v));
	}
}

static size_t aml_pkg_begin(struct aml *a)
{
	return a->len;
}

static void aml_pkg_end(struct aml *a, size_t start)
{
	size_t body = a->len - start;
	uint8_t enc[4];
	size_t n, total;

	if (a->overflow)
		return;
	/* PkgLength counts its own bytes; use the shortest encoding. */
	for (n = 1; n < 4; n++) {
		size_t max = n == 1 ? 0x3f : ((size_t)1 << (4 + 8 * (n - 1))) - 1;

		if (body + n <= max)
			break;
	}
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (n > sizeof(a->buf) - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

/* EisaId("PNP0501") style compressed ID: 3 letters, then 4 hex digits. */
static void aml_eisaid(struct aml *a, const char id[7])
{
	uint16_t vendor = (uint16_t)(((id[0] - '@') << 10) |
				     ((id[1] - '@') << 5) | (id[2] - '@'));
	uint8_t b[4];

	b[0] = vendor >> 8;
	b[1] = vendor & 0xff;
	for (int i = 0; i < 2; i++) {
		char hi = id[3 + 2 * i], lo = id[4 + 2 * i];
		int h = hi <= '9' ? hi - '0' : hi - 'A' + 10;
		int l = lo <= '9' ? lo - '0' : lo - 'A' + 10;

		b[2 + i] = (uint8_t)(h << 4 | l);
	}
	aml_byte(a, AML_DWORD_PREFIX);
	aml_bytes(a, b, sizeof(b));
}

/* Name(\_S5_, Package() { SLP_TYPa, SLP_TYPb, 0, 0 }) */
static void aml_s5(struct aml *a)
{
	size_t pkg;

	aml_byte(a, AML_NAME_OP);
	aml_byte(a, AML_ROOT_CHAR);
	aml_nameseg(a, "_S5_");
	aml_byte(a, AML_PACKAGE_OP);
	pkg = aml_pkg_begin(a);
	aml_byte(a, 4);		/* NumElements */
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_pkg_end(a, pkg);
}

static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, seg);
}

/*
 * Open Scope(\_SB_) { Device(@name) { ... with its _HID and _UID @uid.
 * Returns the device's package start; *scope gets the scope's.
 */
static size_t aml_sb_device_begin(struct aml *a, const char name[4], const char hid[7],
				  unsigned int uid, size_t *scope)
{
	size_t dev;

	aml_byte(a, AML_SCOPE_OP);
	*scope = aml_pkg_begin(a);
	aml_byte(a, AML_ROOT_CHAR);
	aml_nameseg(a, "_SB_");

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	dev = aml_pkg_begin(a);
	aml_nameseg(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	return dev;
}

static void aml_sb_device_end(struct aml *a, size_t dev, size_t scope)
{
	aml_pkg_end(a, dev);
	aml_pkg_end(a, scope);
}

/* The device's AML name: its instance name, upper case, in four characters. */
static void inv_nameseg(const struct inv_entry *e, char seg[4])
{
	for (unsigned int i = 0; i < 4; i++) {
		char c = i < strlen(e->name) ? e->name[i] : '_';

		seg[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
}

/*
 * Scope(\_SB_) { Device(COM1) { _HID PNP0501, _UID @uid,
 *   _CRS { IO(Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags() { 4 } } } }
 */
static void aml_uart(struct aml *a, const struct inv_entry *e, unsigned int uid)
{
	const uint16_t port = (uint16_t)e->ranges[0].base;
	const uint16_t irq_mask = e->irq >= 0 && e->irq < 16 ? (uint16_t)(1u << e->irq) : 0;
	const uint8_t crs[] = {
		RES_IO_TAG, RES_IO_DECODE16,
		port & 0xff, port >> 8,		/* minimum base */
		port & 0xff, port >> 8,		/* maximum base */
		1,				/* alignment */
		(uint8_t)e->ranges[0].len,
		RES_IRQ_NOFLAGS_TAG, irq_mask & 0xff, irq_mask >> 8,
		RES_END_TAG, 0,
	};
	size_t scope, dev, buf;
	char seg[4];

	inv_nameseg(e, seg);
	dev = aml_sb_device_begin(a, seg, "PNP0501", uid, &scope);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	buf = aml_pkg_begin(a);
	aml_integer(a, sizeof(crs));
	aml_bytes(a, crs, sizeof(crs));
	aml_pkg_end(a, buf);
	aml_sb_device_end(a, dev, scope);
}

/* Word Address Space Descriptor: a bus-number or I/O window the bridge decodes. */
static void aml_word_window(struct aml *a, uint8_t type, uint8_t type_flags,
			    uint16_t min, uint16_t max)
{
	uint8_t d[16] = { RES_WORD_ADDR_TAG, 13, 0, type, RES_ADDR_FIXED, type_flags };

	put_le16(d + 8, min);
	put_le16(d + 10, max);
	put_le16(d + 14, (uint16_t)(max - min + 1));
	aml_bytes(a, d, sizeof(d));
}

static void aml_dword_window(struct aml *a, uint32_t min, uint32_t max)
{
	uint8_t d[26] = { RES_DWORD_ADDR_TAG, 23, 0, RES_ADDR_MEMORY, RES_ADDR_FIXED,
			  RES_MEM_RW };

	put_le32(d + 10, min);
	put_le32(d + 14, max);
	put_le32(d + 22, max - min + 1);
	aml_bytes(a, d, sizeof(d));
}

/*
 * Bus 0 only; then the host's inventory ranges: the conf1 ports, the I/O
 * and the memory windows BARs live in.
 */
static void aml_pci_crs(struct aml *a, const struct inv_entry *e)
{
	const struct inv_range *cfg = &e->ranges[0], *io = &e->ranges[1], *mem = &e->ranges[2];
	const uint16_t port = (uint16_t)cfg->base;
	const uint8_t conf1[] = {
		RES_IO_TAG, RES_IO_DECODE16,
		port & 0xff, port >> 8,
		port & 0xff, port >> 8,
		1, (uint8_t)cfg->len,
	};
	size_t buf;

	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	buf = aml_pkg_begin(a);
	/* BufferSize: 16 + 8 + 16 + 26 + 2 bytes of descriptors */
	aml_integer(a, 16 + sizeof(conf1) + 16 + 26 + 2);
	aml_word_window(a, RES_ADDR_BUS, 0, 0, 0);
	aml_bytes(a, conf1, sizeof(conf1));
	aml_word_window(a, RES_ADDR_IO, RES_IO_ENTIRE_RANGE, (uint16_t)io->base,
			(uint16_t)(io->base + io->len - 1));
	aml_dword_window(a, (uint32_t)mem->base, (uint32_t)(mem->base + mem->len - 1));
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_pkg_end(a, buf);
}

/*
 * _PRT: INTA-INTD of every slot to IOAPIC GSIs, swizzled as the board
 * wires them (board_pci_intx_line). A zero Source means the last field is a GSI; Linux takes
 * such entries as level-triggered, active-low, and KVM's IOAPIC models
 * the line's logical level, so devices assert with level 1.
 */
static void aml_pci_prt(struct aml *a)
{
	size_t outer;

	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE_OP);
	outer = aml_pkg_begin(a);
	aml_byte(a, PCI_SLOTS_ALL * PCI_INTX_PINS);
	for (unsigned int slot = 0; slot < PCI_SLOTS_ALL; slot++) {
		for (unsigned int pin = 0; pin < PCI_INTX_PINS; pin++) {
			size_t inner;

			aml_byte(a, AML_PACKAGE_OP);
			inner = aml_pkg_begin(a);
			aml_byte(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | PCI_PRT_ANY_FUNCTION);
			aml_integer(a, pin);
			aml_integer(a, 0);	/* Source: none, so a GSI follows */
			aml_integer(a, board_pci_intx_line(slot, pin));
			aml_pkg_end(a, inner);
		}
	}
	aml_pkg_end(a, outer);
}

/*
 * Scope(\_SB_) { Device(PCI0) { _HID PNP0A03, _UID 0, _ADR 0, _BBN 0,
 *   _CRS, _PRT } }: the root bridge of devices/pci.c, config space through
 * conf1 (no MCFG).
 */
static void aml_pci_host(struct aml *a, const struct inv_entry *e, unsigned int uid)
{
	size_t scope, dev;
	char seg[4];

	inv_nameseg(e, seg);
	dev = aml_sb_device_begin(a, seg, "PNP0A03", uid, &scope);
	aml_name(a, "_ADR");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_pci_crs(a, e);
	aml_pci_prt(a);
	aml_sb_device_end(a, dev, scope);
}

/* Devices the DSDT lists, in inventory order; the rest the FADT or the guest's probing finds. */
static void aml_inventory(struct aml *aml, const struct inventory *inv)
{
	unsigned int uarts = 0, hosts = 0;

	for (unsigned int i = 0; i < inv->nr; i++) {
		const struct inv_entry *e = &inv->entries[i];

		if (e->role == INV_UART && !e->probed && e->nr_ranges >= 1 && e->ranges[0].pio)
			aml_uart(aml, e, uarts++);
		else if (e->role == INV_PCI_HOST && e->nr_ranges >= 3)
			aml_pci_host(aml, e, hosts++);
	}
}

static int acpi_build_dsdt(struct acpi_area *a, const struct inventory *inv, uint64_t *gpa)
{
	struct acpi_header *h;
	struct aml *aml;
	int ret;

	/* The header goes in front of the AML, in the same buffer. */
	aml = calloc(1, sizeof(*aml));
	if (!aml)
		return -ENOMEM;
	aml->len = sizeof(*h);
	aml_s5(aml);
	aml_inventory(aml, inv);
	if (aml->overflow) {
		ret = -ENOSPC;
		goto out;
	}
	h = (struct acpi_header *)aml->buf;
	acpi_header_init(h, "DSDT", (uint32_t)aml->len, ACPI_DSDT_REVISION);
	ret = acpi_place_table(a, h, gpa);
out:
	free(aml);
	return ret;
}

static struct acpi_gas acpi_io_gas(uint16_t port, uint8_t bytes,
				   uint8_t access)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = access,
		.address = port,
	};

	return g;
}

static int acpi_build_fadt(struct acpi_area *a, uint64_t facs, uint64_t dsdt,
			   uint64_t *gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	acpi_header_init(&f.h, "FACP", sizeof(f), ACPI_FADT_REVISION);
	f.firmware_ctrl = (uint32_t)facs;
	f.dsdt = (uint32_t)dsdt;
	f.sci_int = ACPI_SCI_IRQ;
	f.smi_cmd = 0;		/* no SMM: the guest starts in ACPI mode */
	f.pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f.pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f.pm_tmr_blk = ACPI_PM_TMR_PORT;
	f.pm1_evt_len = 4;
	f.pm1_cnt_len = 2;
	f.pm_tmr_len = 4;
	f.p_lvl2_lat = FADT_C2_UNSUPPORTED;
	f.p_lvl3_lat = FADT_C3_UNSUPPORTED;
	/* No i8042 (bit clear), no VGA, no CMOS RTC: Linux skips probing them. */
	f.iapc_boot_arch = FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC;
	/*
	 * TMR_VAL_EXT stays clear: the guest treats the PM timer as 24-bit.
	 * PWR_BUTTON clear: the power button is the fixed-feature one in PM1
	 * (kvmini stop presses it); no sleep button.
	 */
	f.flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP;
	f.reset_reg = acpi_io_gas(I8042_CMD_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f.reset_value = I8042_CMD_RESET;
	f.minor_version = ACPI_FADT_MINOR;
	f.x_firmware_ctrl = facs;
	f.x_dsdt = dsdt;
	f.x_pm1a_evt_blk = acpi_io_gas(ACPI_PM1A_EVT_PORT, 4, ACPI_GAS_ACCESS_LEGACY);
	f.x_pm1a_cnt_blk = acpi_io_gas(ACPI_PM1A_CNT_PORT, 2, ACPI_GAS_ACCESS_LEGACY);
	f.x_pm_tmr_blk = acpi_io_gas(ACPI_PM_TMR_PORT, 4, ACPI_GAS_ACCESS_LEGACY);
	return acpi_place_table(a, &f.h, gpa);
}

static bool madt_uses_x2apic(unsigned int nr_cpus)
{
	return nr_cpus - 1 > MADT_XAPIC_MAX_ID;
}

static uint64_t madt_size(unsigned int nr_cpus)
{
	uint64_t n_xapic = nr_cpus < MADT_XAPIC_MAX_ID + 1 ?
			   nr_cpus : MADT_XAPIC_MAX_ID + 1;
	uint64_t n_x2apic = nr_cpus - n_xapic;
	uint64_t len = sizeof(struct acpi_madt) + sizeof(struct madt_ioapic) +
		       2 * sizeof(struct madt_iso);

	len += n_xapic * sizeof(struct madt_lapic);
	len += n_x2apic * sizeof(struct madt_x2apic);
	if (madt_uses_x2apic(nr_cpus))
		len += sizeof(struct madt_x2apic_nmi);
	else
		len += sizeof(struct madt_lapic_nmi);
	return len;
}

/* Append one MADT entry at *pos. */
static void madt_put(uint8_t *buf, size_t *pos, const void *e, size_t len)
{
	memcpy(buf + *pos, e, len);
	*pos += len;
}

static void madt_put_cpus(uint8_t *buf, size_t *pos, unsigned int nr_cpus)
{
	for (unsigned int i = 0; i < nr_cpus; i++) {
		if (i <= MADT_XAPIC_MAX_ID) {
			struct madt_lapic e = {
				.type = MADT_LAPIC,
				.length = sizeof(e),
				.acpi_uid = (uint8_t)i,
				.apic_id = (uint8_t)i,
				.flags = MADT_CPU_ENABLED,
			};

			madt_put(buf, pos, &e, sizeof(e));
		} else {
			struct madt_x2apic e = {
				.type = MADT_X2APIC,
				.length = sizeof(e),
				.x2apic_id = i,
				.flags = MADT_CPU_ENABLED,
				.acpi_uid = i,
			};

			madt_put(buf, pos, &e, sizeof(e));
		}
	}
}

static void madt_put_irqs(uint8_t *buf, size_t *pos, unsigned int nr_cpus)
{
	struct madt_ioapic ioapic = {
		.type = MADT_IOAPIC,
		.length = sizeof(ioapic),
		.ioapic_id = MADT_IOAPIC_ID,
		.address = (uint32_t)IOAPIC_ADDR,
		.gsi_base = 0,
	};
	struct madt_iso timer = {
		.type = MADT_ISO,
		.length = sizeof(timer),
		.source = ISA_IRQ_TIMER,
		.gsi = GSI_TIMER,
		.flags = MPS_INTI_CONFORMS,
	};
	struct madt_iso sci = {
		.type = MADT_ISO,
		.length = sizeof(sci),
		.source = ACPI_SCI_IRQ,
		.gsi = ACPI_SCI_IRQ,
		.flags = MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL,
	};

	madt_put(buf, pos, &ioapic, sizeof(ioapic));
	madt_put(buf, pos, &timer, sizeof(timer));
	madt_put(buf, pos, &sci, sizeof(sci));

	/* With any x2APIC ID >= 255 the spec wants the x2APIC form only. */
	if (madt_uses_x2apic(nr_cpus)) {
		struct madt_x2apic_nmi nmi = {
			.type = MADT_X2APIC_NMI,
			.length = sizeof(nmi),
			.flags = MPS_INTI_CONFORMS,
			.acpi_uid = MADT_ALL_CPUS_UID32,
			.lint = MADT_LINT1,
		};

		madt_put(buf, pos, &nmi, sizeof(nmi));
	} else {
		struct madt_lapic_nmi nmi = {
			.type = MADT_LAPIC_NMI,
			.length = sizeof(nmi),
			.acpi_uid = MADT_ALL_CPUS_UID8,
			.flags = MPS_INTI_CONFORMS,
			.lint = MADT_LINT1,
		};

		madt_put(buf, pos, &nmi, sizeof(nmi));
	}
}

static int acpi_build_madt(struct acpi_area *a, unsigned int nr_cpus,
			   uint64_t *gpa)
{
	uint64_t len = madt_size(nr_cpus);
	struct acpi_madt *madt;
	uint8_t *buf;
	size_t pos;
	int ret;

	if (len > ACPI_TABLES_END - ACPI_TABLES_ADDR)
		return -ENOSPC;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	madt = (struct acpi_madt *)buf;
	acpi_header_init(&madt->h, "APIC", (uint32_t)len, ACPI_MADT_REVISION);
	madt->lapic_address = (uint32_t)LAPIC_ADDR;
	madt->flags = MADT_F_PCAT_COMPAT;
	pos = sizeof(*madt);
	madt_put_cpus(buf, &pos, nr_cpus);
	madt_put_irqs(buf, &pos, nr_cpus);
	ret = acpi_place_table(a, &madt->h, gpa);
	free(buf);
	return ret;
}

static int acpi_build_xsdt(struct acpi_area *a, const uint64_t *entries,
			   unsigned int n, uint64_t *gpa)
{
	struct {
		struct acpi_header h;
		uint64_t entry[2];
	} __attribute__((packed)) x;

	if (n > ARRAY_SIZE(x.entry))
		return -EINVAL;
	memset(&x, 0, sizeof(x));
	acpi_header_init(&x.h, "XSDT", (uint32_t)(sizeof(x.h) + n * sizeof(uint64_t)),
			 ACPI_XSDT_REVISION);
	memcpy(x.entry, entries, n * sizeof(uint64_t));
	return acpi_place_table(a, &x.h, gpa);
}

static int acpi_build_rsdp(struct acpi_area *a, uint64_t gpa, uint64_t xsdt)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.revision = ACPI_RSDP_REVISION;
	r.rsdt_address = 0;	/* XSDT only */
	r.length = sizeof(r);
	r.xsdt_address = xsdt;
	r.checksum = acpi_checksum(&r, ACPI_RSDP_V1_LEN);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	return acpi_copy_out(a, gpa, &r, sizeof(r));
}

int acpi_build(struct guest_mem *m, unsigned int nr_cpus, const struct inventory *inv,
	       uint64_t *rsdp_gpa)
{
	const uint64_t area_len = ACPI_TABLES_END - ACPI_TABLES_ADDR;
	struct acpi_area a = { .m = m, .next = ACPI_TABLES_ADDR };
	uint64_t rsdp, facs, dsdt, fadt, madt, xsdt;
	uint64_t xsdt_entries[2];
	void *area;
	int ret;

	if (nr_cpus == 0)
		return -EINVAL;
	area = guest_ptr(m, ACPI_TABLES_ADDR, area_len);
	if (!area)
		return -EFAULT;
	memset(area, 0, area_len);

	/* The RSDP goes first but points at the XSDT, written last. */
	ret = acpi_alloc(&a, sizeof(struct acpi_rsdp), ACPI_TABLE_ALIGN, &rsdp);
	if (ret)
		return ret;
	ret = acpi_build_facs(&a, &facs);
	if (ret)
		return ret;
	ret = acpi_build_dsdt(&a, inv, &dsdt);
	if (ret)
		return ret;
	ret = acpi_build_fadt(&a, facs, dsdt, &fadt);
	if (ret)
		return ret;
	ret = acpi_build_madt(&a, nr_cpus, &madt);
	if (ret)
		return ret;
	xsdt_entries[0] = fadt;
	xsdt_entries[1] = madt;
	ret = acpi_build_xsdt(&a, xsdt_entries, ARRAY_SIZE(xsdt_entries), &xsdt);
	if (ret)
		return ret;
	ret = acpi_build_rsdp(&a, rsdp, xsdt);
	if (ret)
		return ret;
	*rsdp_gpa = rsdp;
	return 0;
}
