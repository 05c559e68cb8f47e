/*
 * The snapshot state file (DIR/state): a header, tagged length-prefixed
 * sections (the VM, each vCPU, each device) and a CRC-32 over everything.
 * Building it and parsing it; the parser takes every byte as hostile.
 * docs/design.md describes the layout.
 */
#ifndef KVMINI_SNAPFMT_H
#define KVMINI_SNAPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC		"KVMINISN"
#define SNAP_FORMAT_VERSION	1
#define SNAP_HEADER_LEN		128
#define SNAP_SECTION_HDR	16
#define SNAP_VERSION_LEN	16	/* kvmini's version string, NUL-padded */
#define SNAP_ARCH_WORDS		8	/* needed KVM capabilities and a CPUID summary */
#define SNAP_NAME_LEN		24	/* a device's name and its type's, NUL-padded */
#define SNAP_MAX_VCPUS		1024
#define SNAP_MAX_DEVICES	256
#define SNAP_MAX_SECTION	(16u << 20)	/* no section is near this */
#define SNAP_MAX_FILE		(64u << 20)
#define SNAP_PAGE		4096ULL

enum snap_tag { SNAP_TAG_VM = 1, SNAP_TAG_VCPU = 2, SNAP_TAG_DEVICE = 3 };

uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len);

/* A growing buffer; a failed allocation sticks (checked once at the end). */
struct snap_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

void snap_buf_free(struct snap_buf *b);
/* Room for @len more bytes at b->p + b->len, or NULL. */
uint8_t *snap_buf_reserve(struct snap_buf *b, size_t len);
void snap_buf_put(struct snap_buf *b, const void *data, size_t len);
void snap_buf_put_le32(struct snap_buf *b, uint32_t v);
void snap_buf_put_le64(struct snap_buf *b, uint64_t v);

struct snap_header {
	char version[SNAP_VERSION_LEN + 1];	/* kvmini's that wrote it */
	uint32_t arch;				/* SNAP_ARCH_* */
	uint32_t nr_vcpus;
	uint64_t ram_size;
	uint32_t arch_words[SNAP_ARCH_WORDS];
};

#define SNAP_ARCH_X86_64 0x8664

/* Start @b with @h's header; sections follow, then snap_finish(). */
void snap_begin(struct snap_buf *b, const struct snap_header *h);
/* Open a section: returns its offset for snap_section_end(). */
size_t snap_section_begin(struct snap_buf *b, uint32_t tag, uint32_t id);
void snap_section_end(struct snap_buf *b, size_t at);
/* Section count, total length and the CRC. 0, or -ENOMEM. */
int snap_finish(struct snap_buf *b);

struct snap_blob {
	const uint8_t *p;
	size_t len;
};

struct snap_dev {
	char name[SNAP_NAME_LEN + 1];
	char type[SNAP_NAME_LEN + 1];
	struct snap_blob data;
};

/* A parsed state file; its blobs point into the caller's buffer. */
struct snap_image {
	struct snap_header h;
	struct snap_blob vm;
	struct snap_blob *vcpus;	/* h.nr_vcpus of them */
	struct snap_dev *devs;
	unsigned int nr_devs;
};

/*
 * Parse the @len bytes at @buf. 0 and @img filled (snap_image_free), or
 * -EINVAL with @why (@whylen bytes) saying what is wrong, in words for
 * "FILE: <why>". Checks, in order: size, magic, format version, CRC,
 * header fields, every section's bounds, then that the VM and every
 * vCPU have exactly one section.
 */
int snap_parse(const uint8_t *buf, size_t len, struct snap_image *img, char *why,
	       size_t whylen);
void snap_image_free(struct snap_image *img);

/* Nonzero bytes in the 4 KiB page at @p. */
bool snap_page_used(const uint8_t *p);

#endif
