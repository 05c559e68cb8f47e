/* Pieces the x86 loaders share (boot.c, bzimage.c, elf.c, multiboot.c); not for the core. */
#ifndef KVMINI_X86_LOADER_H
#define KVMINI_X86_LOADER_H

#include <string.h>

#include "boot.h"
#include "le.h"

/* Bytes to MiB, rounded up: for "needs N MiB" messages. */
static inline uint64_t mib_up(uint64_t bytes)
{
	return (bytes >> 20) + ((bytes & 0xfffff) != 0);
}

int bzimage_load(struct guest_mem *m, const struct boot_input *in,
		 struct boot_entry *out);
enum kernel_format elf_detect(const uint8_t *buf, size_t len);
/* An ELF vmlinux: a "Linux" or a PVH note, and no "kvmini" note. */
bool elf_is_linux(const uint8_t *buf, size_t len);
int elf_load(struct guest_mem *m, const struct boot_input *in,
	     enum kernel_format fmt, struct boot_entry *out);
/*
 * Copy the PT_LOAD segments of an ELF32 i386 executable to p_paddr, bss
 * zeroed (multiboot kernels). Returns e_entry and the span loaded.
 */
int elf32_load_image(struct guest_mem *m, const struct boot_input *in,
		     uint64_t *entry, uint64_t *start, uint64_t *end);

enum mb_header_state {
	MB_HEADER_NONE,
	MB_HEADER_VALID,
	MB_HEADER_BAD_CHECKSUM,	/* the magic, but the sum is not zero */
};
/* A multiboot header, 4-byte aligned in the first 8 KiB; its offset in *off. */
enum mb_header_state multiboot_find_header(const uint8_t *buf, size_t len,
					   size_t *off);
int multiboot_load(struct guest_mem *m, const struct boot_input *in,
		   struct boot_entry *out);
/* Copy the command line to CMDLINE_ADDR (at most @max_len chars). */
int boot_write_cmdline(struct guest_mem *m, const struct boot_input *in,
		       uint64_t max_len);
/* The same at @gpa. */
int boot_write_cmdline_at(struct guest_mem *m, const struct boot_input *in, uint64_t gpa,
			  uint64_t max_len);
/*
 * Whether a kernel may load [@gpa, @gpa + @len): from HIMEM_START up, and
 * with @low_ok (multiboot) also inside [LOW_KERNEL_START, EBDA_START).
 * Otherwise one message naming @path, @what ("segment 2") and the area.
 */
bool boot_kernel_span_ok(const char *path, const char *what, uint64_t gpa, uint64_t len,
			 bool low_ok);
/* Place the initrd page-aligned, as high as possible in [kernel_end, limit). */
int boot_place_initrd(struct guest_mem *m, const struct boot_input *in,
		      uint64_t kernel_start, uint64_t kernel_end,
		      uint64_t limit, uint64_t *gpa);
/* Fill the loader-independent zero page fields and copy it to ZERO_PAGE_ADDR. */
int boot_write_zero_page(struct guest_mem *m, const struct boot_input *in,
			 struct boot_params *bp, uint64_t initrd_gpa);

#endif
