/* Kernel loading for x86: format detection, bzImage, ELF (64-bit and PVH), multiboot. */
#ifndef KVMINI_X86_BOOT_H
#define KVMINI_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "arch.h"
#include "mem.h"

enum kernel_format {
	KFMT_UNKNOWN,		/* not a kernel we can boot */
	KFMT_BZIMAGE,		/* Linux bzImage, 64-bit boot protocol */
	KFMT_ELF64,		/* ELF64 x86-64, entered in long mode at e_entry */
	KFMT_ELF_PVH,		/* ELF with XEN_ELFNOTE_PHYS32_ENTRY */
	KFMT_FIRMWARE,		/* ELF64 with a "kvmini" note: firmware/ images */
	KFMT_MULTIBOOT,		/* Multiboot 0.6.96 header: ELF32 or a.out kludge */
};

/* Content sniffing only (magic numbers); deeper checks happen at load. */
enum kernel_format kernel_detect(const uint8_t *buf, size_t len);
const char *kernel_format_name(enum kernel_format f);
/* Whether the image is a Linux kernel: a bzImage, or an ELF vmlinux. */
bool kernel_is_linux(const uint8_t *buf, size_t len);

struct boot_input {
	const char *kernel_path;	/* for messages */
	const uint8_t *kernel;
	size_t kernel_len;
	const struct file_blob *initrds;	/* --initrd files; only multiboot takes several */
	unsigned int nr_initrds;
	const char *cmdline;		/* full command line, NUL-terminated */
	const char *cmdline_user;	/* --cmdline alone (multiboot); NULL: none */
	const char *memory_text;	/* --memory as typed, for messages; NULL: unknown */
	uint64_t rsdp_gpa;		/* 0: no ACPI */
};

/* --memory for a message, as the user typed it. */
static inline const char *boot_memory_text(const struct boot_input *in)
{
	return in->memory_text ? in->memory_text : "(unknown)";
}

/* How the boot vCPU enters the guest. */
struct boot_entry {
	enum kernel_format fmt;
	uint64_t entry;		/* guest physical entry point */
	uint64_t boot_data;	/* zero page (RSI, 64-bit), else EBX: hvm_start_info or multiboot info */
	uint32_t boot_magic;	/* EAX at a 32-bit entry: 0x2BADB002 for multiboot, else 0 */
	bool mode32;		/* PVH, multiboot: 32-bit protected mode, paging off */
};

/*
 * Detect the format and load kernel + initrd(s) + command line into guest
 * memory, building the zero page / hvm_start_info / multiboot info and the
 * e820 map.
 * Returns 0, or -errno after one kv_err() line naming the file or option
 * at fault and the fix (e.g. raise --memory).
 */
int x86_load_kernel(struct guest_mem *m, const struct boot_input *in,
		    struct boot_entry *out);

/*
 * The e820 map of @m: low RAM below EBDA_START, the reserved EBDA and
 * ACPI area, RAM from 1 MiB, RAM above 4 GiB. Returns the entry count
 * (<= max).
 */
unsigned int x86_build_e820(const struct guest_mem *m,
			    struct boot_e820_entry *tbl, unsigned int max);

/*
 * Identity page tables for 0..4 GiB (2 MiB pages) and the boot GDT, in
 * guest memory at BOOT_PML4_ADDR / BOOT_GDT_ADDR. Returns 0 or -EFAULT.
 */
int x86_build_boot_pagetables(struct guest_mem *m);

#endif
