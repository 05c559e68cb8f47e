/* Kernel loaders, e820, zero page, PVH start info and boot page tables. */
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
#define GiB (1ULL << 30)
#define KERNEL_PATH "/tmp/test-kernel"
#define INITRD_PATH "/tmp/test-initrd"
#define TEST_CMDLINE "console=ttyS0 root=/dev/vda"
#define TEST_RSDP 0xe0000ULL

/* Exactly one "kvmini: error:" line mentioning @a (and @b if not NULL). */
static void assert_one_error(const char *text, const char *a, const char *b)
{
	if (count_lines(text) != 1 || !strstr(text, "error") ||
	    !strstr(text, a) || (b && !strstr(text, b)))
		fail_msg("unexpected error output: \"%s\" (wanted one line with \"%s\" and \"%s\")",
			 text, a, b ? b : "");
}

/* --- guest memory --- */

static struct guest_mem mem;

static void mem_init(uint64_t size)
{
	guest_mem_free(&mem);
	assert_int_equal(test_mem_alloc(&mem, size, MMIO_HOLE_START), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&mem, 0, sizeof(mem));
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

static struct boot_params *zero_page(void)
{
	return gp(ZERO_PAGE_ADDR, sizeof(struct boot_params));
}

/* --- synthetic images --- */

static uint8_t initrd_data[MiB + 100];
static struct file_blob initrd_blob;

static struct boot_input input(const uint8_t *kernel, size_t len, bool initrd)
{
	struct boot_input in = {
		.kernel_path = KERNEL_PATH,
		.kernel = kernel,
		.kernel_len = len,
		.cmdline = TEST_CMDLINE,
		.rsdp_gpa = TEST_RSDP,
	};
	size_t i;

	if (initrd) {
		for (i = 0; i < sizeof(initrd_data); i++)
			initrd_data[i] = (uint8_t)(i * 7 + 3);
		initrd_blob.path = INITRD_PATH;
		initrd_blob.data = initrd_data;
		initrd_blob.len = sizeof(initrd_data);
		in.initrds = &initrd_blob;
		in.nr_initrds = 1;
	}
	return in;
}

#define BZ_SETUP_SECTS	4
#define BZ_PM_OFFSET	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_LEN	8192
#define BZ_LEN		(BZ_PM_OFFSET + BZ_PM_LEN)
#define BZ_INIT_SIZE	(2 * MiB)

static uint8_t bz[BZ_LEN];

static struct setup_header *bz_hdr(void)
{
	return (struct setup_header *)(bz + 0x1f1);
}

/* A minimal valid bzImage: protocol 2.15, 64-bit, relocatable. */
static void make_bzimage(void)
{
	struct setup_header *h = bz_hdr();
	unsigned int i;

	memset(bz, 0, sizeof(bz));
	h->setup_sects = BZ_SETUP_SECTS;
	h->syssize = BZ_PM_LEN / 16;
	h->boot_flag = 0xaa55;
	bz[0x200] = 0xeb;			/* jmp rel8 */
	bz[0x201] = 0x6a;			/* header ends at 0x26c */
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->kernel_version = 0x1234;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = KERNEL_LOAD_DEFAULT;
	h->init_size = BZ_INIT_SIZE;
	for (i = 0; i < BZ_PM_LEN; i++)
		bz[BZ_PM_OFFSET + i] = (uint8_t)(i ^ 0x5a);
}

static void test_bzimage_valid(void **state)
{
	struct boot_input in;
	struct boot_entry e;
	struct boot_params *bp;
	uint64_t initrd_gpa;

	(void)state;
	mem_init(256 * MiB);
	make_bzimage();
	in = input(bz, sizeof(bz), true);
	assert_int_equal(kernel_detect(bz, sizeof(bz)), KFMT_BZIMAGE);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	assert_int_equal(e.fmt, KFMT_BZIMAGE);
	assert_int_equal(e.entry, KERNEL_LOAD_DEFAULT + 0x200);
	assert_int_equal(e.boot_data, ZERO_PAGE_ADDR);
	assert_false(e.mode32);

	/* protected-mode part at pref_address */
	assert_memory_equal(gp(KERNEL_LOAD_DEFAULT, BZ_PM_LEN), bz + BZ_PM_OFFSET,
			    BZ_PM_LEN);

	bp = zero_page();
	/* the setup header is copied */
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.kernel_version, 0x1234);
	assert_int_equal(bp->hdr.init_size, BZ_INIT_SIZE);
	assert_int_equal(bp->hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	/* loader fields */
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags & (LOADED_HIGH | CAN_USE_HEAP),
			 LOADED_HIGH | CAN_USE_HEAP);
	assert_int_equal(bp->hdr.cmd_line_ptr, CMDLINE_ADDR);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_string_equal(gp(CMDLINE_ADDR, sizeof(TEST_CMDLINE)), TEST_CMDLINE);
	assert_int_equal(bp->acpi_rsdp_addr, TEST_RSDP);
	/* initrd: page aligned, as high as possible in 256 MiB */
	initrd_gpa = bp->hdr.ramdisk_image;
	assert_int_equal(initrd_gpa, (256 * MiB - sizeof(initrd_data)) & ~0xfffULL);
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd_data));
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_memory_equal(gp(initrd_gpa, sizeof(initrd_data)), initrd_data,
			    sizeof(initrd_data));
	/* e820 */
	assert_int_equal(bp->e820_entries, 4);
	assert_int_equal(bp->e820_table[0].addr, 0);
	assert_int_equal(bp->e820_table[0].size, EBDA_START);
	assert_int_equal(bp->e820_table[0].type, 1);
	assert_int_equal(bp->e820_table[3].addr, HIMEM_START);
	assert_int_equal(bp->e820_table[3].size, 256 * MiB - HIMEM_START);
	assert_int_equal(bp->e820_table[3].type, 1);
	/* nothing past the setup header leaks from the image */
	assert_int_equal(bp->sentinel, 0);
}

/* The header is copied only up to 0x202 + byte at 0x201. */
static void test_bzimage_header_end(void **state)
{
	struct boot_input in;
	struct boot_entry e;

	(void)state;
	mem_init(64 * MiB);
	make_bzimage();
	bz[0x201] = 0x66;		/* ends at 0x268: no kernel_info_offset */
	bz_hdr()->kernel_info_offset = 0xdeadbeef;
	/* loader-owned fields are not taken from the image */
	bz_hdr()->ramdisk_image = 0x1234000;
	bz_hdr()->ramdisk_size = 0x5000;
	bz_hdr()->setup_data = 0x9000;
	bz_hdr()->cmd_line_ptr = 0x4444;
	bz_hdr()->type_of_loader = 0x12;
	in = input(bz, sizeof(bz), false);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	assert_int_equal(zero_page()->hdr.kernel_info_offset, 0);
	assert_int_equal(zero_page()->hdr.ramdisk_image, 0);
	assert_int_equal(zero_page()->hdr.ramdisk_size, 0);
	assert_int_equal(zero_page()->hdr.init_size, BZ_INIT_SIZE);
	assert_int_equal(zero_page()->hdr.setup_data, 0);
	assert_int_equal(zero_page()->hdr.cmd_line_ptr, CMDLINE_ADDR);
	assert_int_equal(zero_page()->hdr.type_of_loader, 0xff);

	/* a header end past struct setup_header is clipped to it */
	make_bzimage();
	bz[0x201] = 0xff;
	memset(bz + 0x1f1 + sizeof(struct setup_header), 0xee, 0x40);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	{
		const uint8_t *zp = (const uint8_t *)zero_page();
		unsigned int i;

		for (i = 0x1f1 + sizeof(struct setup_header); i < 0x2d0; i++)
			assert_int_equal(zp[i], 0);
	}
}

/* setup_sects == 0 means 4; pref_address below 1 MiB falls back to 16 MiB. */
static void test_bzimage_defaults(void **state)
{
	struct boot_input in;
	struct boot_entry e;

	(void)state;
	mem_init(64 * MiB);
	make_bzimage();
	bz_hdr()->setup_sects = 0;
	bz_hdr()->pref_address = 0;
	in = input(bz, sizeof(bz), false);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	assert_int_equal(e.entry, KERNEL_LOAD_DEFAULT + 0x200);
	assert_memory_equal(gp(KERNEL_LOAD_DEFAULT, BZ_PM_LEN), bz + BZ_PM_OFFSET,
			    BZ_PM_LEN);

	make_bzimage();
	bz_hdr()->pref_address = 0x2000000;
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	assert_int_equal(e.entry, 0x2000200);
}

static void test_bzimage_initrd_addr_max(void **state)
{
	struct boot_input in;
	struct boot_entry e;
	struct boot_params *bp;

	(void)state;
	mem_init(1 * GiB);
	make_bzimage();
	bz_hdr()->initrd_addr_max = 0x37ffffff;
	in = input(bz, sizeof(bz), true);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	bp = zero_page();
	assert_int_equal(bp->hdr.ramdisk_image,
			 (0x38000000 - sizeof(initrd_data)) & ~0xfffULL);
	assert_true(bp->hdr.ramdisk_image + bp->hdr.ramdisk_size <= 0x38000000);
	assert_true(bp->hdr.ramdisk_image >= KERNEL_LOAD_DEFAULT + BZ_INIT_SIZE);
}

/* Load a corrupted image: expect @err and one error line naming @what. */
static void expect_reject(struct boot_input *in, int err, const char *what,
			  const char *hint)
{
	struct boot_entry e;
	const char *text;
	int ret;

	err_begin();
	ret = x86_load_kernel(&mem, in, &e);
	text = err_end();
	assert_int_equal(ret, err);
	assert_one_error(text, what, hint);
}

static void test_bzimage_reject_header(void **state)
{
	struct boot_input in;

	(void)state;
	mem_init(64 * MiB);
	in = input(bz, sizeof(bz), false);

	make_bzimage();
	bz[0x1fe] = 0;			/* boot_flag */
	assert_int_equal(kernel_detect(bz, sizeof(bz)), KFMT_UNKNOWN);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "bzImage");

	make_bzimage();
	bz_hdr()->header = 0x53726449;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, NULL);

	make_bzimage();
	bz_hdr()->version = 0x020b;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "2.11");

	make_bzimage();
	bz_hdr()->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "64-bit");

	make_bzimage();
	bz_hdr()->relocatable_kernel = 0;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "CONFIG_RELOCATABLE");

	/* a header that claims to end before handover_offset */
	make_bzimage();
	bz[0x201] = 0x10;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
}

static void test_bzimage_reject_truncated(void **state)
{
	struct boot_input in;
	size_t len;

	(void)state;
	mem_init(64 * MiB);
	make_bzimage();

	/* setup sectors only */
	in = input(bz, BZ_PM_OFFSET, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	/* half the payload, syssize says more */
	in = input(bz, BZ_PM_OFFSET + BZ_PM_LEN / 2, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	/* cut in the middle of the setup header */
	in = input(bz, 0x210, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	/* too short to be anything */
	in = input(bz, 0x205, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, NULL);
	/* setup_sects pointing past the end */
	bz_hdr()->setup_sects = 0xff;
	in = input(bz, sizeof(bz), false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");

	/*
	 * Every length must be rejected without reading past the end: an
	 * exact-size heap copy lets AddressSanitizer see any overread.
	 */
	make_bzimage();
	err_begin();
	for (len = 1; len < BZ_PM_OFFSET + 64; len++) {
		struct boot_entry e;
		uint8_t *copy = malloc(len);

		assert_non_null(copy);
		memcpy(copy, bz, len);
		in = input(copy, len, false);
		assert_int_not_equal(x86_load_kernel(&mem, &in, &e), 0);
		free(copy);
	}
	err_end();
}

static void test_bzimage_reject_memory(void **state)
{
	struct boot_input in;
	static uint8_t big_initrd[40 * MiB];

	(void)state;
	make_bzimage();

	/* 16 MiB of RAM ends where the kernel would load */
	mem_init(16 * MiB);
	in = input(bz, sizeof(bz), false);
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "raise --memory");

	/* init_size larger than RAM */
	mem_init(64 * MiB);
	bz_hdr()->init_size = 0xffffffff;
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "raise --memory");

	/* hostile pref_address: must not wrap */
	make_bzimage();
	bz_hdr()->pref_address = 0xfffffffffffff000ULL;
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "raise --memory");

	/* kernel fits, initrd does not */
	make_bzimage();
	in = input(bz, sizeof(bz), true);
	in.memory_text = "48MiB";	/* as the user typed it */
	initrd_blob.data = big_initrd;
	initrd_blob.len = sizeof(big_initrd);
	mem_init(48 * MiB);
	err_begin();
	{
		struct boot_entry e;

		assert_int_equal(x86_load_kernel(&mem, &in, &e), -ENOMEM);
	}
	{
		const char *text = err_end();

		assert_one_error(text, KERNEL_PATH, INITRD_PATH);
		assert_non_null(strstr(text, "raise --memory"));
		assert_non_null(strstr(text, "do not fit in --memory 48MiB; raise --memory"));
	}
	/* the same initrd fits with more RAM */
	mem_init(64 * MiB);
	{
		struct boot_entry e;

		assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	}

	/* initrd_addr_max below the kernel */
	make_bzimage();
	bz_hdr()->initrd_addr_max = 0xffffff;
	in = input(bz, sizeof(bz), true);
	expect_reject(&in, -ENOMEM, INITRD_PATH, "smaller initrd");

	/* empty initrd */
	make_bzimage();
	in = input(bz, sizeof(bz), true);
	initrd_blob.len = 0;
	expect_reject(&in, -EINVAL, INITRD_PATH, "empty");
}

static void test_bzimage_reject_cmdline(void **state)
{
	struct boot_input in;

	(void)state;
	mem_init(64 * MiB);
	make_bzimage();
	bz_hdr()->cmdline_size = strlen(TEST_CMDLINE) - 1;
	in = input(bz, sizeof(bz), false);
	expect_reject(&in, -E2BIG, KERNEL_PATH, "command line");
	/* exactly cmdline_size characters are fine */
	bz_hdr()->cmdline_size = strlen(TEST_CMDLINE);
	{
		struct boot_entry e;

		assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	}
}

/* Load an exact-size heap copy of @buf so AddressSanitizer sees overreads. */
static int load_copy(const uint8_t *buf, size_t len, bool initrd)
{
	struct boot_input in;
	struct boot_entry e;
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	in = input(copy, len, initrd);
	ret = x86_load_kernel(&mem, &in, &e);
	free(copy);
	return ret;
}

/* Random corruption of the header area: no crash, any answer. */
static void test_bzimage_corruption(void **state)
{
	unsigned int i, j;

	(void)state;
	mem_init(32 * MiB);
	srand(1234);
	err_begin();
	for (i = 0; i < 3000; i++) {
		make_bzimage();
		for (j = 0; j < 8; j++)
			bz[0x1f1 + rand() % 0x80] = (uint8_t)rand();
		load_copy(bz, sizeof(bz) - rand() % 64, i & 1);
	}
	err_end();
}

/* --- ELF --- */

#define ELF_PADDR	0x200000ULL
#define ELF_ENTRY	0x200010ULL
#define ELF_PVH_ENTRY	0x200020ULL
#define ELF_FILESZ	0x1000
#define ELF_MEMSZ	0x3000
#define ELF_NOTE_OFF	0x100
#define ELF_DATA_OFF	0x200
#define ELF_LEN		(ELF_DATA_OFF + ELF_FILESZ)

enum note_kind { NOTE_NONE, NOTE_PVH, NOTE_PVH64, NOTE_KVMINI, NOTE_LINUX };

static uint8_t elf[ELF_LEN];

static Elf64_Ehdr *elf_eh(void)
{
	return (Elf64_Ehdr *)elf;
}

static Elf64_Phdr *elf_ph(unsigned int i)
{
	return (Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)) + i;
}

/* Fill a note at ELF_NOTE_OFF; returns its size. */
static size_t put_note(enum note_kind kind)
{
	uint32_t *w = (uint32_t *)(elf + ELF_NOTE_OFF);
	uint64_t entry64 = ELF_PVH_ENTRY;

	switch (kind) {
	case NOTE_PVH:
		w[0] = 4; w[1] = 4; w[2] = 18;
		memcpy(&w[3], "Xen", 4);
		w[4] = ELF_PVH_ENTRY;
		return 20;
	case NOTE_PVH64:
		w[0] = 4; w[1] = 8; w[2] = 18;
		memcpy(&w[3], "Xen", 4);
		memcpy(&w[4], &entry64, 8);
		return 24;
	case NOTE_KVMINI:
		w[0] = 7; w[1] = 4; w[2] = 1;
		memcpy(&w[3], "kvmini", 7);	/* padded to 8 */
		w[5] = 0x1;
		return 24;
	case NOTE_LINUX:	/* as vmlinux's build salt note */
		w[0] = 6; w[1] = 4; w[2] = 0x100;
		memcpy(&w[3], "Linux", 6);	/* padded to 8 */
		w[5] = 0;
		return 24;
	case NOTE_NONE:
		break;
	}
	return 0;
}

/* ELF64 x86-64 executable: one PT_LOAD (with bss), optionally a PT_NOTE. */
static void make_elf(enum note_kind kind)
{
	Elf64_Ehdr *eh = elf_eh();
	Elf64_Phdr *ph;
	size_t note_len;
	unsigned int i;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;

	ph = elf_ph(0);
	ph->p_type = PT_LOAD;
	ph->p_offset = ELF_DATA_OFF;
	ph->p_vaddr = 0xffffffff80000000ULL + ELF_PADDR;
	ph->p_paddr = ELF_PADDR;
	ph->p_filesz = ELF_FILESZ;
	ph->p_memsz = ELF_MEMSZ;
	ph->p_align = 0x1000;
	for (i = 0; i < ELF_FILESZ; i++)
		elf[ELF_DATA_OFF + i] = (uint8_t)(i * 13 + 1);

	note_len = put_note(kind);
	if (note_len) {
		ph = elf_ph(1);
		ph->p_type = PT_NOTE;
		ph->p_offset = ELF_NOTE_OFF;
		ph->p_filesz = note_len;
		ph->p_align = 4;
		eh->e_phnum = 2;
	}
}

static void load_elf_ok(bool initrd, struct boot_entry *e)
{
	struct boot_input in = input(elf, sizeof(elf), initrd);

	/* the bss must be zeroed, whatever was there */
	memset(gp(ELF_PADDR, ELF_MEMSZ), 0xaa, ELF_MEMSZ);
	assert_int_equal(x86_load_kernel(&mem, &in, e), 0);
	assert_memory_equal(gp(ELF_PADDR, ELF_FILESZ), elf + ELF_DATA_OFF,
			    ELF_FILESZ);
	{
		const uint8_t *bss = gp(ELF_PADDR + ELF_FILESZ, ELF_MEMSZ - ELF_FILESZ);
		unsigned int i;

		for (i = 0; i < ELF_MEMSZ - ELF_FILESZ; i++)
			assert_int_equal(bss[i], 0);
	}
}

static void test_elf64_valid(void **state)
{
	struct boot_entry e;
	struct boot_params *bp;

	(void)state;
	mem_init(128 * MiB);
	make_elf(NOTE_NONE);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	load_elf_ok(true, &e);
	assert_int_equal(e.fmt, KFMT_ELF64);
	assert_int_equal(e.entry, ELF_ENTRY);
	assert_int_equal(e.boot_data, ZERO_PAGE_ADDR);
	assert_false(e.mode32);

	bp = zero_page();
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, CMDLINE_ADDR);
	assert_string_equal(gp(CMDLINE_ADDR, sizeof(TEST_CMDLINE)), TEST_CMDLINE);
	assert_int_equal(bp->hdr.ramdisk_image,
			 (128 * MiB - sizeof(initrd_data)) & ~0xfffULL);
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd_data));
	assert_memory_equal(gp(bp->hdr.ramdisk_image, sizeof(initrd_data)),
			    initrd_data, sizeof(initrd_data));
	assert_int_equal(bp->acpi_rsdp_addr, TEST_RSDP);
	assert_int_equal(bp->e820_entries, 4);
	assert_int_equal(bp->e820_table[3].addr + bp->e820_table[3].size, 128 * MiB);
}

static void test_elf_firmware(void **state)
{
	struct boot_entry e;

	(void)state;
	mem_init(64 * MiB);
	make_elf(NOTE_KVMINI);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_FIRMWARE);
	load_elf_ok(false, &e);
	assert_int_equal(e.fmt, KFMT_FIRMWARE);
	assert_int_equal(e.entry, ELF_ENTRY);
	assert_int_equal(e.boot_data, ZERO_PAGE_ADDR);
	assert_false(e.mode32);
	assert_int_equal(zero_page()->hdr.ramdisk_image, 0);
	assert_int_equal(zero_page()->e820_entries, 4);
}

/* Xen public ABI layout, written out independently of elf.c. */
struct test_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct test_memmap {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void check_start_info(bool initrd)
{
	const struct test_start_info *si = gp(PVH_START_INFO_ADDR, sizeof(*si));
	const struct test_memmap *map;
	const uint64_t *mod;

	assert_int_equal(si->magic, 0x336ec578);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->cmdline_paddr, CMDLINE_ADDR);
	assert_string_equal(gp(CMDLINE_ADDR, sizeof(TEST_CMDLINE)), TEST_CMDLINE);
	assert_int_equal(si->rsdp_paddr, TEST_RSDP);
	assert_int_equal(si->memmap_entries, 4);
	map = gp(si->memmap_paddr, 4 * sizeof(*map));
	assert_true(si->memmap_paddr >= PVH_START_INFO_ADDR + sizeof(*si));
	assert_true(si->memmap_paddr + 4 * sizeof(*map) <= ZERO_PAGE_ADDR);
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, EBDA_START);
	assert_int_equal(map[0].type, 1);
	assert_int_equal(map[1].addr, EBDA_START);
	assert_int_equal(map[1].type, 2);
	assert_int_equal(map[2].addr, ACPI_TABLES_ADDR);
	assert_int_equal(map[2].size, ACPI_TABLES_END - ACPI_TABLES_ADDR);
	assert_int_equal(map[2].type, 2);
	assert_int_equal(map[3].addr, HIMEM_START);
	assert_int_equal(map[3].size, 64 * MiB - HIMEM_START);
	assert_int_equal(map[3].type, 1);
	if (!initrd) {
		assert_int_equal(si->nr_modules, 0);
		return;
	}
	assert_int_equal(si->nr_modules, 1);
	mod = gp(si->modlist_paddr, 32);
	assert_int_equal(mod[0], (64 * MiB - sizeof(initrd_data)) & ~0xfffULL);
	assert_int_equal(mod[1], sizeof(initrd_data));
	assert_int_equal(mod[2], 0);
	assert_memory_equal(gp(mod[0], sizeof(initrd_data)), initrd_data,
			    sizeof(initrd_data));
}

static void test_elf_pvh(void **state)
{
	struct boot_entry e;

	(void)state;
	mem_init(64 * MiB);
	make_elf(NOTE_PVH);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF_PVH);
	load_elf_ok(true, &e);
	assert_int_equal(e.fmt, KFMT_ELF_PVH);
	assert_int_equal(e.entry, ELF_PVH_ENTRY);
	assert_int_equal(e.boot_data, PVH_START_INFO_ADDR);
	assert_true(e.mode32);
	check_start_info(true);

	/* an 8-byte entry note, no initrd */
	memset(gp(PVH_START_INFO_ADDR, 0x1000), 0xee, 0x1000);
	make_elf(NOTE_PVH64);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF_PVH);
	load_elf_ok(false, &e);
	assert_int_equal(e.entry, ELF_PVH_ENTRY);
	check_start_info(false);
}

/* A 32-bit i386 ELF is fine with a PVH note and rejected without. */
static void test_elf32_pvh(void **state)
{
	static uint8_t e32[0x200 + 0x100];
	Elf32_Ehdr *eh = (Elf32_Ehdr *)e32;
	Elf32_Phdr *ph = (Elf32_Phdr *)(e32 + sizeof(*eh));
	uint32_t *note = (uint32_t *)(e32 + 0x100);
	struct boot_input in;
	struct boot_entry e;

	(void)state;
	mem_init(64 * MiB);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = 0x100000;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x200;
	ph[0].p_paddr = 0x100000;
	ph[0].p_filesz = 0x100;
	ph[0].p_memsz = 0x100;
	ph[1].p_type = PT_NOTE;
	ph[1].p_offset = 0x100;
	ph[1].p_filesz = 20;
	note[0] = 4; note[1] = 4; note[2] = 18;
	memcpy(&note[3], "Xen", 4);
	note[4] = 0x100040;
	memset(e32 + 0x200, 0x90, 0x100);

	in = input(e32, sizeof(e32), false);
	assert_int_equal(kernel_detect(e32, sizeof(e32)), KFMT_ELF_PVH);
	assert_int_equal(x86_load_kernel(&mem, &in, &e), 0);
	assert_int_equal(e.entry, 0x100040);
	assert_true(e.mode32);
	assert_int_equal(*(uint8_t *)gp(0x1000ff, 1), 0x90);

	note[2] = 17;		/* not PHYS32_ENTRY any more */
	assert_int_equal(kernel_detect(e32, sizeof(e32)), KFMT_ELF64);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "i386, not x86-64");
}

static void test_elf_reject(void **state)
{
	struct boot_input in;

	(void)state;
	mem_init(64 * MiB);
	in = input(elf, sizeof(elf), false);

	make_elf(NOTE_NONE);
	elf_eh()->e_machine = EM_AARCH64;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "is an ELF for arm64, not x86-64");

	make_elf(NOTE_NONE);
	elf_eh()->e_machine = 0x7777;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "not x86-64");

	make_elf(NOTE_NONE);
	elf_eh()->e_type = ET_DYN;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "not an executable");

	/* segment outside RAM, and one whose end wraps */
	make_elf(NOTE_NONE);
	elf_ph(0)->p_paddr = 0x7ff00000;
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "raise --memory");
	elf_ph(0)->p_paddr = 0xfffffffffffff000ULL;
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "outside guest RAM");
	elf_ph(0)->p_paddr = ELF_PADDR;
	elf_ph(0)->p_memsz = 0xfffffffffffff000ULL;
	expect_reject(&in, -ENOMEM, KERNEL_PATH, "outside guest RAM");

	/* over kvmini's boot data */
	make_elf(NOTE_NONE);
	elf_ph(0)->p_paddr = ZERO_PAGE_ADDR;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "below 1 MiB");

	/* file bytes beyond the file, wrapping offsets, filesz > memsz */
	make_elf(NOTE_NONE);
	elf_ph(0)->p_filesz = ELF_FILESZ + 1;
	elf_ph(0)->p_memsz = ELF_MEMSZ;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	elf_ph(0)->p_offset = 0xffffffffffffff00ULL;
	elf_ph(0)->p_filesz = 0x200;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "truncated");
	make_elf(NOTE_NONE);
	elf_ph(0)->p_memsz = ELF_FILESZ - 1;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "damaged");

	/* no PT_LOAD */
	make_elf(NOTE_NONE);
	elf_ph(0)->p_type = PT_NULL;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "no loadable segments");

	/* truncated headers */
	make_elf(NOTE_NONE);
	in = input(elf, 40, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
	in = input(elf, sizeof(Elf64_Ehdr) + 10, false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
	in = input(elf, sizeof(elf), false);
	elf_eh()->e_phoff = 0xfffffffffffffff0ULL;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
	make_elf(NOTE_NONE);
	elf_eh()->e_phentsize = 32;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
	make_elf(NOTE_NONE);
	elf_eh()->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "malformed");
}

/* Hostile notes must not be read out of bounds or misdetected. */
static void test_elf_bad_notes(void **state)
{
	uint32_t *w = (uint32_t *)(elf + ELF_NOTE_OFF);

	(void)state;
	make_elf(NOTE_PVH);
	w[1] = 0xfffffff0;		/* descsz past the segment */
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	make_elf(NOTE_PVH);
	w[0] = 0xffffffff;		/* namesz */
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	make_elf(NOTE_PVH);
	elf_ph(1)->p_filesz = 19;	/* segment cuts the descriptor */
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	make_elf(NOTE_PVH);
	elf_ph(1)->p_offset = sizeof(elf) - 8;	/* note segment past the file */
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	make_elf(NOTE_PVH);
	w[1] = 2;			/* entry of an unknown width */
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	make_elf(NOTE_PVH);
	memcpy(&w[3], "Xeo", 4);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
}

static void test_elf_corruption(void **state)
{
	unsigned int i, j;
	size_t len;

	(void)state;
	mem_init(16 * MiB);
	srand(4321);
	err_begin();
	for (i = 0; i < 3000; i++) {
		make_elf(i % 3 ? NOTE_PVH : NOTE_KVMINI);
		for (j = 0; j < 6; j++)
			elf[rand() % (ELF_NOTE_OFF + 32)] = (uint8_t)rand();
		load_copy(elf, sizeof(elf) - rand() % 0x300, i & 1);
	}
	/* every truncation of a valid PVH ELF short of its data is rejected */
	make_elf(NOTE_PVH);
	for (len = 0; len < ELF_LEN; len++)
		assert_int_not_equal(load_copy(elf, len, false), 0);
	assert_int_equal(load_copy(elf, ELF_LEN, false), 0);
	err_end();
}

/* --- detection --- */

static void test_detect(void **state)
{
	static const char text[] = "#!/bin/sh\necho not a kernel\n";
	static uint8_t garbage[4096];
	struct boot_input in;
	unsigned int i;

	(void)state;
	mem_init(16 * MiB);
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 131 + 17);
	assert_int_equal(kernel_detect((const uint8_t *)text, strlen(text)), KFMT_UNKNOWN);
	assert_int_equal(kernel_detect(garbage, 0), KFMT_UNKNOWN);
	assert_int_equal(kernel_detect(garbage, sizeof(garbage)), KFMT_UNKNOWN);
	assert_int_equal(kernel_detect((const uint8_t *)"\177EL", 3), KFMT_UNKNOWN);

	in = input((const uint8_t *)text, strlen(text), false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "bzImage");
	in = input(garbage, 0, false);
	expect_reject(&in, -EINVAL, KERNEL_PATH, "empty");
	in = input(garbage, sizeof(garbage), false);
	expect_reject(&in, -ENOEXEC, KERNEL_PATH, "bzImage");

	assert_string_equal(kernel_format_name(KFMT_BZIMAGE), "bzImage");
	assert_string_equal(kernel_format_name(KFMT_ELF64), "ELF64");
	assert_string_equal(kernel_format_name(KFMT_ELF_PVH), "PVH ELF");
	assert_string_equal(kernel_format_name(KFMT_FIRMWARE), "kvmini firmware");
	assert_string_equal(kernel_format_name(KFMT_UNKNOWN), "unknown");
}

/* Linux kernels (the ones that need hardware KVM): bzImages and ELF vmlinux. */
static void test_kernel_is_linux(void **state)
{
	static const char text[] = "#!/bin/sh\necho not a kernel\n";

	(void)state;
	make_bzimage();
	assert_true(kernel_is_linux(bz, sizeof(bz)));
	make_elf(NOTE_LINUX);
	assert_int_equal(kernel_detect(elf, sizeof(elf)), KFMT_ELF64);
	assert_true(kernel_is_linux(elf, sizeof(elf)));
	make_elf(NOTE_PVH);
	assert_true(kernel_is_linux(elf, sizeof(elf)));
	/* firmware/ images, plain ELF and anything else are not */
	make_elf(NOTE_KVMINI);
	assert_false(kernel_is_linux(elf, sizeof(elf)));
	make_elf(NOTE_NONE);
	assert_false(kernel_is_linux(elf, sizeof(elf)));
	assert_false(kernel_is_linux((const uint8_t *)text, strlen(text)));
	assert_false(kernel_is_linux(bz, 0));
}

/* --- e820 --- */

static void check_e820(const struct boot_e820_entry *t, uint64_t addr,
		       uint64_t size, uint32_t type)
{
	assert_int_equal(t->addr, addr);
	assert_int_equal(t->size, size);
	assert_int_equal(t->type, type);
}

static void test_e820_256m(void **state)
{
	struct boot_e820_entry t[E820_MAX_ENTRIES_ZEROPAGE];
	struct guest_mem m;

	(void)state;
	test_mem_layout(&m, NULL, 256 * MiB, MMIO_HOLE_START);
	assert_int_equal(x86_build_e820(&m, t, ARRAY_SIZE(t)), 4);
	check_e820(&t[0], 0, EBDA_START, 1);
	check_e820(&t[1], EBDA_START, 0xa0000 - EBDA_START, 2);
	check_e820(&t[2], ACPI_TABLES_ADDR, ACPI_TABLES_END - ACPI_TABLES_ADDR, 2);
	check_e820(&t[3], HIMEM_START, 256 * MiB - HIMEM_START, 1);
	/* a short table is filled up to its size */
	assert_int_equal(x86_build_e820(&m, t, 2), 2);
	assert_int_equal(x86_build_e820(&m, t, 0), 0);
}

static void test_e820_split(void **state)
{
	struct boot_e820_entry t[E820_MAX_ENTRIES_ZEROPAGE];
	struct guest_mem m;

	(void)state;
	/* 3.5 GiB: 3 GiB below the hole, 512 MiB moved to 4 GiB */
	test_mem_layout(&m, NULL, 3 * GiB + 512 * MiB, MMIO_HOLE_START);
	assert_int_equal(x86_build_e820(&m, t, ARRAY_SIZE(t)), 5);
	check_e820(&t[0], 0, EBDA_START, 1);
	check_e820(&t[3], HIMEM_START, MMIO_HOLE_START - HIMEM_START, 1);
	check_e820(&t[4], FOUR_GIB, 512 * MiB, 1);

	/* exactly up to the hole: nothing above 4 GiB */
	test_mem_layout(&m, NULL, MMIO_HOLE_START, MMIO_HOLE_START);
	assert_int_equal(x86_build_e820(&m, t, ARRAY_SIZE(t)), 4);
	check_e820(&t[3], HIMEM_START, MMIO_HOLE_START - HIMEM_START, 1);
}

static void test_e820_tiny(void **state)
{
	struct boot_e820_entry t[E820_MAX_ENTRIES_ZEROPAGE];
	struct guest_mem m;

	(void)state;
	test_mem_layout(&m, NULL, 512 * 1024, MMIO_HOLE_START);
	assert_int_equal(x86_build_e820(&m, t, ARRAY_SIZE(t)), 3);
	check_e820(&t[0], 0, 512 * 1024, 1);
	check_e820(&t[1], EBDA_START, 0xa0000 - EBDA_START, 2);
	check_e820(&t[2], ACPI_TABLES_ADDR, ACPI_TABLES_END - ACPI_TABLES_ADDR, 2);

	/* 1 MiB + 4 KiB: a single page above 1 MiB */
	test_mem_layout(&m, NULL, MiB + 4096, MMIO_HOLE_START);
	assert_int_equal(x86_build_e820(&m, t, ARRAY_SIZE(t)), 4);
	check_e820(&t[3], HIMEM_START, 4096, 1);
}

/* --- page tables and GDT --- */

static void test_pagetables(void **state)
{
	const uint64_t *pml4, *pdpt, *pd, *gdt;

	(void)state;
	mem_init(16 * MiB);
	memset(gp(BOOT_PML4_ADDR, 0x1000), 0xff, 0x1000);
	assert_int_equal(x86_build_boot_pagetables(&mem), 0);
	pml4 = gp(BOOT_PML4_ADDR, 0x1000);
	pdpt = gp(BOOT_PDPT_ADDR, 0x1000);
	pd = gp(BOOT_PD_ADDR, 4 * 0x1000);
	gdt = gp(BOOT_GDT_ADDR, 32);

	assert_int_equal(pml4[0], BOOT_PDPT_ADDR | 3);
	assert_int_equal(pml4[1], 0);
	assert_int_equal(pml4[511], 0);
	assert_int_equal(pdpt[0], BOOT_PD_ADDR | 3);
	assert_int_equal(pdpt[3], (BOOT_PD_ADDR + 3 * 0x1000) | 3);
	assert_int_equal(pdpt[4], 0);
	assert_int_equal(pd[0], 0x83);
	assert_int_equal(pd[1], 0x200000 | 0x83);
	assert_int_equal(pd[2047], 0xffe00000ULL | 0x83);

	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0x00cf9b000000ffffULL);	/* 0x08: code32 */
	assert_int_equal(gdt[2], 0x00af9b000000ffffULL);	/* 0x10: code64, L */
	assert_int_equal(gdt[3], 0x00cf93000000ffffULL);	/* 0x18: data */

	/* not enough RAM for the tables */
	mem_init(0x8000);
	assert_int_equal(x86_build_boot_pagetables(&mem), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bzimage_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_header_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_initrd_addr_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_reject_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_reject_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_reject_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_reject_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf64_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_pvh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf32_pvh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_bad_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_is_linux, setup, teardown),
		cmocka_unit_test(test_e820_256m),
		cmocka_unit_test(test_e820_split),
		cmocka_unit_test(test_e820_tiny),
		cmocka_unit_test_setup_teardown(test_pagetables, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
