/*
 * x86 kernel loading: format sniffing and dispatch, the e820 map, the parts
 * of the zero page every loader shares, and the boot page tables and GDT.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "loader.h"

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2
#define EBDA_END		0xa0000ULL

/*
 * Boot GDT (BOOT_GDT_ADDR, 4 entries). Selector 0x08 holds a flat 32-bit
 * code segment used only for PVH entry; 0x10 is 64-bit code, 0x18 flat
 * data for both modes. Linux's 64-bit boot protocol wants exactly
 * __BOOT_CS = 0x10 and __BOOT_DS = 0x18.
 */
#define GDT_CODE32	0x00cf9b000000ffffULL	/* G, D, P, S, exec/read, accessed */
#define GDT_CODE64	0x00af9b000000ffffULL	/* G, L, P, S, exec/read, accessed */
#define GDT_DATA	0x00cf93000000ffffULL	/* G, B, P, S, read/write, accessed */

#define PTE_PRESENT	(1ULL << 0)
#define PTE_WRITE	(1ULL << 1)
#define PTE_HUGE	(1ULL << 7)

static const uint8_t bzimage_magic[4] = { 'H', 'd', 'r', 'S' };

/*
 * bzImages never carry a multiboot header, so they go first. An ELF32
 * with a multiboot header is a multiboot kernel (kvm-unit-tests images
 * are), whatever notes it has; ELF64 images keep their PVH or 64-bit
 * entry. Any other file with a multiboot header uses its a.out kludge.
 */
enum kernel_format kernel_detect(const uint8_t *buf, size_t len)
{
	enum mb_header_state mb;
	enum kernel_format fmt;
	size_t mb_off;

	/* boot_flag at 0x1fe, "HdrS" at 0x202 */
	if (len >= 0x206 && buf[0x1fe] == 0x55 && buf[0x1ff] == 0xaa &&
	    !memcmp(buf + 0x202, bzimage_magic, sizeof(bzimage_magic)))
		return KFMT_BZIMAGE;
	mb = multiboot_find_header(buf, len, &mb_off);
	if (len >= 4 && !memcmp(buf, "\177ELF", 4)) {
		bool elf32 = len > EI_CLASS && buf[EI_CLASS] == ELFCLASS32;

		if (elf32 && mb == MB_HEADER_VALID)
			return KFMT_MULTIBOOT;
		fmt = elf_detect(buf, len);
		/* nothing else claims it: let the multiboot loader explain */
		if (elf32 && fmt == KFMT_ELF64 && mb == MB_HEADER_BAD_CHECKSUM)
			return KFMT_MULTIBOOT;
		return fmt;
	}
	if (mb != MB_HEADER_NONE)
		return KFMT_MULTIBOOT;
	return KFMT_UNKNOWN;
}

const char *kernel_format_name(enum kernel_format f)
{
	switch (f) {
	case KFMT_BZIMAGE:
		return "bzImage";
	case KFMT_ELF64:
		return "ELF64";
	case KFMT_ELF_PVH:
		return "PVH ELF";
	case KFMT_FIRMWARE:
		return "kvmini firmware";
	case KFMT_MULTIBOOT:
		return "multiboot";
	case KFMT_UNKNOWN:
		break;
	}
	return "unknown";
}

bool kernel_is_linux(const uint8_t *buf, size_t len)
{
	switch (kernel_detect(buf, len)) {
	case KFMT_BZIMAGE:
		return true;
	case KFMT_ELF64:
	case KFMT_ELF_PVH:
		return elf_is_linux(buf, len);
	default:
		return false;
	}
}

int x86_load_kernel(struct guest_mem *m, const struct boot_input *in,
		    struct boot_entry *out)
{
	enum kernel_format fmt;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (in->kernel_len == 0) {
		kv_err("kernel %s is empty; pass a bzImage or an x86-64 vmlinux",
		       in->kernel_path);
		return -EINVAL;
	}
	for (i = 0; i < in->nr_initrds; i++) {
		if (in->initrds[i].len == 0) {
			kv_err("initrd %s is empty; pass a cpio archive or drop --initrd",
			       in->initrds[i].path);
			return -EINVAL;
		}
	}
	fmt = kernel_detect(in->kernel, in->kernel_len);
	if (in->nr_initrds > 1 && fmt != KFMT_MULTIBOOT && fmt != KFMT_UNKNOWN) {
		kv_err("--initrd given %u times, but kernel %s (%s) takes one; only multiboot kernels take several: pass one initrd (cpio archives can be concatenated)",
		       in->nr_initrds, in->kernel_path, kernel_format_name(fmt));
		return -EINVAL;
	}
	switch (fmt) {
	case KFMT_BZIMAGE:
		return bzimage_load(m, in, out);
	case KFMT_ELF64:
	case KFMT_ELF_PVH:
	case KFMT_FIRMWARE:
		return elf_load(m, in, fmt, out);
	case KFMT_MULTIBOOT:
		return multiboot_load(m, in, out);
	case KFMT_UNKNOWN:
		break;
	}
	kv_err("kernel %s is neither a Linux bzImage, an ELF nor a multiboot kernel; pass e.g. arch/x86/boot/bzImage or vmlinux",
	       in->kernel_path);
	return -ENOEXEC;
}

static unsigned int e820_add(struct boot_e820_entry *tbl, unsigned int n,
			     unsigned int max, uint64_t start, uint64_t end,
			     uint32_t type)
{
	unsigned int i;

	if (start >= end || n >= max)
		return n;
	/* Keep the table sorted: a handful of entries, insertion is fine. */
	for (i = n; i > 0 && tbl[i - 1].addr > start; i--)
		tbl[i] = tbl[i - 1];
	tbl[i].addr = start;
	tbl[i].size = end - start;
	tbl[i].type = type;
	return n + 1;
}

unsigned int x86_build_e820(const struct guest_mem *m,
			    struct boot_e820_entry *tbl, unsigned int max)
{
	unsigned int i, n = 0;

	n = e820_add(tbl, n, max, EBDA_START, EBDA_END, E820_TYPE_RESERVED);
	n = e820_add(tbl, n, max, ACPI_TABLES_ADDR, ACPI_TABLES_END,
		     E820_TYPE_RESERVED);
	for (i = 0; i < m->nr_regions; i++) {
		uint64_t start = m->regions[i].gpa;
		uint64_t end = start + m->regions[i].size;

		if (end < start)	/* never from guest_mem_layout */
			end = UINT64_MAX;
		/* [EBDA_START, 1 MiB) is never RAM for the guest */
		if (start < EBDA_START)
			n = e820_add(tbl, n, max, start,
				     end < EBDA_START ? end : EBDA_START,
				     E820_TYPE_RAM);
		if (end > HIMEM_START)
			n = e820_add(tbl, n, max,
				     start > HIMEM_START ? start : HIMEM_START,
				     end, E820_TYPE_RAM);
	}
	return n;
}

int x86_build_boot_pagetables(struct guest_mem *m)
{
	uint64_t *pml4 = guest_ptr(m, BOOT_PML4_ADDR, 0x1000);
	uint64_t *pdpt = guest_ptr(m, BOOT_PDPT_ADDR, 0x1000);
	uint64_t *pd = guest_ptr(m, BOOT_PD_ADDR, 4 * 0x1000);
	uint64_t *gdt = guest_ptr(m, BOOT_GDT_ADDR, 4 * sizeof(uint64_t));
	unsigned int i;

	if (!pml4 || !pdpt || !pd || !gdt)
		return -EFAULT;
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 0x1000ULL) | PTE_PRESENT | PTE_WRITE;
	/* 2048 entries of 2 MiB: the four PD pages are contiguous */
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;

	gdt[0] = 0;
	gdt[1] = GDT_CODE32;
	gdt[2] = GDT_CODE64;
	gdt[3] = GDT_DATA;
	return 0;
}

/*
 * Copy the command line to CMDLINE_ADDR. @max_len is the longest string
 * the kernel accepts, without the NUL.
 */
int boot_write_cmdline(struct guest_mem *m, const struct boot_input *in,
		       uint64_t max_len)
{
	return boot_write_cmdline_at(m, in, CMDLINE_ADDR, max_len);
}

bool boot_kernel_span_ok(const char *path, const char *what, uint64_t gpa, uint64_t len,
			 bool low_ok)
{
	uint64_t end = gpa + len;	/* callers checked it against RAM: no wrap */

	if (gpa >= HIMEM_START)
		return true;
	if (!low_ok) {
		kv_err("kernel %s: %s at 0x%llx overlaps kvmini's boot data below 1 MiB; link the kernel at or above 0x%llx",
		       path, what, (unsigned long long)gpa, (unsigned long long)HIMEM_START);
		return false;
	}
	if (gpa < LOW_KERNEL_START) {
		kv_err("kernel %s: %s at 0x%llx is below 0x%llx, where the real-mode interrupt vector table and kvmini's GDT are; link the kernel at or above 0x%llx",
		       path, what, (unsigned long long)gpa, (unsigned long long)LOW_KERNEL_START,
		       (unsigned long long)LOW_KERNEL_START);
		return false;
	}
	if (end > EBDA_START) {
		kv_err("kernel %s: %s [0x%llx, 0x%llx) reaches into [0x%llx, 1 MiB), the EBDA, VGA and ACPI table area; below 1 MiB a kernel must end by 0x%llx, or link it at or above 1 MiB",
		       path, what, (unsigned long long)gpa, (unsigned long long)end,
		       (unsigned long long)EBDA_START, (unsigned long long)EBDA_START);
		return false;
	}
	return true;
}

int boot_write_cmdline_at(struct guest_mem *m, const struct boot_input *in, uint64_t gpa,
			  uint64_t max_len)
{
	const char *s = in->cmdline ? in->cmdline : "";
	size_t len = strlen(s);
	char *dst;

	if (max_len > CMDLINE_MAX - 1)
		max_len = CMDLINE_MAX - 1;
	if (len > max_len) {
		kv_err("kernel command line is %zu bytes but kernel %s accepts at most %llu; shorten --cmdline",
		       len, in->kernel_path, (unsigned long long)max_len);
		return -E2BIG;
	}
	dst = guest_ptr(m, gpa, len + 1);
	if (!dst) {
		kv_err("--memory %s leaves no room for the kernel command line at 0x%llx; raise --memory",
		       boot_memory_text(in), (unsigned long long)gpa);
		return -ENOMEM;
	}
	memcpy(dst, s, len + 1);
	return 0;
}

/*
 * Place the initrd page-aligned as high as possible in low RAM, below
 * @limit (exclusive) and at or above @kernel_end, and copy it there.
 * No initrd: *gpa = 0.
 */
int boot_place_initrd(struct guest_mem *m, const struct boot_input *in,
		      uint64_t kernel_start, uint64_t kernel_end,
		      uint64_t limit, uint64_t *gpa)
{
	uint64_t low_end = guest_mem_low_end(m);
	uint64_t top = limit < low_end ? limit : low_end;
	uint64_t lowest = ALIGN_UP(kernel_end, 0x1000);
	const struct file_blob *initrd = in->initrds;
	uint64_t size, addr;
	void *dst;

	*gpa = 0;
	if (!in->nr_initrds)
		return 0;
	size = initrd->len;
	if (lowest < kernel_end || top < size || ALIGN_DOWN(top - size, 0x1000) < lowest) {
		if (top == low_end)
			kv_err("kernel %s (%llu MiB) and initrd %s (%llu MiB) do not fit in --memory %s; raise --memory",
			       in->kernel_path,
			       (unsigned long long)mib_up(kernel_end - kernel_start),
			       initrd->path, (unsigned long long)mib_up(size),
			       boot_memory_text(in));
		else
			kv_err("initrd %s (%llu MiB) does not fit between kernel %s (ends at 0x%llx) and the kernel's initrd limit 0x%llx; use a smaller initrd",
			       initrd->path, (unsigned long long)mib_up(size),
			       in->kernel_path, (unsigned long long)kernel_end,
			       (unsigned long long)limit);
		return -ENOMEM;
	}
	addr = ALIGN_DOWN(top - size, 0x1000);
	dst = guest_ptr(m, addr, size);
	if (!dst) {	/* top <= low_end, so this means a broken layout */
		kv_err("initrd %s: no guest RAM at 0x%llx; raise --memory",
		       initrd->path, (unsigned long long)addr);
		return -EFAULT;
	}
	memcpy(dst, initrd->data, size);
	*gpa = addr;
	return 0;
}

/*
 * Fill the fields every loader sets (loader type, command line, initrd,
 * e820, RSDP) in @bp and copy it to ZERO_PAGE_ADDR. The caller has put
 * the kernel's setup header, if any, into @bp->hdr already.
 */
int boot_write_zero_page(struct guest_mem *m, const struct boot_input *in,
			 struct boot_params *bp, uint64_t initrd_gpa)
{
	void *dst = guest_ptr(m, ZERO_PAGE_ADDR, sizeof(*bp));
	uint64_t size;

	if (!dst) {
		kv_err("--memory %s leaves no room for the zero page at 0x%llx; raise --memory",
		       boot_memory_text(in),
		       (unsigned long long)ZERO_PAGE_ADDR);
		return -ENOMEM;
	}
	bp->hdr.type_of_loader = 0xff;	/* undefined loader id */
	bp->hdr.cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = (uint32_t)(CMDLINE_ADDR >> 32);
	/* whatever the image's header said, these describe what we loaded */
	size = initrd_gpa ? in->initrds[0].len : 0;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->hdr.ramdisk_size = (uint32_t)size;
	bp->ext_ramdisk_size = (uint32_t)(size >> 32);
	bp->hdr.setup_data = 0;		/* no setup_data list */
	bp->acpi_rsdp_addr = in->rsdp_gpa;
	bp->e820_entries = x86_build_e820(m, bp->e820_table,
					  E820_MAX_ENTRIES_ZEROPAGE);
	memcpy(dst, bp, sizeof(*bp));
	return 0;
}
