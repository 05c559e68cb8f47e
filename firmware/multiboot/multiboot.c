/*
 * Multiboot test kernel: checks each field of the multiboot information
 * against what kvmini promises and the KEY=VALUE environment in the first
 * module (as kvm-unit-tests reads it), prints "multiboot: <check> ok" or
 * FAILED per check, then writes the failure count to the exit device.
 */
#include "../fw.h"
#include "../io.h"

#define MB_BOOTLOADER_MAGIC	0x2badb002u
#define MB_IF_MEM		(1u << 0)
#define MB_IF_CMDLINE		(1u << 2)
#define MB_IF_MODS		(1u << 3)
#define MB_IF_MMAP		(1u << 6)
#define MB_IF_LOADER_NAME	(1u << 9)
#define MB_IF_EXPECTED		(MB_IF_MEM | MB_IF_CMDLINE | MB_IF_MODS | \
				 MB_IF_MMAP | MB_IF_LOADER_NAME)

#define CR0_PE			(1u << 0)
#define CR0_PG			(1u << 31)
#define EFLAGS_IF		(1u << 9)
#define EFLAGS_VM		(1u << 17)

#define E820_RAM		1
#define E820_RESERVED		2
#define MMAP_ENTRY_SIZE		20	/* the size field: base, length, type */
#define HIMEM			0x100000u
#define LOW_RAM_KIB		639	/* RAM below kvmini's EBDA at 0x9fc00 */
#define MMIO_HOLE_MIB		3072	/* RAM from 1 MiB stops at 3 GiB */
#define EXIT_PORT		0xf4

/* The expectations of tests/firmware/meson.build's multiboot test. */
#define CMDLINE_MARKER		"mbtest=kvmini-multiboot"
#define ENV_MODULE_NAME		"multiboot.env"
#define DATA_MODULE_NAME	"multiboot.data"
#define DATA_MODULE_TEXT	"kvmini multiboot data module\n"

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

struct mb_module {
	uint32_t mod_start;
	uint32_t mod_end;
	uint32_t string;
	uint32_t reserved;
};

/* What the first module says. */
struct mb_env {
	uint32_t nr_cpus;
	uint32_t memsize;	/* MiB */
	uint32_t modules;
};

void mb_main(uint32_t magic, const struct mb_info *mbi, uint32_t eflags);

extern char _image_start[], _end[];	/* this kernel, stack included */
static unsigned int failures;

static void put_str(const char *s)
{
	uart_write(s, strlen(s));
}

static void put_u32(uint32_t v)
{
	char buf[11];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(buf + i);
}

static int report(const char *what, int ok)
{
	put_str("multiboot: ");
	put_str(what);
	put_str(ok ? " ok\n" : " FAILED\n");
	failures += !ok;
	return ok;
}

static int report_u32(const char *what, uint32_t got, uint32_t want)
{
	if (got == want)
		return report(what, 1);
	put_str("multiboot: ");
	put_str(what);
	put_str(" FAILED: got ");
	put_u32(got);
	put_str(", expected ");
	put_u32(want);
	put_str("\n");
	failures++;
	return 0;
}

static const void *phys(uint32_t addr)
{
	return (const void *)(uintptr_t)addr;
}

static int str_eq(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strlen(a) == n && !memcmp(a, b, n);
}

/* The decimal value of "KEY=VALUE" in a module of KEY=VALUE lines. */
static int env_get(const struct mb_module *mod, const char *key, uint32_t *val)
{
	const char *p = phys(mod->mod_start), *end = phys(mod->mod_end);
	size_t klen = strlen(key);

	while (p < end) {
		const char *eol = p;

		while (eol < end && *eol != '\n')
			eol++;
		if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
			const char *d = p + klen + 1;

			if (d == eol)
				return 0;
			for (*val = 0; d < eol; d++) {
				if (*d < '0' || *d > '9')
					return 0;
				*val = *val * 10 + (uint32_t)(*d - '0');
			}
			return 1;
		}
		p = eol + 1;
	}
	return 0;
}

static void check_entry_state(uint32_t magic, uint32_t eflags)
{
	uint32_t cr0;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	report("magic", magic == MB_BOOTLOADER_MAGIC);
	report("protected mode without paging", (cr0 & CR0_PE) && !(cr0 & CR0_PG));
	report("eflags IF and VM clear", !(eflags & (EFLAGS_IF | EFLAGS_VM)));
}

static int check_env(const struct mb_info *mbi, struct mb_env *env)
{
	const struct mb_module *mods = phys(mbi->mods_addr);

	if (!(mbi->flags & MB_IF_MODS) || mbi->mods_count == 0)
		return report("env module", 0);
	return report("env module",
		      env_get(&mods[0], "NR_CPUS", &env->nr_cpus) &&
		      env_get(&mods[0], "MEMSIZE", &env->memsize) &&
		      env_get(&mods[0], "MODULES", &env->modules));
}

/*
 * Entries of 20 bytes, sorted, of known types, ending exactly at
 * mmap_length; RAM from 0 matching mem_lower and from 1 MiB matching
 * mem_upper.
 */
static void check_mmap(const struct mb_info *mbi)
{
	const uint8_t *map = phys(mbi->mmap_addr);
	uint64_t prev_end = 0;
	uint32_t off = 0;
	int sane = 1, low = 0, high = 0;

	while (off + 4 <= mbi->mmap_length) {
		const uint8_t *e = map + off;
		uint32_t size = get_le32(e);
		uint64_t base = get_le64(e + 4);
		uint64_t len = get_le64(e + 12);
		uint32_t type = get_le32(e + 20);

		if (size != MMAP_ENTRY_SIZE || len == 0 || base < prev_end ||
		    (type != E820_RAM && type != E820_RESERVED)) {
			sane = 0;
			break;
		}
		if (type == E820_RAM && base == 0 && len == mbi->mem_lower * 1024ULL)
			low = 1;
		if (type == E820_RAM && base == HIMEM && len == mbi->mem_upper * 1024ULL)
			high = 1;
		prev_end = base + len;
		off += size + 4;
	}
	report("mmap entries", sane && off == mbi->mmap_length && off > 0);
	report("mmap covers mem_lower", low);
	report("mmap covers mem_upper", high);
}

/* Page-aligned, in order, after this kernel, inside RAM from 1 MiB. */
static void check_modules(const struct mb_info *mbi, const struct mb_env *env)
{
	const struct mb_module *mods = phys(mbi->mods_addr);
	uint32_t ram_end = HIMEM + mbi->mem_upper * 1024;
	uint32_t prev_end = (uint32_t)(uintptr_t)_end;
	uint32_t i;
	int placed = 1;

	if (!report_u32("mods_count", mbi->mods_count, env->modules) ||
	    mbi->mods_count < 2) {
		report("module placement, names and data", 0);
		return;
	}
	for (i = 0; i < mbi->mods_count; i++) {
		if ((mods[i].mod_start & 0xfff) || mods[i].mod_start < prev_end ||
		    mods[i].mod_end <= mods[i].mod_start || mods[i].mod_end > ram_end)
			placed = 0;
		prev_end = mods[i].mod_end;
	}
	report("module placement", placed);
	report("module names", mods[0].string && mods[1].string &&
	       str_eq(phys(mods[0].string), ENV_MODULE_NAME) &&
	       str_eq(phys(mods[1].string), DATA_MODULE_NAME));
	report("module data",
	       mods[1].mod_end - mods[1].mod_start == strlen(DATA_MODULE_TEXT) &&
	       !memcmp(phys(mods[1].mod_start), DATA_MODULE_TEXT,
		       strlen(DATA_MODULE_TEXT)));
}

/* [a, a + len) lies outside this kernel's image, bss and stack. */
static int outside_kernel(uint32_t a, uint32_t len)
{
	uint32_t start = (uint32_t)(uintptr_t)_image_start, end = (uint32_t)(uintptr_t)_end;

	return a + len <= start || a >= end;
}

static uint32_t cpuid_1_ebx(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return b;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

/* No exit device: with an empty IDT, ud2 ends in a triple fault. */
static __attribute__((noreturn)) void triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	__asm__ volatile("lidt %0; ud2" : : "m"(no_idt));
	cpu_halt_forever();
}

void mb_main(uint32_t magic, const struct mb_info *mbi, uint32_t eflags)
{
	struct mb_env env = { 0, 0, 0 };
	uint32_t memsize;

	check_entry_state(magic, eflags);
	report("flags", (mbi->flags & MB_IF_EXPECTED) == MB_IF_EXPECTED);
	check_env(mbi, &env);
	report_u32("mem_lower", mbi->mem_lower, LOW_RAM_KIB);
	memsize = env.memsize < MMIO_HOLE_MIB ? env.memsize : MMIO_HOLE_MIB;
	report_u32("mem_upper", mbi->mem_upper, memsize ? (memsize - 1) * 1024 : 0);
	check_mmap(mbi);
	report("cmdline", (mbi->flags & MB_IF_CMDLINE) &&
	       str_eq(phys(mbi->cmdline), CMDLINE_MARKER));
	check_modules(mbi, &env);
	report("boot_loader_name", (mbi->flags & MB_IF_LOADER_NAME) &&
	       str_eq(phys(mbi->boot_loader_name), "kvmini"));
	report_u32("NR_CPUS matches CPUID", (cpuid_1_ebx() >> 16) & 0xff, env.nr_cpus);
	report("boot data outside the kernel",
	       outside_kernel((uint32_t)(uintptr_t)mbi, sizeof(*mbi)) &&
	       outside_kernel(mbi->cmdline, strlen(phys(mbi->cmdline)) + 1) &&
	       outside_kernel(mbi->mmap_addr, mbi->mmap_length) &&
	       outside_kernel(mbi->mods_addr, mbi->mods_count * 16));

	if (failures == 0)
		put_str("multiboot: all checks passed\n");
	else
		put_str("multiboot: some checks FAILED\n");
	outl(EXIT_PORT, failures);
	put_str("multiboot: no exit device at port 0xf4\n");
	triple_fault();
}
