/*
 * ELF kernel loader: x86-64 vmlinux and kvmini firmware (entered in long
 * mode with a zero page) and PVH kernels (entered in 32-bit protected mode
 * with a struct hvm_start_info, Xen's arch-x86/hvm/start_info.h ABI).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "loader.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18
#define HVM_START_MAGIC			0x336ec578
#define HVM_START_VERSION		1

/* Xen public ABI, version 1: all addresses are guest physical. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version 1 */
	uint32_t memmap_entries;	/* version 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* Types are the e820 ones. */
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm memmap ABI");

/* Layout of the page at PVH_START_INFO_ADDR (it ends at the zero page). */
#define PVH_MODLIST_ADDR	(PVH_START_INFO_ADDR + sizeof(struct hvm_start_info))
#define PVH_MEMMAP_ADDR		(PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry))
#define PVH_MEMMAP_MAX \
	((ZERO_PAGE_ADDR - PVH_MEMMAP_ADDR) / sizeof(struct hvm_memmap_table_entry))

/* Program header fields that matter, for ELF32 and ELF64 alike. */
struct elf_seg {
	uint32_t type;
	uint64_t offset;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

/* The parsed file header; checked for bounds, not for machine or type. */
struct elf_info {
	bool is64;
	uint16_t type;
	uint16_t machine;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phnum;
	bool has_pvh;
	uint64_t pvh_entry;
	bool has_kvmini_note;
	bool has_linux_note;	/* a note named "Linux": vmlinux has some */
};

/* Is [off, off+len) inside a buffer of @size bytes? Overflow-safe. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Program header @i; the caller checked the table is inside the file. */
static void elf_read_seg(const uint8_t *buf, const struct elf_info *e,
			 unsigned int i, struct elf_seg *s)
{
	if (e->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + e->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		s->type = ph.p_type;
		s->offset = ph.p_offset;
		s->paddr = ph.p_paddr;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->align = ph.p_align;
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, buf + e->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		s->type = ph.p_type;
		s->offset = ph.p_offset;
		s->paddr = ph.p_paddr;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->align = ph.p_align;
	}
}

/* Walk the notes of one PT_NOTE segment, remembering the two we use. */
static void elf_scan_notes(const uint8_t *buf, size_t len,
			   const struct elf_seg *s, struct elf_info *e)
{
	uint64_t align = s->align == 8 ? 8 : 4;
	uint64_t pos, end;

	if (!in_file(s->offset, s->filesz, len))
		return;
	pos = s->offset;
	end = s->offset + s->filesz;
	while (end - pos >= 12) {
		uint64_t namesz = get_le32(buf + pos);
		uint64_t descsz = get_le32(buf + pos + 4);
		uint32_t type = get_le32(buf + pos + 8);
		uint64_t name = pos + 12;
		uint64_t desc, next;

		/* both sizes are < 2^32: no overflow in 64-bit sums */
		desc = name + ALIGN_UP(namesz, align);
		next = desc + ALIGN_UP(descsz, align);
		if (desc > end || descsz > end - desc)
			return;

		if (namesz == 4 && !memcmp(buf + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			/* Linux emits a 4- or 8-byte value */
			if (descsz == 4) {
				e->pvh_entry = get_le32(buf + desc);
				e->has_pvh = true;
			} else if (descsz == 8) {
				e->pvh_entry = get_le64(buf + desc);
				e->has_pvh = true;
			}
		} else if ((namesz == 7 && !memcmp(buf + name, "kvmini", 7)) ||
			   (namesz == 6 && !memcmp(buf + name, "kvmini", 6))) {
			e->has_kvmini_note = true;
		} else if (namesz == 6 && !memcmp(buf + name, "Linux", 6)) {
			e->has_linux_note = true;
		}
		if (next >= end)
			return;
		pos = next;
	}
}

/*
 * Parse the file header and the notes. Returns false if the file is too
 * short or malformed to go further (the header and program header table
 * must be inside the file).
 */
static bool elf_parse(const uint8_t *buf, size_t len, struct elf_info *e)
{
	unsigned int i;
	uint64_t phentsize;

	memset(e, 0, sizeof(*e));
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return false;
	if (buf[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (len < sizeof(eh))
			return false;
		memcpy(&eh, buf, sizeof(eh));
		e->is64 = true;
		e->type = eh.e_type;
		e->machine = eh.e_machine;
		e->entry = eh.e_entry;
		e->phoff = eh.e_phoff;
		e->phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize != sizeof(Elf64_Phdr))
			return false;
	} else if (buf[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (len < sizeof(eh))
			return false;
		memcpy(&eh, buf, sizeof(eh));
		e->type = eh.e_type;
		e->machine = eh.e_machine;
		e->entry = eh.e_entry;
		e->phoff = eh.e_phoff;
		e->phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize != sizeof(Elf32_Phdr))
			return false;
	} else {
		return false;
	}
	if (buf[EI_DATA] != ELFDATA2LSB)
		return false;
	/* phnum < 2^16 and phentsize < 2^7: the product cannot overflow */
	if (!in_file(e->phoff, phentsize * e->phnum, len))
		return false;
	for (i = 0; i < e->phnum; i++) {
		struct elf_seg s;

		elf_read_seg(buf, e, i, &s);
		if (s.type == PT_NOTE)
			elf_scan_notes(buf, len, &s, e);
	}
	return true;
}

enum kernel_format elf_detect(const uint8_t *buf, size_t len)
{
	struct elf_info e;

	/* A damaged ELF is still an ELF: elf_load explains what is wrong. */
	if (!elf_parse(buf, len, &e))
		return KFMT_ELF64;
	if (e.has_pvh)
		return KFMT_ELF_PVH;
	if (e.has_kvmini_note)
		return KFMT_FIRMWARE;
	return KFMT_ELF64;
}

bool elf_is_linux(const uint8_t *buf, size_t len)
{
	struct elf_info e;

	if (!elf_parse(buf, len, &e) || e.has_kvmini_note)
		return false;
	return e.has_linux_note || e.has_pvh;
}

static const char *elf_machine_name(uint16_t machine)
{
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_X86_64:
		return "x86-64";
	case EM_AARCH64:
		return "arm64";
	case EM_ARM:
		return "32-bit arm";
	case EM_RISCV:
		return "riscv";
	case EM_PPC:
		return "ppc";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "mips";
	case EM_SPARCV9:
		return "sparc64";
	case EM_LOONGARCH:
		return "loongarch";
	}
	return NULL;
}

/* Header checks that can fail, each with its own message. */
static int elf_check_header(const struct boot_input *in, struct elf_info *e,
			    enum kernel_format fmt)
{
	const uint8_t *buf = in->kernel;
	size_t len = in->kernel_len;
	const char *path = in->kernel_path;
	const char *mname;

	if (!elf_parse(buf, len, e)) {
		kv_err("kernel %s is a truncated or malformed ELF file (%zu bytes); the file is damaged",
		       path, len);
		return -ENOEXEC;
	}
	/* ELF32 is fine for PVH kernels, which start in 32-bit mode */
	if (e->machine != EM_X86_64 &&
	    !(e->machine == EM_386 && !e->is64 && fmt == KFMT_ELF_PVH)) {
		mname = elf_machine_name(e->machine);
		if (e->machine == EM_386)
			kv_err("kernel %s is a 32-bit ELF for %s, not x86-64, and has no PVH entry note; pass a 64-bit kernel",
			       path, mname);
		else if (mname)
			kv_err("kernel %s is an ELF for %s, not x86-64; pass an x86-64 kernel",
			       path, mname);
		else
			kv_err("kernel %s is an ELF for machine %u, not x86-64; pass an x86-64 kernel",
			       path, e->machine);
		return -ENOEXEC;
	}
	if (e->machine == EM_X86_64 && !e->is64) {
		kv_err("kernel %s is a 32-bit ELF for x86-64 (x32); pass a 64-bit kernel",
		       path);
		return -ENOEXEC;
	}
	if (e->type != ET_EXEC) {
		kv_err("kernel %s is an ELF of type %u, not an executable; pass vmlinux, not a module or shared object",
		       path, e->type);
		return -ENOEXEC;
	}
	if (fmt == KFMT_ELF_PVH && e->pvh_entry >= FOUR_GIB) {
		kv_err("kernel %s: PVH entry point 0x%llx is above 4 GiB; the file is damaged",
		       path, (unsigned long long)e->pvh_entry);
		return -ENOEXEC;
	}
	return 0;
}

/* Validate and copy every PT_LOAD; report the span loaded in start..end. */
static int elf_load_segments(struct guest_mem *m, const struct boot_input *in,
			     const struct elf_info *e, bool low_ok, uint64_t *start,
			     uint64_t *end)
{
	const char *path = in->kernel_path;
	unsigned int i, nr_loaded = 0;

	*start = UINT64_MAX;
	*end = 0;
	for (i = 0; i < e->phnum; i++) {
		struct elf_seg s;
		char what[32];
		uint8_t *dst;

		elf_read_seg(in->kernel, e, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		if (!in_file(s.offset, s.filesz, in->kernel_len)) {
			kv_err("kernel %s is truncated: segment %u needs file bytes [0x%llx, +0x%llx) of %zu; the file is damaged",
			       path, i, (unsigned long long)s.offset,
			       (unsigned long long)s.filesz, in->kernel_len);
			return -ENOEXEC;
		}
		if (s.filesz > s.memsz) {
			kv_err("kernel %s: segment %u has more file bytes (0x%llx) than memory bytes (0x%llx); the file is damaged",
			       path, i, (unsigned long long)s.filesz,
			       (unsigned long long)s.memsz);
			return -ENOEXEC;
		}
		dst = guest_ptr(m, s.paddr, s.memsz);
		if (!dst) {
			kv_err("kernel %s: segment %u [0x%llx, +%llu MiB) is outside guest RAM (--memory %s); raise --memory",
			       path, i, (unsigned long long)s.paddr,
			       (unsigned long long)mib_up(s.memsz),
			       boot_memory_text(in));
			return -ENOMEM;
		}
		/* kvmini's own boot data lives below 1 MiB */
		snprintf(what, sizeof(what), "segment %u", i);
		if (!boot_kernel_span_ok(path, what, s.paddr, s.memsz, low_ok))
			return -ENOEXEC;
		memcpy(dst, in->kernel + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
		if (s.paddr < *start)
			*start = s.paddr;
		/* guest_ptr succeeded, so paddr + memsz does not wrap */
		if (s.paddr + s.memsz > *end)
			*end = s.paddr + s.memsz;
		nr_loaded++;
	}
	if (!nr_loaded) {
		kv_err("kernel %s has no loadable segments; the file is damaged",
		       path);
		return -ENOEXEC;
	}
	return 0;
}

static int elf_write_start_info(struct guest_mem *m,
				const struct boot_input *in,
				uint64_t initrd_gpa)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = CMDLINE_ADDR,
		.rsdp_paddr = in->rsdp_gpa,
		.memmap_paddr = PVH_MEMMAP_ADDR,
	};
	struct hvm_modlist_entry mod = { 0 };
	struct boot_e820_entry e820[PVH_MEMMAP_MAX];
	struct hvm_memmap_table_entry *map;
	uint8_t *dst;
	unsigned int i, n;

	n = x86_build_e820(m, e820, PVH_MEMMAP_MAX);
	dst = guest_ptr(m, PVH_START_INFO_ADDR,
			PVH_MEMMAP_ADDR - PVH_START_INFO_ADDR +
			n * sizeof(*map));
	if (!dst) {
		kv_err("--memory %s leaves no room for the PVH start info at 0x%llx; raise --memory",
		       boot_memory_text(in),
		       (unsigned long long)PVH_START_INFO_ADDR);
		return -ENOMEM;
	}
	si.memmap_entries = n;
	if (initrd_gpa) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		mod.paddr = initrd_gpa;
		mod.size = in->initrds[0].len;
	}
	memcpy(dst, &si, sizeof(si));
	memcpy(dst + (PVH_MODLIST_ADDR - PVH_START_INFO_ADDR), &mod, sizeof(mod));
	map = (struct hvm_memmap_table_entry *)
		(dst + (PVH_MEMMAP_ADDR - PVH_START_INFO_ADDR));
	for (i = 0; i < n; i++) {
		struct hvm_memmap_table_entry ent = {
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = e820[i].type,
		};

		memcpy(&map[i], &ent, sizeof(ent));
	}
	return 0;
}

/*
 * A minimal zero page for kernels entered at their 64-bit entry point
 * without a setup header of their own (vmlinux, firmware): boot_flag and
 * magic make it look like the zero page a bzImage would get.
 */
static int elf_write_zero_page(struct guest_mem *m, const struct boot_input *in,
			       uint64_t initrd_gpa)
{
	struct boot_params bp;

	memset(&bp, 0, sizeof(bp));
	bp.hdr.boot_flag = 0xaa55;
	bp.hdr.header = 0x53726448;	/* "HdrS" */
	bp.hdr.loadflags = LOADED_HIGH;
	bp.hdr.initrd_addr_max = (uint32_t)(FOUR_GIB - 1);
	bp.hdr.cmdline_size = CMDLINE_MAX - 1;
	return boot_write_zero_page(m, in, &bp, initrd_gpa);
}

int elf32_load_image(struct guest_mem *m, const struct boot_input *in,
		     uint64_t *entry, uint64_t *start, uint64_t *end)
{
	const char *path = in->kernel_path;
	const char *mname;
	struct elf_info e;
	int ret;

	if (!elf_parse(in->kernel, in->kernel_len, &e)) {
		kv_err("kernel %s is a truncated or malformed ELF file (%zu bytes); the file is damaged",
		       path, in->kernel_len);
		return -ENOEXEC;
	}
	if (e.is64 || e.machine != EM_386) {
		mname = elf_machine_name(e.machine);
		kv_err("kernel %s has a multiboot header but is a %s ELF for %s; a multiboot kernel without load addresses (header flags bit 16) must be an ELF32 for i386",
		       path, e.is64 ? "64-bit" : "32-bit", mname ? mname : "another machine");
		return -ENOEXEC;
	}
	if (e.type != ET_EXEC) {
		kv_err("kernel %s is an ELF of type %u, not an executable; pass the linked kernel image",
		       path, e.type);
		return -ENOEXEC;
	}
	ret = elf_load_segments(m, in, &e, true, start, end);
	if (ret)
		return ret;
	*entry = e.entry;
	return 0;
}

/*
 * KFMT_ELF64 and KFMT_FIRMWARE: long mode at e_entry (physical for
 * vmlinux), identity paging, RSI = zero page. Firmware images get exactly
 * the same contract so they can read e820, command line and initrd from it.
 * KFMT_ELF_PVH: 32-bit protected mode at the PHYS32_ENTRY note, paging
 * off, EBX = hvm_start_info.
 */
int elf_load(struct guest_mem *m, const struct boot_input *in,
	     enum kernel_format fmt, struct boot_entry *out)
{
	struct elf_info e;
	uint64_t start, end, initrd_gpa;
	int ret;

	ret = elf_check_header(in, &e, fmt);
	if (ret)
		return ret;
	ret = elf_load_segments(m, in, &e, false, &start, &end);
	if (ret)
		return ret;
	ret = boot_place_initrd(m, in, start, end, FOUR_GIB, &initrd_gpa);
	if (ret)
		return ret;
	ret = boot_write_cmdline(m, in, CMDLINE_MAX - 1);
	if (ret)
		return ret;

	out->fmt = fmt;
	if (fmt == KFMT_ELF_PVH) {
		ret = elf_write_start_info(m, in, initrd_gpa);
		out->entry = e.pvh_entry;
		out->boot_data = PVH_START_INFO_ADDR;
		out->mode32 = true;
	} else {
		ret = elf_write_zero_page(m, in, initrd_gpa);
		out->entry = e.entry;
		out->boot_data = ZERO_PAGE_ADDR;
		out->mode32 = false;
	}
	return ret;
}
