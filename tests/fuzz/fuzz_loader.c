/*
 * libFuzzer harness for the x86 kernel loaders (arch/x86/boot.c, bzimage.c,
 * elf.c, multiboot.c): x86_load_kernel() sniffs the input's format and
 * loads it, with its initrds and command line, into a fake guest RAM.
 */
#include <stdbool.h>

#include "x86/boot.h"
#include "x86/layout.h"
#include "fuzz.h"

#define MiB		(1ULL << 20)
#define NR_LAYOUTS	4
#define MAX_FUZZ_INITRDS 3
#define INITRD_UNIT	16		/* initrd sizes come in 16-byte units: up to 1 MiB */
#define CMDLINE_UNIT	300		/* up to 76500 bytes, past CMDLINE_MAX */
#define CMDLINE_BUF	(255 * CMDLINE_UNIT + 1)

/*
 * Input (little-endian; mkcorpus.py writes the seeds):
 *   u8  flags: bits 0-1 RAM layout (below), bits 2-3 number of initrds,
 *       4 a --cmdline of the user's (multiboot), 5 an ACPI RSDP
 *   u8  command line length, in units of 300 bytes
 *   u16 initrd sizes, in 16-byte units, one per possible initrd (3)
 *   the rest: the kernel image
 */
#define FL_LAYOUT	3
#define FL_INITRDS_SHIFT 2
#define FL_CMDLINE_USER	16
#define FL_RSDP		32

/* RAM sizes and where the MMIO hole starts: the last one has RAM above 4 GiB. */
static const struct {
	uint64_t size, hole;
} layouts[NR_LAYOUTS] = {
	{ 4 * MiB, MMIO_HOLE_START },
	{ 24 * MiB, MMIO_HOLE_START },
	{ 64 * MiB, MMIO_HOLE_START },
	{ 64 * MiB, 32 * MiB },
};

static struct guest_mem mems[NR_LAYOUTS];
static uint8_t initrd_data[0x10000 * INITRD_UNIT];
static char cmdline[CMDLINE_BUF];
/* the last name is longer than a multiboot module string may be */
static char long_name[400];
static const char *initrd_paths[MAX_FUZZ_INITRDS] = {
	"/tmp/initrd.img", "modules/second", long_name,
};

static void init_once(void)
{
	unsigned int i;

	for (i = 0; i < NR_LAYOUTS; i++)
		fuzz_mem_alloc(&mems[i], layouts[i].size, layouts[i].hole);
	for (i = 0; i < sizeof(initrd_data); i++)
		initrd_data[i] = (uint8_t)(i * 7 + 3);
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[0] = '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct file_blob initrds[MAX_FUZZ_INITRDS];
	struct boot_input bi = { 0 };
	struct boot_entry out;
	struct guest_mem *m;
	size_t cmdline_len;
	unsigned int i;
	uint8_t flags;

	if (!mems[0].base)
		init_once();
	flags = fuzz_u8(&in);
	m = &mems[flags & FL_LAYOUT];
	cmdline_len = (size_t)fuzz_u8(&in) * CMDLINE_UNIT;
	for (i = 0; i < MAX_FUZZ_INITRDS; i++) {
		initrds[i].path = initrd_paths[i];
		initrds[i].data = initrd_data;
		initrds[i].len = (size_t)fuzz_u16(&in) * INITRD_UNIT;
	}
	memset(cmdline, 'c', cmdline_len);
	cmdline[cmdline_len] = 0;

	bi.kernel_path = "/tmp/fuzz-kernel";
	bi.kernel = in.p;
	bi.kernel_len = in.n;
	bi.initrds = initrds;
	bi.nr_initrds = (flags >> FL_INITRDS_SHIFT) & 3;
	bi.cmdline = cmdline;
	bi.cmdline_user = flags & FL_CMDLINE_USER ? cmdline : NULL;
	bi.rsdp_gpa = flags & FL_RSDP ? ACPI_TABLES_ADDR : 0;

	if (x86_load_kernel(m, &bi, &out) == 0) {
		FUZZ_CHECK(out.fmt != KFMT_UNKNOWN);
		FUZZ_CHECK(guest_range_ok(m, out.boot_data, 1));
		if (out.mode32)
			FUZZ_CHECK(out.entry < (1ULL << 32));
		FUZZ_CHECK(x86_build_boot_pagetables(m) == 0);
	}
	return 0;
}
