/*
 * Multiboot (specification 0.6.96) kernel loader: finds the header, loads
 * the image (ELF32, or the header's a.out kludge addresses), puts every
 * --initrd after it as a module, and builds the multiboot information.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "loader.h"

#define MB_HEADER_MAGIC		0x1badb002u
#define MB_BOOTLOADER_MAGIC	0x2badb002u
#define MB_SEARCH_LEN		8192	/* the header lies in the first 8 KiB */
#define MB_HEADER_MIN		12	/* magic, flags, checksum */

/* Header flags. Bits 0-15 are requirements we must meet or refuse. */
#define MB_HF_PAGE_ALIGN	(1u << 0)	/* modules page-aligned: always */
#define MB_HF_MEMINFO		(1u << 1)	/* mem_* fields: always */
#define MB_HF_VIDEO		(1u << 2)	/* a video mode: no display here */
#define MB_HF_REQUIRED		0xffffu
#define MB_HF_KNOWN		(MB_HF_PAGE_ALIGN | MB_HF_MEMINFO | MB_HF_VIDEO)
#define MB_HF_AOUT_KLUDGE	(1u << 16)	/* load addresses in the header */

/* Information flags: which fields of struct mb_info are valid. */
#define MB_IF_MEM		(1u << 0)
#define MB_IF_CMDLINE		(1u << 2)
#define MB_IF_MODS		(1u << 3)
#define MB_IF_MMAP		(1u << 6)
#define MB_IF_LOADER_NAME	(1u << 9)

#define MB_INFO_RESERVED	128	/* the structure, framebuffer fields included */
/*
 * The command line and then the information area: at CMDLINE_ADDR and
 * MULTIBOOT_INFO_ADDR when the kernel leaves them free, else moved as a block.
 */
#define MB_DATA_LEN		(CMDLINE_MAX + MULTIBOOT_INFO_END - MULTIBOOT_INFO_ADDR)
#define MB_INFO_OFF		CMDLINE_MAX
#define MB_LOADER_NAME		"kvmini"
#define MB_MMAP_MAX		32
#define MB_NAME_MAX		256	/* module string, with its NUL */

struct mb_header {
	uint32_t magic;
	uint32_t flags;
	uint32_t checksum;
	/* valid with MB_HF_AOUT_KLUDGE */
	uint32_t header_addr;
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
	uint32_t entry_addr;
};

/* The information structure up to the VBE fields; the rest stays zero. */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB from 0 */
	uint32_t mem_upper;		/* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;		/* bytes */
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
};

struct mb_module {
	uint32_t mod_start;
	uint32_t mod_end;		/* exclusive */
	uint32_t string;
	uint32_t reserved;
};

/* size counts the bytes after itself, so a reader steps by size + 4. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t base;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));

_Static_assert(sizeof(struct mb_header) == 32, "multiboot header ABI");
_Static_assert(sizeof(struct mb_info) == 88, "multiboot info ABI");
_Static_assert(sizeof(struct mb_module) == 16, "multiboot module ABI");
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap ABI");

/* Room for the info structure and everything it points to. */
struct mb_area {
	uint8_t *host;
	uint64_t gpa;
	uint64_t used;
	uint64_t size;
};

/* Where the kernel ended up, for messages and module placement. */
struct mb_image {
	uint64_t start, end, entry;
};

enum mb_header_state multiboot_find_header(const uint8_t *buf, size_t len,
					   size_t *off)
{
	enum mb_header_state state = MB_HEADER_NONE;
	size_t end = len < MB_SEARCH_LEN ? len : MB_SEARCH_LEN;
	size_t pos;

	*off = 0;
	for (pos = 0; pos + MB_HEADER_MIN <= end; pos += 4) {
		if (get_le32(buf + pos) != MB_HEADER_MAGIC)
			continue;
		if ((uint32_t)(MB_HEADER_MAGIC + get_le32(buf + pos + 4) +
			       get_le32(buf + pos + 8)) == 0) {
			*off = pos;
			return MB_HEADER_VALID;
		}
		if (state == MB_HEADER_NONE) {
			*off = pos;
			state = MB_HEADER_BAD_CHECKSUM;
		}
	}
	return state;
}

/* The a.out kludge: the header says which file bytes go where. */
static int mb_load_kludge(struct guest_mem *m, const struct boot_input *in,
			  const struct mb_header *h, size_t hdr_off,
			  struct mb_image *img)
{
	const char *path = in->kernel_path;
	uint64_t file_off, load_len, mem_end;
	uint8_t *dst;

	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > hdr_off) {
		kv_err("kernel %s: multiboot load_addr 0x%x and header_addr 0x%x put the image start before the file start; the header's addresses are inconsistent",
		       path, h->load_addr, h->header_addr);
		return -ENOEXEC;
	}
	file_off = hdr_off - (h->header_addr - h->load_addr);
	if (h->load_end_addr == 0) {	/* load up to the end of the file */
		load_len = in->kernel_len - file_off;
	} else if (h->load_end_addr <= h->load_addr) {
		kv_err("kernel %s: multiboot load_end_addr 0x%x is not above load_addr 0x%x; the header's addresses are inconsistent",
		       path, h->load_end_addr, h->load_addr);
		return -ENOEXEC;
	} else {
		load_len = (uint64_t)h->load_end_addr - h->load_addr;
	}
	if (load_len > in->kernel_len - file_off) {
		kv_err("kernel %s is truncated: multiboot load_end_addr 0x%x needs %llu bytes from file offset 0x%llx, the file has %zu; the file is damaged",
		       path, h->load_end_addr, (unsigned long long)load_len,
		       (unsigned long long)file_off, in->kernel_len);
		return -ENOEXEC;
	}
	mem_end = (uint64_t)h->load_addr + load_len;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < mem_end) {
			kv_err("kernel %s: multiboot bss_end_addr 0x%x is below the end of the loaded image 0x%llx; the header's addresses are inconsistent",
			       path, h->bss_end_addr, (unsigned long long)mem_end);
			return -ENOEXEC;
		}
		mem_end = h->bss_end_addr;
	}
	if (h->entry_addr < h->load_addr || h->entry_addr >= h->load_addr + load_len) {
		kv_err("kernel %s: multiboot entry_addr 0x%x is outside the loaded image [0x%x, 0x%llx); the header's addresses are inconsistent",
		       path, h->entry_addr, h->load_addr,
		       (unsigned long long)(h->load_addr + load_len));
		return -ENOEXEC;
	}
	dst = guest_ptr(m, h->load_addr, mem_end - h->load_addr);
	if (!dst) {
		kv_err("kernel %s: image [0x%x, 0x%llx) is outside guest RAM (--memory %s); raise --memory",
		       path, h->load_addr, (unsigned long long)mem_end,
		       boot_memory_text(in));
		return -ENOMEM;
	}
	if (!boot_kernel_span_ok(path, "the multiboot image", h->load_addr,
				 mem_end - h->load_addr, true))
		return -ENOEXEC;
	memcpy(dst, in->kernel + file_off, load_len);
	memset(dst + load_len, 0, mem_end - h->load_addr - load_len);
	img->start = h->load_addr;
	img->end = mem_end;
	img->entry = h->entry_addr;
	return 0;
}

static int mb_load_image(struct guest_mem *m, const struct boot_input *in,
			 struct mb_header *h, struct mb_image *img)
{
	const char *path = in->kernel_path;
	enum mb_header_state state;
	size_t off;

	state = multiboot_find_header(in->kernel, in->kernel_len, &off);
	if (state == MB_HEADER_BAD_CHECKSUM) {
		kv_err("kernel %s: the multiboot header at offset 0x%zx has a bad checksum (magic + flags + checksum must be 0); the file is damaged",
		       path, off);
		return -ENOEXEC;
	}
	if (state != MB_HEADER_VALID) {	/* kernel_detect said otherwise */
		kv_err("kernel %s has no multiboot header in its first 8 KiB; pass a multiboot kernel",
		       path);
		return -ENOEXEC;
	}
	memset(h, 0, sizeof(*h));
	memcpy(h, in->kernel + off, MB_HEADER_MIN);
	if (h->flags & MB_HF_REQUIRED & ~MB_HF_KNOWN) {
		kv_err("kernel %s: multiboot header flags 0x%x require features kvmini does not know (bits 3-15); use a boot loader that supports them",
		       path, h->flags);
		return -ENOEXEC;
	}
	if (h->flags & MB_HF_VIDEO)
		kv_warn("kernel %s asks for a video mode; kvmini has no display, so it gets none",
			path);
	if (!(h->flags & MB_HF_AOUT_KLUDGE)) {
		if (in->kernel_len < 4 || memcmp(in->kernel, "\177ELF", 4)) {
			kv_err("kernel %s: multiboot header without load addresses (flags bit 16) in a file that is not ELF; set bit 16 and the address fields, or link the kernel as ELF32",
			       path);
			return -ENOEXEC;
		}
		return elf32_load_image(m, in, &img->entry, &img->start, &img->end);
	}
	if (in->kernel_len - off < sizeof(*h)) {
		kv_err("kernel %s is truncated: its multiboot header at offset 0x%zx ends past the end of the file (%zu bytes); the file is damaged",
		       path, off, in->kernel_len);
		return -ENOEXEC;
	}
	memcpy(h, in->kernel + off, sizeof(*h));
	return mb_load_kludge(m, in, h, off, img);
}

/* Copy @len bytes into the info area; 0 if it is full. */
static uint32_t mb_area_put(struct mb_area *a, const void *src, uint64_t len)
{
	uint64_t at = ALIGN_UP(a->used, 8);

	if (at > a->size || len > a->size - at)
		return 0;
	memcpy(a->host + at, src, len);
	a->used = at + len;
	return (uint32_t)(a->gpa + at);
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * Modules go page-aligned, in order, right after the kernel (kvm-unit-tests
 * puts its heap after them), and below 4 GiB: the fields are 32-bit.
 */
static int mb_place_modules(struct guest_mem *m, const struct boot_input *in,
			    const struct mb_image *img, struct mb_module *mods, uint64_t *end)
{
	uint64_t low_end = guest_mem_low_end(m);
	/* a kernel below 1 MiB: its modules from 1 MiB, clear of the reserved area */
	uint64_t next = img->end < HIMEM_START ? HIMEM_START : img->end;
	unsigned int i;

	for (i = 0; i < in->nr_initrds; i++) {
		const struct file_blob *f = &in->initrds[i];
		uint64_t addr = ALIGN_UP(next, 0x1000);
		uint8_t *dst = NULL;

		if (addr <= low_end && f->len <= low_end - addr)
			dst = guest_ptr(m, addr, f->len);
		if (!dst) {
			kv_err("kernel %s (%llu MiB) and module %s (%llu MiB, --initrd %u) do not fit in the %llu MiB of RAM below the 32-bit MMIO hole; raise --memory or use smaller modules",
			       in->kernel_path,
			       (unsigned long long)mib_up(img->end - img->start),
			       f->path, (unsigned long long)mib_up(f->len), i + 1,
			       (unsigned long long)(low_end >> 20));
			return -ENOMEM;
		}
		memcpy(dst, f->data, f->len);
		mods[i].mod_start = (uint32_t)addr;
		mods[i].mod_end = (uint32_t)(addr + f->len);
		mods[i].reserved = 0;
		kv_debug("multiboot module %u: %s at [0x%llx, 0x%llx)", i, f->path,
			 (unsigned long long)addr, (unsigned long long)(addr + f->len));
		next = addr + f->len;
	}
	*end = next;
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Where the command line and the information go: their usual place, else
 * the first of a few low ones the kernel leaves free, else after the last
 * module. 0 if none fits in RAM.
 */
static uint64_t mb_place_data(const struct guest_mem *m, const struct mb_image *img,
			      uint64_t mods_end)
{
	const uint64_t low[] = {
		CMDLINE_ADDR,
		ALIGN_DOWN(EBDA_START - MB_DATA_LEN, 0x1000),
		LOW_KERNEL_START,
	};
	uint64_t high = ALIGN_UP(mods_end > HIMEM_START ? mods_end : HIMEM_START, 0x1000);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(low); i++)
		if (low[i] >= LOW_KERNEL_START && low[i] + MB_DATA_LEN <= EBDA_START &&
		    !overlaps(low[i], MB_DATA_LEN, img->start, img->end - img->start) &&
		    guest_ptr(m, low[i], MB_DATA_LEN))
			return low[i];
	if (high < guest_mem_low_end(m) && guest_ptr(m, high, MB_DATA_LEN) &&
	    !overlaps(high, MB_DATA_LEN, img->start, img->end - img->start))
		return high;
	return 0;
}

/* mem_lower/mem_upper and the memory map, both from the e820 table. */
static int mb_put_memory(const struct guest_mem *m, struct mb_area *a,
			 struct mb_info *info)
{
	struct boot_e820_entry e820[MB_MMAP_MAX];
	struct mb_mmap_entry map[MB_MMAP_MAX];
	unsigned int i, n;

	n = x86_build_e820(m, e820, MB_MMAP_MAX);
	for (i = 0; i < n; i++) {
		map[i].size = sizeof(map[i]) - sizeof(map[i].size);
		map[i].base = e820[i].addr;
		map[i].length = e820[i].size;
		map[i].type = e820[i].type;
		if (e820[i].type != 1)
			continue;
		if (e820[i].addr == 0)
			info->mem_lower = (uint32_t)(e820[i].size >> 10);
		else if (e820[i].addr == HIMEM_START)
			info->mem_upper = (uint32_t)(e820[i].size >> 10);
	}
	info->mmap_length = n * sizeof(map[0]);
	info->mmap_addr = mb_area_put(a, map, info->mmap_length);
	if (!info->mmap_addr)
		return -ENOSPC;
	info->flags |= MB_IF_MEM | MB_IF_MMAP;
	return 0;
}

static int mb_write_info(struct guest_mem *m, const struct boot_input *in,
			 struct mb_module *mods, uint64_t data)
{
	struct mb_area a = {
		.gpa = data + MB_INFO_OFF,
		.size = MULTIBOOT_INFO_END - MULTIBOOT_INFO_ADDR,
	};
	struct mb_info info = { 0 };
	unsigned int i;

	a.host = guest_ptr(m, a.gpa, a.size);
	if (!a.host) {
		kv_err("--memory %s leaves no room for the multiboot information at 0x%llx; raise --memory",
		       boot_memory_text(in),
		       (unsigned long long)a.gpa);
		return -ENOMEM;
	}
	memset(a.host, 0, a.size);
	/* the structure first, filled in last; zero beyond what we set */
	a.used = MB_INFO_RESERVED;
	if (mb_put_memory(m, &a, &info))
		goto full;
	info.cmdline = (uint32_t)data;
	info.flags |= MB_IF_CMDLINE;
	info.boot_loader_name = mb_area_put(&a, MB_LOADER_NAME, sizeof(MB_LOADER_NAME));
	if (!info.boot_loader_name)
		goto full;
	info.flags |= MB_IF_LOADER_NAME;
	for (i = 0; i < in->nr_initrds; i++) {
		const char *name = path_basename(in->initrds[i].path);
		size_t len = strnlen(name, MB_NAME_MAX - 1);
		char buf[MB_NAME_MAX];

		memcpy(buf, name, len);	/* a longer name is cut short */
		buf[len] = 0;
		mods[i].string = mb_area_put(&a, buf, len + 1);
		if (!mods[i].string)
			goto full;
	}
	/* mods_addr is meaningful even with no modules */
	info.mods_count = in->nr_initrds;
	info.mods_addr = mb_area_put(&a, mods, in->nr_initrds * sizeof(*mods));
	if (!info.mods_addr)
		goto full;
	info.flags |= MB_IF_MODS;
	memcpy(a.host, &info, sizeof(info));
	return 0;
full:	/* sizes are bounded by MB_MMAP_MAX, MAX_INITRDS and MB_NAME_MAX */
	kv_err("multiboot information for kernel %s does not fit in [0x%llx, 0x%llx); pass fewer --initrd files",
	       in->kernel_path, (unsigned long long)a.gpa,
	       (unsigned long long)(a.gpa + a.size));
	return -ENOSPC;
}

/*
 * 32-bit protected mode, paging off, at the image's entry; EAX holds the
 * boot loader magic and EBX the information structure.
 */
int multiboot_load(struct guest_mem *m, const struct boot_input *in,
		   struct boot_entry *out)
{
	struct mb_module mods[MAX_INITRDS];
	struct boot_input mb_in;
	struct mb_header h;
	struct mb_image img;
	uint64_t mods_end, data;
	int ret;

	if (in->nr_initrds > MAX_INITRDS) {	/* config.c caps --initrd */
		kv_err("kernel %s: %u modules given, kvmini takes at most %d; pass fewer --initrd files",
		       in->kernel_path, in->nr_initrds, MAX_INITRDS);
		return -E2BIG;
	}
	ret = mb_load_image(m, in, &h, &img);
	if (ret)
		return ret;
	memset(mods, 0, sizeof(mods));
	ret = mb_place_modules(m, in, &img, mods, &mods_end);
	if (ret)
		return ret;
	data = mb_place_data(m, &img, mods_end);
	if (!data) {
		kv_err("kernel %s [0x%llx, 0x%llx) and its modules leave no room for the %llu KiB of multiboot command line and information; raise --memory",
		       in->kernel_path, (unsigned long long)img.start,
		       (unsigned long long)img.end, (unsigned long long)(MB_DATA_LEN >> 10));
		return -ENOMEM;
	}
	if (data != CMDLINE_ADDR)
		kv_debug("multiboot command line and information at 0x%llx, clear of the kernel",
			 (unsigned long long)data);
	/* Linux's default options mean nothing to a multiboot payload: --cmdline only */
	mb_in = *in;
	mb_in.cmdline = in->cmdline_user ? in->cmdline_user : "";
	ret = boot_write_cmdline_at(m, &mb_in, data, CMDLINE_MAX - 1);
	if (ret)
		return ret;
	ret = mb_write_info(m, in, mods, data);
	if (ret)
		return ret;
	out->fmt = KFMT_MULTIBOOT;
	out->entry = img.entry;
	out->boot_data = data + MB_INFO_OFF;
	out->boot_magic = MB_BOOTLOADER_MAGIC;
	out->mode32 = true;
	return 0;
}
