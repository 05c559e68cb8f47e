/* Linux arm64 Image parsing, gzip inflation and RAM placement (image.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "image.h"
#include "le.h"

#define GZIP_MAGIC0	0x1f
#define GZIP_MAGIC1	0x8b
#define PAGE_SIZE_4K	4096ULL

static bool is_gzip(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == GZIP_MAGIC0 && buf[1] == GZIP_MAGIC1;
}

static bool has_magic(const uint8_t *buf, size_t len)
{
	return len >= ARM64_IMAGE_HDR_SIZE && get_le32(buf + 56) == ARM64_IMAGE_MAGIC;
}

bool arm64_image_probe(const uint8_t *buf, size_t len)
{
	return is_gzip(buf, len) || has_magic(buf, len);
}

/*
 * Inflate one gzip file into a buffer that grows up to ARM64_IMAGE_MAX.
 * Trailing bytes after the first member are ignored, as gzip -d does
 * with padding.
 */
static int inflate_gzip(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len,
			char *why, size_t why_len)
{
	z_stream zs;
	size_t cap = len * 4 < (16u << 20) ? (16u << 20) : len * 4, used = 0;
	uint8_t *dst;
	int zr, ret = 0;

	if (cap > ARM64_IMAGE_MAX)
		cap = ARM64_IMAGE_MAX;
	dst = malloc(cap);
	if (!dst)
		return -ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		free(dst);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)buf;
	for (;;) {
		/* zlib counts in uInt: feed and drain at most 1 GiB at a time */
		size_t in_left = len - (size_t)(zs.next_in - buf);

		zs.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
		zs.next_out = dst + used;
		zs.avail_out = (uInt)(cap - used > (1u << 30) ? (1u << 30) : cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = (size_t)(zs.next_out - dst);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0 &&
		    (size_t)(zs.next_in - buf) == len) {
			snprintf(why, why_len, "gzip data ends early (after %zu bytes inflated)",
				 used);
			ret = -EINVAL;
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			snprintf(why, why_len, "bad gzip data (%s)", zs.msg ? zs.msg : "zlib error");
			ret = -EINVAL;
			goto out;
		}
		if (used == cap) {
			uint8_t *bigger;

			if (cap >= ARM64_IMAGE_MAX) {
				snprintf(why, why_len, "inflates to more than %llu MiB",
					 ARM64_IMAGE_MAX >> 20);
				ret = -E2BIG;
				goto out;
			}
			cap = cap * 2 > ARM64_IMAGE_MAX ? ARM64_IMAGE_MAX : cap * 2;
			bigger = realloc(dst, cap);
			if (!bigger) {
				ret = -ENOMEM;
				goto out;
			}
			dst = bigger;
		}
	}
out:
	inflateEnd(&zs);
	if (ret) {
		free(dst);
		return ret;
	}
	*out = dst;
	*out_len = used;
	return 0;
}

static int check_header(struct arm64_image *img, char *why, size_t why_len)
{
	const uint8_t *h = img->data;

	if (img->len < ARM64_IMAGE_HDR_SIZE) {
		snprintf(why, why_len, "too short for an arm64 Image header (%zu bytes)", img->len);
		return -EINVAL;
	}
	if (get_le32(h + 56) != ARM64_IMAGE_MAGIC) {
		snprintf(why, why_len, "bad magic 0x%08x at offset 56, not an arm64 Image",
			 get_le32(h + 56));
		return -EINVAL;
	}
	img->text_offset = get_le64(h + 8);
	img->image_size = get_le64(h + 16);
	img->flags = get_le64(h + 24);
	/* image_size 0: a kernel older than 3.17, whose text_offset is 0x80000 */
	if (img->image_size == 0) {
		img->text_offset = 0x80000;
		img->image_size = img->len;
	}
	if (img->flags & ARM64_IMAGE_FLAG_BE) {
		snprintf(why, why_len, "a big-endian kernel; kvmini boots little-endian ones");
		return -EINVAL;
	}
	if (img->text_offset >= ARM64_IMAGE_ALIGN || img->text_offset % PAGE_SIZE_4K) {
		snprintf(why, why_len, "text_offset 0x%llx is not a page offset below 2 MiB",
			 (unsigned long long)img->text_offset);
		return -EINVAL;
	}
	if (img->image_size > ARM64_IMAGE_MAX) {
		snprintf(why, why_len, "image_size %llu is beyond %llu MiB",
			 (unsigned long long)img->image_size, ARM64_IMAGE_MAX >> 20);
		return -EINVAL;
	}
	if (img->image_size < img->len) {
		snprintf(why, why_len, "image_size %llu is smaller than the Image (%zu bytes)",
			 (unsigned long long)img->image_size, img->len);
		return -EINVAL;
	}
	return 0;
}

int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img,
		      char *why, size_t why_len)
{
	int ret;

	memset(img, 0, sizeof(*img));
	if (is_gzip(buf, len)) {
		ret = inflate_gzip(buf, len, &img->owned, &img->len, why, why_len);
		if (ret)
			return ret;
		img->data = img->owned;
		img->gzip = true;
	} else {
		img->data = buf;
		img->len = len;
	}
	ret = check_header(img, why, why_len);
	if (ret)
		arm64_image_free(img);
	return ret;
}

void arm64_image_free(struct arm64_image *img)
{
	free(img->owned);
	img->owned = NULL;
	img->data = NULL;
	img->len = 0;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

int arm64_boot_place(const struct arm64_image *img, uint64_t ram_base, uint64_t ram_size,
		     uint64_t initrd_len, struct arm64_boot_layout *out)
{
	uint64_t base = (ram_base + ARM64_IMAGE_ALIGN - 1) & ~(ARM64_IMAGE_ALIGN - 1);
	uint64_t ram_end, kernel_end, dtb;

	memset(out, 0, sizeof(*out));
	if (ram_base > UINT64_MAX - ram_size || base < ram_base)
		return -ENOSPC;
	ram_end = ram_base + ram_size;
	/* text_offset < 2 MiB and image_size <= 512 MiB (checked): no overflow below */
	kernel_end = base + img->text_offset + img->image_size;
	if (ram_end < ARM64_DTB_MAX || kernel_end > ram_end)
		return -ENOSPC;
	dtb = align_down(ram_end - ARM64_DTB_MAX, ARM64_IMAGE_ALIGN);
	if (dtb < kernel_end)
		return -ENOSPC;
	out->kernel = base + img->text_offset;
	out->kernel_end = kernel_end;
	out->dtb = dtb;
	if (initrd_len) {
		uint64_t room = dtb - kernel_end, start;

		if (initrd_len > room)
			return -ENOSPC;
		start = align_down(dtb - initrd_len, PAGE_SIZE_4K);
		if (start < kernel_end)
			return -ENOSPC;
		out->initrd = start;
		out->initrd_end = start + initrd_len;
	}
	return 0;
}
