/*
 * The Linux arm64 Image boot protocol (Documentation/arch/arm64/booting.rst):
 * header checks, gzip-compressed Images, and where the kernel, initrd and
 * device tree go in RAM. Pure parsing and arithmetic, no KVM: the host's
 * unit tests and fuzzer build it on any arch.
 */
#ifndef KVMINI_ARM64_IMAGE_H
#define KVMINI_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_MAGIC	0x644d5241u	/* "ARM\x64", little-endian at offset 56 */
#define ARM64_IMAGE_HDR_SIZE	64
#define ARM64_IMAGE_ALIGN	(2ULL << 20)	/* the kernel's base: 2 MiB aligned */
#define ARM64_IMAGE_MAX		(512ULL << 20)	/* image_size or inflated size beyond this: refused */
#define ARM64_DTB_MAX		(2ULL << 20)	/* booting.rst: a device tree is at most 2 MiB */

/* flags, bit 0: big-endian kernel; bit 3: may be placed anywhere in RAM */
#define ARM64_IMAGE_FLAG_BE		(1ULL << 0)
#define ARM64_IMAGE_FLAG_ANYWHERE	(1ULL << 3)

struct arm64_image {
	const uint8_t *data;	/* the Image itself (inflated if it came gzip-compressed) */
	size_t len;
	uint8_t *owned;		/* the inflated copy, or NULL */
	uint64_t text_offset;	/* from a 2 MiB-aligned base */
	uint64_t image_size;	/* bytes the kernel occupies from its load address, bss included */
	uint64_t flags;
	bool gzip;
};

/* Whether @buf starts with a gzip member or an arm64 Image header. */
bool arm64_image_probe(const uint8_t *buf, size_t len);

/*
 * Check the header of @buf (inflating a gzip file first, at most
 * ARM64_IMAGE_MAX bytes). 0, or -EINVAL/-ENOMEM/-E2BIG with why in @why
 * (a sentence fragment: "bad magic 0x..., not an arm64 Image").
 */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img,
		      char *why, size_t why_len);
void arm64_image_free(struct arm64_image *img);

/* Where one boot's pieces go, all inside [ram_base, ram_base + ram_size). */
struct arm64_boot_layout {
	uint64_t kernel;		/* load address (a 2 MiB-aligned base + text_offset) */
	uint64_t kernel_end;		/* kernel + image_size */
	uint64_t dtb;			/* ARM64_DTB_MAX bytes, 2 MiB aligned, at the top of RAM */
	uint64_t initrd, initrd_end;	/* page aligned, just below the device tree; 0: none */
};

/*
 * Place @img and an initrd of @initrd_len bytes (0: none) in RAM. 0, or
 * -ENOSPC when they do not fit (the caller names --memory).
 */
int arm64_boot_place(const struct arm64_image *img, uint64_t ram_base, uint64_t ram_size,
		     uint64_t initrd_len, struct arm64_boot_layout *out);

#endif
