/* Multiboot loader: detection, header checks, modules, the information structure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../err_capture.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "../../ram_split.h"
#include "layout.h"
#include "mem.h"
#include "util.h"

#define MiB (1ULL << 20)
#define KERNEL_PATH "/tmp/test-mb-kernel"
/* multiboot kernels get --cmdline alone, never the Linux defaults */
#define TEST_CMDLINE "mbtest=1"

#define MB_MAGIC	0x1badb002u
#define MB_EAX		0x2badb002u
#define MB_AOUT		(1u << 16)

/* Offsets in the information structure (specification 0.6.96). */
#define MBI_FLAGS		0
#define MBI_MEM_LOWER		4
#define MBI_MEM_UPPER		8
#define MBI_CMDLINE		16
#define MBI_MODS_COUNT		20
#define MBI_MODS_ADDR		24
#define MBI_MMAP_LENGTH		44
#define MBI_MMAP_ADDR		48
#define MBI_LOADER_NAME		64

/* --- guest memory --- */

static struct guest_mem mem;

static void mem_init(uint64_t size)
{
	guest_mem_free(&mem);
	assert_int_equal(test_mem_alloc(&mem, size, MMIO_HOLE_START), 0);
	/* garbage everywhere, so that zeroing is visible */
	memset(mem.base, 0xa5, mem.ram_size);
}

static int setup(void **state)
{
	(void)state;
	memset(&mem, 0, sizeof(mem));
	mem_init(64 * MiB);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	guest_mem_free(&mem);
	return 0;
}

static void *gp(uint64_t gpa, uint64_t len)
{
	void *p = guest_ptr(&mem, gpa, len);

	assert_non_null(p);
	return p;
}

static uint32_t g32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, gp(gpa, 4), 4);
	return v;
}

static uint64_t g64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, gp(gpa, 8), 8);
	return v;
}

static uint32_t info32(unsigned int off)
{
	return g32(MULTIBOOT_INFO_ADDR + off);
}

/* --- synthetic images --- */

static uint8_t img[0x4000];
static size_t img_len;

static void put32(size_t off, uint32_t v)
{
	memcpy(img + off, &v, 4);
}

static void mb_header(size_t off, uint32_t flags)
{
	put32(off, MB_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, (uint32_t)-(MB_MAGIC + flags));
}

/*
 * ELF32 i386: one PT_LOAD of 0x100 file bytes at 0x200000 with 0x3000
 * bytes in memory; the multiboot header starts the segment.
 */
#define ELF_PADDR	0x200000u
#define ELF_FILESZ	0x100u
#define ELF_MEMSZ	0x3000u
#define ELF_ENTRY	(ELF_PADDR + 0x10)

static void make_elf32(uint32_t mb_flags, uint16_t machine)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph = { 0 };
	size_t i;

	memset(img, 0, sizeof(img));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = ELF_ENTRY;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_offset = 0x1000;
	ph.p_vaddr = ELF_PADDR;
	ph.p_paddr = ELF_PADDR;
	ph.p_filesz = ELF_FILESZ;
	ph.p_memsz = ELF_MEMSZ;
	ph.p_align = 0x1000;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	for (i = 0; i < ELF_FILESZ; i++)
		img[0x1000 + i] = (uint8_t)(i * 3 + 1);
	mb_header(0x1000, mb_flags);
	img_len = 0x1000 + ELF_FILESZ;
}

/*
 * a.out kludge, no ELF: header at file offset 0x10, the file loaded
 * from offset 0 at 0x300000 up to 0x301800, bss to 0x304000.
 */
#define AOUT_HDR_OFF	0x10u
#define AOUT_LOAD	0x300000u
#define AOUT_LOAD_END	0x301800u
#define AOUT_BSS_END	0x304000u
#define AOUT_ENTRY	0x300040u

struct aout_addrs {
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static const struct aout_addrs aout_good = {
	AOUT_LOAD + AOUT_HDR_OFF, AOUT_LOAD, AOUT_LOAD_END, AOUT_BSS_END, AOUT_ENTRY,
};

static void make_aout(const struct aout_addrs *a)
{
	size_t i;

	for (i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7 + 5);
	mb_header(AOUT_HDR_OFF, MB_AOUT | 0x3);
	put32(AOUT_HDR_OFF + 12, a->header_addr);
	put32(AOUT_HDR_OFF + 16, a->load_addr);
	put32(AOUT_HDR_OFF + 20, a->load_end_addr);
	put32(AOUT_HDR_OFF + 24, a->bss_end_addr);
	put32(AOUT_HDR_OFF + 28, a->entry_addr);
	img_len = 0x2000;
}

/* --- modules --- */

static const char env_text[] = "NR_CPUS=1\nMEMSIZE=64\n";
static uint8_t data_mod[5000];
static struct file_blob mods[2];

static struct boot_input input(unsigned int nr_mods)
{
	struct boot_input in = {
		.kernel_path = KERNEL_PATH,
		.kernel = img,
		.kernel_len = img_len,
		.cmdline = "console=ttyS0 " TEST_CMDLINE,
		.cmdline_user = TEST_CMDLINE,
		.rsdp_gpa = ACPI_TABLES_ADDR,
	};
	size_t i;

	for (i = 0; i < sizeof(data_mod); i++)
		data_mod[i] = (uint8_t)(i ^ 0x5a);
	mods[0] = (struct file_blob){ "tests/env.txt", (const uint8_t *)env_text,
				      sizeof(env_text) - 1 };
	mods[1] = (struct file_blob){ "/abs/path/data.bin", data_mod, sizeof(data_mod) };
	in.initrds = nr_mods ? mods : NULL;
	in.nr_initrds = nr_mods;
	return in;
}

static int load(const struct boot_input *in, struct boot_entry *e)
{
	return x86_load_kernel(&mem, in, e);
}

/* Load must fail with @err and one "error" line holding @a and @b. */
static void expect_reject(const struct boot_input *in, int err, const char *a,
			  const char *b)
{
	struct boot_entry e;
	const char *text;
	int ret;

	err_begin();
	ret = load(in, &e);
	text = err_end();
	assert_int_equal(ret, err);
	if (count_lines(text) != 1 || !strstr(text, "error") ||
	    !strstr(text, a) || (b && !strstr(text, b)))
		fail_msg("unexpected error output: \"%s\" (wanted one line with \"%s\" and \"%s\")",
			 text, a, b ? b : "");
}

/* --- tests --- */

static void test_detect(void **state)
{
	(void)state;
	assert_string_equal(kernel_format_name(KFMT_MULTIBOOT), "multiboot");

	make_elf32(0x3, EM_386);
	assert_int_equal(kernel_detect(img, img_len), KFMT_MULTIBOOT);
	make_aout(&aout_good);
	assert_int_equal(kernel_detect(img, img_len), KFMT_MULTIBOOT);

	/* a bad checksum is still sent to the multiboot loader to explain */
	make_aout(&aout_good);
	put32(AOUT_HDR_OFF + 8, 0);
	assert_int_equal(kernel_detect(img, img_len), KFMT_MULTIBOOT);

	/* not 4-byte aligned: no header */
	memset(img, 0, sizeof(img));
	mb_header(0x102, 0);
	assert_int_equal(kernel_detect(img, 0x200), KFMT_UNKNOWN);

	/* must be complete within the first 8 KiB */
	memset(img, 0, sizeof(img));
	mb_header(8192 - 8, 0);
	assert_int_equal(kernel_detect(img, sizeof(img)), KFMT_UNKNOWN);
	memset(img, 0, sizeof(img));
	mb_header(8192 - 12, 0);
	assert_int_equal(kernel_detect(img, sizeof(img)), KFMT_MULTIBOOT);
	/* nor past the end of a short file */
	assert_int_equal(kernel_detect(img, 8192 - 4), KFMT_UNKNOWN);

	/* bzImages never go to the multiboot loader */
	memset(img, 0, sizeof(img));
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	memcpy(img + 0x202, "HdrS", 4);
	mb_header(0x400, 0);
	assert_int_equal(kernel_detect(img, sizeof(img)), KFMT_BZIMAGE);
}

/* An ELF64 PVH vmlinux that happens to hold the magic stays PVH. */
static void make_elf64_pvh(void)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { { 0 } };
	static const uint8_t note[] = {
		4, 0, 0, 0,  4, 0, 0, 0,  18, 0, 0, 0,	/* namesz, descsz, type */
		'X', 'e', 'n', 0,
		0x00, 0x00, 0x10, 0x00,			/* entry 0x100000 */
	};

	memset(img, 0, sizeof(img));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x100000;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph[0]);
	eh.e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x1000;
	ph[0].p_paddr = 0x100000;
	ph[0].p_filesz = 0x100;
	ph[0].p_memsz = 0x100;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = 0x800;
	ph[1].p_filesz = sizeof(note);
	ph[1].p_align = 4;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + 0x800, note, sizeof(note));
	mb_header(0x1000, 0);
	img_len = 0x1100;
}

static void test_detect_elf64(void **state)
{
	(void)state;
	make_elf64_pvh();
	assert_int_equal(kernel_detect(img, img_len), KFMT_ELF_PVH);
	/* without the note: a plain ELF64, entered in long mode as before */
	img[0x800 + 12] = 'Y';
	assert_int_equal(kernel_detect(img, img_len), KFMT_ELF64);
}

/* Every field of the information structure, for ELF32 with two modules. */
static void test_elf32_info(void **state)
{
	struct boot_e820_entry e820[32];
	struct boot_input in;
	struct boot_entry e;
	uint32_t flags, mmap, mods_addr, m0, m1;
	unsigned int i, n;

	(void)state;
	make_elf32(0x3, EM_386);
	in = input(2);
	assert_int_equal(load(&in, &e), 0);

	/* entry state */
	assert_int_equal(e.fmt, KFMT_MULTIBOOT);
	assert_int_equal(e.entry, ELF_ENTRY);
	assert_true(e.mode32);
	assert_int_equal(e.boot_magic, MB_EAX);
	assert_int_equal(e.boot_data, MULTIBOOT_INFO_ADDR);

	/* the segment, its bss zeroed */
	assert_memory_equal(gp(ELF_PADDR, ELF_FILESZ), img + 0x1000, ELF_FILESZ);
	for (i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		assert_int_equal(((uint8_t *)gp(ELF_PADDR, ELF_MEMSZ))[i], 0);

	flags = info32(MBI_FLAGS);
	assert_int_equal(flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(info32(MBI_MEM_LOWER), 639);
	assert_int_equal(info32(MBI_MEM_UPPER), (64 - 1) * 1024);

	/* mmap: 24-byte entries, size 20, the e820 map */
	n = x86_build_e820(&mem, e820, 32);
	assert_int_equal(info32(MBI_MMAP_LENGTH), n * 24);
	mmap = info32(MBI_MMAP_ADDR);
	assert_true(mmap >= MULTIBOOT_INFO_ADDR && mmap + n * 24 <= MULTIBOOT_INFO_END);
	for (i = 0; i < n; i++) {
		assert_int_equal(g32(mmap + i * 24), 20);
		assert_int_equal(g64(mmap + i * 24 + 4), e820[i].addr);
		assert_int_equal(g64(mmap + i * 24 + 12), e820[i].size);
		assert_int_equal(g32(mmap + i * 24 + 20), e820[i].type);
	}
	/* RAM from 1 MiB matches mem_upper */
	assert_int_equal(e820[n - 1].addr, HIMEM_START);
	assert_int_equal(e820[n - 1].size, (uint64_t)info32(MBI_MEM_UPPER) << 10);

	assert_string_equal(gp(info32(MBI_CMDLINE), sizeof(TEST_CMDLINE)), TEST_CMDLINE);
	assert_string_equal(gp(info32(MBI_LOADER_NAME), 7), "kvmini");

	/* modules: page-aligned, in order, right after the kernel's bss */
	assert_int_equal(info32(MBI_MODS_COUNT), 2);
	mods_addr = info32(MBI_MODS_ADDR);
	assert_true(mods_addr >= MULTIBOOT_INFO_ADDR && mods_addr + 32 <= MULTIBOOT_INFO_END);
	m0 = g32(mods_addr);
	assert_int_equal(m0, ALIGN_UP(ELF_PADDR + ELF_MEMSZ, 0x1000));
	assert_int_equal(g32(mods_addr + 4), m0 + mods[0].len);
	assert_memory_equal(gp(m0, mods[0].len), env_text, mods[0].len);
	assert_string_equal(gp(g32(mods_addr + 8), 8), "env.txt");
	m1 = g32(mods_addr + 16);
	assert_int_equal(m1, ALIGN_UP(m0 + mods[0].len, 0x1000));
	assert_int_equal(g32(mods_addr + 20), m1 + sizeof(data_mod));
	assert_memory_equal(gp(m1, sizeof(data_mod)), data_mod, sizeof(data_mod));
	assert_string_equal(gp(g32(mods_addr + 24), 9), "data.bin");
	assert_int_equal(g32(mods_addr + 28), 0);
}

static void test_aout_load(void **state)
{
	struct boot_input in;
	struct boot_entry e;
	uint8_t *p;
	unsigned int i;

	(void)state;
	make_aout(&aout_good);
	in = input(1);
	assert_int_equal(load(&in, &e), 0);
	assert_int_equal(e.entry, AOUT_ENTRY);
	assert_int_equal(e.boot_magic, MB_EAX);
	p = gp(AOUT_LOAD, AOUT_BSS_END - AOUT_LOAD);
	assert_memory_equal(p, img, AOUT_LOAD_END - AOUT_LOAD);
	for (i = AOUT_LOAD_END - AOUT_LOAD; i < AOUT_BSS_END - AOUT_LOAD; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(g32(info32(MBI_MODS_ADDR)), AOUT_BSS_END);

	/* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss */
	{
		struct aout_addrs a = aout_good;

		a.load_end_addr = 0;
		a.bss_end_addr = 0;
		make_aout(&a);
		in = input(0);
		assert_int_equal(load(&in, &e), 0);
		assert_memory_equal(gp(AOUT_LOAD, img_len), img, img_len);
		assert_int_equal(info32(MBI_MODS_COUNT), 0);
		assert_true(info32(MBI_FLAGS) & (1u << 3));
	}
}

/* aout_good moved down by @down bytes */
static struct aout_addrs aout_shifted(uint32_t down)
{
	struct aout_addrs a = aout_good;

	a.header_addr -= down;
	a.load_addr -= down;
	a.load_end_addr -= down;
	a.bss_end_addr -= down;
	a.entry_addr -= down;
	return a;
}

static bool clear_of(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

/*
 * Kernels linked below 1 MiB (real-mode test payloads at 0x8000): they load
 * there, their modules go from 1 MiB, and the command line and information
 * go where the kernel is not, also when it covers their usual place.
 */
static void test_low_kernel(void **state)
{
	/* where, and how far its bss goes (0: as aout_good) */
	static const struct {
		uint32_t load, bss_end;
		uint64_t data;	/* where the command line and information go */
	} cases[] = {
		{ 0x8000, 0, CMDLINE_ADDR },
		{ 0x1000, 0, CMDLINE_ADDR },
		{ 0x9b000, 0, CMDLINE_ADDR },
		{ 0x1e000, 0, 0x7f000 },	/* over the usual place: below the EBDA */
		{ 0x30000, 0, 0x7f000 },
		{ 0x21000, 0x9f000, 0x1000 },	/* over both: below it */
		{ 0x8000, 0x90000, 0 },		/* nearly all low RAM: after the modules */
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aout_addrs a = aout_shifted(AOUT_LOAD - cases[i].load);
		uint32_t mbi, cmdline, mods, mmap;
		struct boot_input in;
		struct boot_entry e;

		if (cases[i].bss_end)
			a.bss_end_addr = cases[i].bss_end;
		make_aout(&a);
		in = input(2);
		assert_int_equal(load(&in, &e), 0);
		assert_int_equal(e.entry, a.entry_addr);
		assert_memory_equal(gp(a.load_addr, a.load_end_addr - a.load_addr), img,
				    a.load_end_addr - a.load_addr);
		mbi = (uint32_t)e.boot_data;
		assert_int_equal(e.boot_data, mbi);
		cmdline = g32(mbi + MBI_CMDLINE);
		mods = g32(mbi + MBI_MODS_ADDR);
		mmap = g32(mbi + MBI_MMAP_ADDR);
		assert_string_equal(gp(cmdline, sizeof(TEST_CMDLINE)), TEST_CMDLINE);
		assert_true(clear_of(mbi, 88, a.load_addr, a.bss_end_addr - a.load_addr));
		assert_true(clear_of(cmdline, sizeof(TEST_CMDLINE), a.load_addr,
				     a.bss_end_addr - a.load_addr));
		assert_true(clear_of(mods, 32, a.load_addr, a.bss_end_addr - a.load_addr));
		assert_true(clear_of(mmap, g32(mbi + MBI_MMAP_LENGTH), a.load_addr,
				     a.bss_end_addr - a.load_addr));
		/* the modules from 1 MiB, in order */
		assert_int_equal(g32(mods), HIMEM_START);
		assert_memory_equal(gp(g32(mods + 16), sizeof(data_mod)), data_mod,
				    sizeof(data_mod));
		if (cases[i].data) {
			assert_int_equal(cmdline, cases[i].data);
		} else {
			/* past the last module, page-aligned */
			assert_true(cmdline >= g32(mods + 16 + 4));
			assert_int_equal(cmdline & 0xfff, 0);
		}
		assert_int_equal(mbi, cmdline + CMDLINE_MAX);
	}
}

static void test_reject_checksum(void **state)
{
	struct boot_input in;

	(void)state;
	make_aout(&aout_good);
	put32(AOUT_HDR_OFF + 8, 0x12345678);
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "checksum");

	make_elf32(0x3, EM_386);
	put32(0x1000 + 4, 0x7);		/* flags changed, checksum not */
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "checksum");
}

static void reject_aout(const struct aout_addrs *a, int err, const char *x,
			const char *y)
{
	struct boot_input in;

	make_aout(a);
	in = input(0);
	expect_reject(&in, err, x, y);
}

static void test_reject_aout_inconsistent(void **state)
{
	struct aout_addrs a;

	(void)state;
	/* load_addr above header_addr */
	a = aout_good;
	a.load_addr = a.header_addr + 4;
	reject_aout(&a, -ENOEXEC, KERNEL_PATH, "inconsistent");
	/* the image would start before the file does */
	a = aout_good;
	a.load_addr = a.header_addr - AOUT_HDR_OFF - 0x1000;
	reject_aout(&a, -ENOEXEC, KERNEL_PATH, "inconsistent");
	/* load_end_addr not above load_addr */
	a = aout_good;
	a.load_end_addr = a.load_addr;
	reject_aout(&a, -ENOEXEC, "load_end_addr", "inconsistent");
	/* bss ends before the loaded part does */
	a = aout_good;
	a.bss_end_addr = a.load_end_addr - 4;
	reject_aout(&a, -ENOEXEC, "bss_end_addr", "inconsistent");
	/* entry outside the loaded bytes */
	a = aout_good;
	a.entry_addr = a.load_end_addr;
	reject_aout(&a, -ENOEXEC, "entry_addr", "inconsistent");
	a.entry_addr = a.load_addr - 1;
	reject_aout(&a, -ENOEXEC, "entry_addr", "inconsistent");
}

static void test_reject_truncated(void **state)
{
	struct boot_input in;
	struct aout_addrs a;

	(void)state;
	/* load_end_addr beyond the end of the file */
	a = aout_good;
	a.load_end_addr = a.load_addr + 0x2001;
	a.bss_end_addr = 0;
	make_aout(&a);
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	/* hostile: load_end_addr at 4 GiB - 1 */
	a.load_end_addr = 0xffffffff;
	reject_aout(&a, -ENOEXEC, KERNEL_PATH, "truncated");

	/* the file ends inside the address fields */
	make_aout(&aout_good);
	in = input(0);
	in.kernel_len = AOUT_HDR_OFF + 20;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");

	/* ELF32: segment bytes past the end of the file */
	make_elf32(0x3, EM_386);
	in = input(0);
	in.kernel_len = 0x1000 + ELF_FILESZ - 1;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	/* ELF32: program headers past the end of the file */
	mb_header(sizeof(Elf32_Ehdr), 0x3);	/* a header inside the shorter file */
	in.kernel_len = sizeof(Elf32_Ehdr) + 16;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
}

static void test_reject_outside_ram(void **state)
{
	struct boot_input in;
	struct aout_addrs a;

	(void)state;
	/* 256 MiB into 64 MiB of RAM */
	a = aout_good;
	a.header_addr += 0x10000000 - AOUT_LOAD;
	a.load_addr += 0x10000000 - AOUT_LOAD;
	a.load_end_addr += 0x10000000 - AOUT_LOAD;
	a.bss_end_addr += 0x10000000 - AOUT_LOAD;
	a.entry_addr += 0x10000000 - AOUT_LOAD;
	reject_aout(&a, -ENOMEM, KERNEL_PATH, "raise --memory");
	/* bss up to 4 GiB - 4 KiB */
	a = aout_good;
	a.bss_end_addr = 0xfffff000;
	reject_aout(&a, -ENOMEM, KERNEL_PATH, "raise --memory");
	/* below 1 MiB: over the interrupt vector table and GDT, or into the EBDA */
	a = aout_shifted(0x300000 - 0x800);
	reject_aout(&a, -ENOEXEC, KERNEL_PATH, "interrupt vector table");
	a = aout_shifted(0x300000 - 0x9e000);
	reject_aout(&a, -ENOEXEC, KERNEL_PATH, "EBDA");

	/* ELF32 segment above RAM */
	make_elf32(0x3, EM_386);
	put32(sizeof(Elf32_Ehdr) + offsetof(Elf32_Phdr, p_paddr), 0x7f000000);
	in = input(0);
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "raise --memory");
}

static void test_reject_format(void **state)
{
	struct boot_input in;

	(void)state;
	/* a requirement kvmini does not know (bit 3) */
	make_elf32(0x3 | (1u << 3), EM_386);
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "bits 3-15");
	/* no load addresses and not an ELF */
	memset(img, 0, sizeof(img));
	mb_header(0x40, 0x3);
	img_len = 0x1000;
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "not ELF");
	/* ELF32 for another machine */
	make_elf32(0x3, EM_ARM);
	in = input(0);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "i386");
}

/* A video mode request: no display here, so a warning and no video info. */
static void test_video_flag(void **state)
{
	struct boot_input in;
	struct boot_entry e;
	const char *text;

	(void)state;
	make_elf32(0x3 | (1u << 2), EM_386);
	in = input(0);
	err_begin();
	assert_int_equal(load(&in, &e), 0);
	text = err_end();
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "video"));
	assert_int_equal(info32(MBI_FLAGS) & (3u << 11), 0);
}

static void test_modules_dont_fit(void **state)
{
	static uint8_t big[20 << 20];
	struct boot_input in;

	(void)state;
	mem_init(16 * MiB);
	make_elf32(0x3, EM_386);
	in = input(2);
	mods[1].data = big;
	mods[1].len = sizeof(big);
	expect_reject(&in, -ENOMEM, "/abs/path/data.bin", "raise --memory");
	/* the same fits with more RAM */
	mem_init(64 * MiB);
	{
		struct boot_entry e;

		assert_int_equal(load(&in, &e), 0);
	}
}

/* Other formats take one initrd: a second one is an error, not ignored. */
static void test_several_initrds_elf64(void **state)
{
	struct boot_input in;

	(void)state;
	make_elf64_pvh();
	in = input(2);
	expect_reject(&in, -EINVAL, "--initrd given 2 times", "only multiboot");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_detect_elf64),
		cmocka_unit_test_setup_teardown(test_elf32_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aout_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_aout_inconsistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_low_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_video_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules_dont_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_initrds_elf64, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
