/*
 * The snapshot state file: building (snap_buf) and parsing (snap_parse).
 * All integers little-endian; see docs/design.md for the layout.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "snapfmt.h"

/* Header offsets */
#define H_MAGIC		0
#define H_FORMAT	8
#define H_HDRLEN	12
#define H_VERSION	16
#define H_ARCH		32
#define H_VCPUS		36
#define H_RAM		40
#define H_SECTIONS	48
#define H_FLAGS		52
#define H_TOTAL		56
#define H_WORDS		64

#define MAX_RAM		(1ULL << 40)	/* more than any guest kvmini builds */

static uint32_t crc_table[256];
static bool crc_ready;

/* IEEE 802.3 CRC-32 (reflected polynomial 0xedb88320), as zlib's crc32(). */
uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c;
	unsigned int i, k;

	if (!crc_ready) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
		crc_ready = true;
	}
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void snap_buf_free(struct snap_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

uint8_t *snap_buf_reserve(struct snap_buf *b, size_t len)
{
	size_t cap;
	uint8_t *p;

	if (b->failed || len > SNAP_MAX_FILE || b->len > SNAP_MAX_FILE - len) {
		b->failed = true;
		return NULL;
	}
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

void snap_buf_put(struct snap_buf *b, const void *data, size_t len)
{
	uint8_t *p = snap_buf_reserve(b, len);

	if (!p)
		return;
	if (data)
		memcpy(p, data, len);
	else
		memset(p, 0, len);
	b->len += len;
}

void snap_buf_put_le32(struct snap_buf *b, uint32_t v)
{
	uint8_t x[4];

	put_le32(x, v);
	snap_buf_put(b, x, sizeof(x));
}

void snap_buf_put_le64(struct snap_buf *b, uint64_t v)
{
	uint8_t x[8];

	put_le64(x, v);
	snap_buf_put(b, x, sizeof(x));
}

void snap_begin(struct snap_buf *b, const struct snap_header *h)
{
	uint8_t *p = snap_buf_reserve(b, SNAP_HEADER_LEN);
	unsigned int i;

	if (!p)
		return;
	memset(p, 0, SNAP_HEADER_LEN);
	memcpy(p + H_MAGIC, SNAP_MAGIC, 8);
	put_le32(p + H_FORMAT, SNAP_FORMAT_VERSION);
	put_le32(p + H_HDRLEN, SNAP_HEADER_LEN);
	memcpy(p + H_VERSION, h->version, strnlen(h->version, SNAP_VERSION_LEN));
	put_le32(p + H_ARCH, h->arch);
	put_le32(p + H_VCPUS, h->nr_vcpus);
	put_le64(p + H_RAM, h->ram_size);
	for (i = 0; i < SNAP_ARCH_WORDS; i++)
		put_le32(p + H_WORDS + 4 * i, h->arch_words[i]);
	b->len += SNAP_HEADER_LEN;
}

size_t snap_section_begin(struct snap_buf *b, uint32_t tag, uint32_t id)
{
	size_t at = b->len;

	snap_buf_put_le32(b, tag);
	snap_buf_put_le32(b, id);
	snap_buf_put_le64(b, 0);	/* the length, once known */
	return at;
}

void snap_section_end(struct snap_buf *b, size_t at)
{
	size_t len;

	if (b->failed)
		return;
	len = b->len - at - SNAP_SECTION_HDR;
	put_le64(b->p + at + 8, len);
	if (len % 8)
		snap_buf_put(b, NULL, 8 - len % 8);
	if (b->p)
		put_le32(b->p + H_SECTIONS, get_le32(b->p + H_SECTIONS) + 1);
}

int snap_finish(struct snap_buf *b)
{
	uint8_t *p = snap_buf_reserve(b, 4);

	if (!p || b->len < SNAP_HEADER_LEN)
		return -ENOMEM;
	put_le64(b->p + H_TOTAL, b->len + 4);
	put_le32(p, snap_crc32(0, b->p, b->len));
	b->len += 4;
	return 0;
}

bool snap_page_used(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	size_t i;

	for (i = 0; i < SNAP_PAGE / 8; i++)
		if (w[i])
			return true;
	return false;
}

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A NUL-padded name of @n bytes: printable, NUL-terminated within @n. */
static bool take_name(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n && p[i]; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	if (i == 0 || i == n)
		return false;
	memcpy(out, p, i);
	out[i] = 0;
	for (; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int parse_sections(const uint8_t *buf, size_t end, uint32_t nr, struct snap_image *img,
			  char *why, size_t whylen)
{
	size_t off = SNAP_HEADER_LEN;
	uint32_t i, vcpus = 0;
	bool have_vm = false;

	for (i = 0; i < nr; i++) {
		uint32_t tag, id;
		uint64_t len, padded;

		if (end - off < SNAP_SECTION_HDR)
			return refuse(why, whylen, "truncated: section %u of %u is missing", i + 1,
				      nr);
		tag = get_le32(buf + off);
		id = get_le32(buf + off + 4);
		len = get_le64(buf + off + 8);
		off += SNAP_SECTION_HDR;
		if (len > SNAP_MAX_SECTION || len > end - off)
			return refuse(why, whylen, "section %u claims %llu bytes, more than the "
				      "file holds", i + 1, (unsigned long long)len);
		padded = (len + 7) & ~7ULL;
		if (padded > end - off)
			return refuse(why, whylen, "section %u runs past the end", i + 1);
		switch (tag) {
		case SNAP_TAG_VM:
			if (have_vm)
				return refuse(why, whylen, "two VM sections");
			have_vm = true;
			img->vm.p = buf + off;
			img->vm.len = (size_t)len;
			break;
		case SNAP_TAG_VCPU:
			if (id >= img->h.nr_vcpus || img->vcpus[id].p)
				return refuse(why, whylen, "vCPU section %u is out of range or twice",
					      id);
			img->vcpus[id].p = buf + off;
			img->vcpus[id].len = (size_t)len;
			vcpus++;
			break;
		case SNAP_TAG_DEVICE: {
			struct snap_dev *d;

			if (id != img->nr_devs || img->nr_devs == SNAP_MAX_DEVICES)
				return refuse(why, whylen, "device section %u out of order", id);
			if (len < 2 * SNAP_NAME_LEN)
				return refuse(why, whylen, "device section %u is too short", id);
			d = &img->devs[img->nr_devs];
			if (!take_name(buf + off, SNAP_NAME_LEN, d->name) ||
			    !take_name(buf + off + SNAP_NAME_LEN, SNAP_NAME_LEN, d->type))
				return refuse(why, whylen, "device section %u has a bad name", id);
			d->data.p = buf + off + 2 * SNAP_NAME_LEN;
			d->data.len = (size_t)len - 2 * SNAP_NAME_LEN;
			img->nr_devs++;
			break;
		}
		default:
			return refuse(why, whylen, "section %u has an unknown tag %u", i + 1, tag);
		}
		off += (size_t)padded;
	}
	if (off != end)
		return refuse(why, whylen, "%zu bytes after the last section", end - off);
	if (!have_vm)
		return refuse(why, whylen, "no VM section");
	if (vcpus != img->h.nr_vcpus)
		return refuse(why, whylen, "%u of %u vCPU sections", vcpus, img->h.nr_vcpus);
	return 0;
}

int snap_parse(const uint8_t *buf, size_t len, struct snap_image *img, char *why,
	       size_t whylen)
{
	uint32_t format, nr, crc, i;
	uint64_t total;
	int ret;

	memset(img, 0, sizeof(*img));
	if (len < SNAP_HEADER_LEN + 4)
		return refuse(why, whylen, "truncated: %zu bytes, not even a header", len);
	if (memcmp(buf + H_MAGIC, SNAP_MAGIC, 8))
		return refuse(why, whylen, "not a kvmini snapshot (wrong magic)");
	format = get_le32(buf + H_FORMAT);
	if (format != SNAP_FORMAT_VERSION)
		return refuse(why, whylen, "state format version %u; this kvmini reads version %u",
			      format, SNAP_FORMAT_VERSION);
	total = get_le64(buf + H_TOTAL);
	if (total != len)
		return refuse(why, whylen, "truncated or extended: %zu bytes, the header says %llu",
			      len, (unsigned long long)total);
	crc = get_le32(buf + len - 4);
	if (snap_crc32(0, buf, len - 4) != crc)
		return refuse(why, whylen, "checksum mismatch: the file is damaged");
	if (get_le32(buf + H_HDRLEN) != SNAP_HEADER_LEN || get_le32(buf + H_FLAGS))
		return refuse(why, whylen, "unknown header length or flags");
	for (i = H_WORDS + 4 * SNAP_ARCH_WORDS; i < SNAP_HEADER_LEN; i++)
		if (buf[i])
			return refuse(why, whylen, "reserved header bytes are set");
	for (i = 0; i < SNAP_VERSION_LEN && buf[H_VERSION + i]; i++)
		if (buf[H_VERSION + i] < 0x20 || buf[H_VERSION + i] > 0x7e)
			return refuse(why, whylen, "the kvmini version is not text");
	memcpy(img->h.version, buf + H_VERSION, i);
	img->h.version[i] = 0;
	img->h.arch = get_le32(buf + H_ARCH);
	img->h.nr_vcpus = get_le32(buf + H_VCPUS);
	img->h.ram_size = get_le64(buf + H_RAM);
	for (i = 0; i < SNAP_ARCH_WORDS; i++)
		img->h.arch_words[i] = get_le32(buf + H_WORDS + 4 * i);
	if (img->h.nr_vcpus < 1 || img->h.nr_vcpus > SNAP_MAX_VCPUS)
		return refuse(why, whylen, "%u vCPUs (1 to %u)", img->h.nr_vcpus, SNAP_MAX_VCPUS);
	if (!img->h.ram_size || img->h.ram_size % SNAP_PAGE || img->h.ram_size > MAX_RAM)
		return refuse(why, whylen, "RAM size %llu is 0, not page-aligned or too large",
			      (unsigned long long)img->h.ram_size);
	nr = get_le32(buf + H_SECTIONS);
	if (nr > 1 + SNAP_MAX_VCPUS + SNAP_MAX_DEVICES)
		return refuse(why, whylen, "%u sections", nr);
	img->vcpus = calloc(img->h.nr_vcpus, sizeof(*img->vcpus));
	img->devs = calloc(SNAP_MAX_DEVICES, sizeof(*img->devs));
	if (!img->vcpus || !img->devs) {
		snap_image_free(img);
		return refuse(why, whylen, "out of memory");
	}
	ret = parse_sections(buf, len - 4, nr, img, why, whylen);
	if (ret)
		snap_image_free(img);
	return ret;
}

void snap_image_free(struct snap_image *img)
{
	free(img->vcpus);
	free(img->devs);
	img->vcpus = NULL;
	img->devs = NULL;
	img->nr_devs = 0;
}
