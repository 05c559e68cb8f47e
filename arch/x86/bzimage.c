/*
 * Linux bzImage loader for the 64-bit boot protocol (no BIOS, no real-mode
 * setup code): Documentation/arch/x86/boot.rst.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "loader.h"

#define SETUP_HDR_OFFSET	0x1f1
#define SETUP_HDR_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG_MAGIC		0xaa55
#define MIN_PROTOCOL		0x020c		/* 2.12: xloadflags */
#define ENTRY64_OFFSET		0x200		/* startup_64 from the load address */
#define HEAP_END_PTR		0xfe00		/* the usual value; unused without real-mode setup */

/*
 * Copy the setup header out of the image. Its end is 0x202 plus the byte
 * at 0x201 (the jump offset); never read past the file or the struct.
 * Returns the number of header bytes copied.
 */
static size_t bzimage_read_header(const struct boot_input *in,
				  struct setup_header *hdr)
{
	size_t end = 0x202 + (size_t)in->kernel[0x201];
	size_t len;

	memset(hdr, 0, sizeof(*hdr));
	if (end > SETUP_HDR_OFFSET + sizeof(*hdr))
		end = SETUP_HDR_OFFSET + sizeof(*hdr);
	if (end > in->kernel_len)
		end = in->kernel_len;
	len = end - SETUP_HDR_OFFSET;
	memcpy(hdr, in->kernel + SETUP_HDR_OFFSET, len);
	return len;
}

static int bzimage_check(const struct boot_input *in,
			 const struct setup_header *hdr, size_t hdr_len,
			 uint64_t pm_offset)
{
	const char *path = in->kernel_path;

	if (hdr->boot_flag != BOOT_FLAG_MAGIC || hdr->header != SETUP_HDR_MAGIC) {
		kv_err("kernel %s has no Linux boot header (boot_flag 0x%04x, magic 0x%08x); pass a bzImage",
		       path, hdr->boot_flag, hdr->header);
		return -ENOEXEC;
	}
	if (hdr->version < MIN_PROTOCOL) {
		kv_err("kernel %s uses boot protocol %u.%02u; kvmini needs 2.12 or later (Linux 3.8+)",
		       path, hdr->version >> 8, hdr->version & 0xff);
		return -ENOEXEC;
	}
	/* 2.12 headers end after handover_offset */
	if (hdr_len < offsetof(struct setup_header, kernel_info_offset)) {
		kv_err("kernel %s: setup header is truncated (%zu bytes); the file is damaged",
		       path, hdr_len);
		return -ENOEXEC;
	}
	if (!(hdr->xloadflags & XLF_KERNEL_64)) {
		kv_err("kernel %s has no 64-bit entry point (XLF_KERNEL_64); pass a 64-bit x86 kernel",
		       path);
		return -ENOEXEC;
	}
	if (!hdr->relocatable_kernel) {
		kv_err("kernel %s is not relocatable; rebuild it with CONFIG_RELOCATABLE=y",
		       path);
		return -ENOEXEC;
	}
	if (pm_offset >= in->kernel_len) {
		kv_err("kernel %s is truncated: %zu bytes, but its setup code alone is %llu; the file is damaged",
		       path, in->kernel_len, (unsigned long long)pm_offset);
		return -ENOEXEC;
	}
	/* syssize counts 16-byte units of the protected-mode part */
	if ((uint64_t)hdr->syssize * 16 > in->kernel_len - pm_offset + 15) {
		kv_err("kernel %s is truncated: %zu bytes, its header says %llu; the file is damaged",
		       path, in->kernel_len,
		       (unsigned long long)(pm_offset + (uint64_t)hdr->syssize * 16));
		return -ENOEXEC;
	}
	return 0;
}

int bzimage_load(struct guest_mem *m, const struct boot_input *in,
		 struct boot_entry *out)
{
	struct boot_params bp;
	struct setup_header *hdr = &bp.hdr;
	uint64_t setup_sects, pm_offset, pm_len, load, reserve, initrd_gpa;
	uint64_t initrd_limit;
	size_t hdr_len;
	void *dst;
	int ret;

	memset(&bp, 0, sizeof(bp));
	if (in->kernel_len < 0x206) {
		kv_err("kernel %s is truncated (%zu bytes); the file is damaged",
		       in->kernel_path, in->kernel_len);
		return -ENOEXEC;
	}
	hdr_len = bzimage_read_header(in, hdr);
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	pm_offset = (setup_sects + 1) * 512;
	ret = bzimage_check(in, hdr, hdr_len, pm_offset);
	if (ret)
		return ret;

	pm_len = in->kernel_len - pm_offset;
	load = hdr->pref_address >= HIMEM_START ? hdr->pref_address :
						   KERNEL_LOAD_DEFAULT;
	/* init_size covers the decompressor's whole work area */
	reserve = hdr->init_size > pm_len ? hdr->init_size : pm_len;
	if (!guest_range_ok(m, load, reserve)) {
		kv_err("kernel %s (bzImage) needs %llu MiB at 0x%llx but --memory is %s; raise --memory",
		       in->kernel_path, (unsigned long long)mib_up(reserve),
		       (unsigned long long)load,
		       boot_memory_text(in));
		return -ENOMEM;
	}

	/* initrd_addr_max is the highest byte address the initrd may use */
	initrd_limit = (uint64_t)hdr->initrd_addr_max + 1;
	ret = boot_place_initrd(m, in, load, load + reserve, initrd_limit,
				&initrd_gpa);
	if (ret)
		return ret;
	/* cmdline_size (2.06+) excludes the terminating NUL */
	ret = boot_write_cmdline(m, in, hdr->cmdline_size);
	if (ret)
		return ret;

	dst = guest_ptr(m, load, pm_len);
	memcpy(dst, in->kernel + pm_offset, pm_len);

	hdr->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	hdr->heap_end_ptr = HEAP_END_PTR - 0x200;
	hdr->code32_start = (uint32_t)load;
	ret = boot_write_zero_page(m, in, &bp, initrd_gpa);
	if (ret)
		return ret;

	out->fmt = KFMT_BZIMAGE;
	out->entry = load + ENTRY64_OFFSET;
	out->boot_data = ZERO_PAGE_ADDR;
	out->mode32 = false;
	return 0;
}
