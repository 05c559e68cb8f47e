/* arch/arm64/image.c on the host: Image headers good and bad, gzip, and RAM placement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "image.h"
#include "layout.h"
#include "le.h"

#define MiB (1ULL << 20)
#define IMG_LEN (256 * 1024)

static uint8_t img_buf[IMG_LEN];
static char why[160];

/* An Image of @len bytes with the given header fields, and a recognisable body. */
static uint8_t *make_image(size_t len, uint64_t text_offset, uint64_t image_size,
			   uint64_t flags)
{
	memset(img_buf, 0, sizeof(img_buf));
	for (size_t i = ARM64_IMAGE_HDR_SIZE; i < len; i++)
		img_buf[i] = (uint8_t)(i * 7);
	put_le32(img_buf, 0x91005a4d);		/* "MZ" and a branch, as Linux's first word */
	put_le64(img_buf + 8, text_offset);
	put_le64(img_buf + 16, image_size);
	put_le64(img_buf + 24, flags);
	put_le32(img_buf + 56, ARM64_IMAGE_MAGIC);
	return img_buf;
}

/* @src gzip-compressed; *out_len its size. */
static uint8_t *gzip(const uint8_t *src, size_t len, size_t *out_len)
{
	z_stream zs;
	size_t cap = compressBound((uLong)len) + 64;
	uint8_t *out = malloc(cap);

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)src;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void test_good_image(void **state)
{
	struct arm64_image img;
	uint8_t *b = make_image(IMG_LEN, 0, 4 * MiB, ARM64_IMAGE_FLAG_ANYWHERE | 2);

	(void)state;
	assert_true(arm64_image_probe(b, IMG_LEN));
	assert_int_equal(arm64_image_parse(b, IMG_LEN, &img, why, sizeof(why)), 0);
	assert_ptr_equal(img.data, b);
	assert_int_equal(img.len, IMG_LEN);
	assert_true(img.text_offset == 0);
	assert_true(img.image_size == 4 * MiB);
	assert_true(img.flags == (ARM64_IMAGE_FLAG_ANYWHERE | 2));
	assert_false(img.gzip);
	assert_null(img.owned);
	arm64_image_free(&img);
}

/* Before Linux 3.17 image_size was 0 and text_offset 0x80000, whatever the header said. */
static void test_old_kernel_image_size_zero(void **state)
{
	struct arm64_image img;
	uint8_t *b = make_image(IMG_LEN, 0x1234, 0, 0);

	(void)state;
	assert_int_equal(arm64_image_parse(b, IMG_LEN, &img, why, sizeof(why)), 0);
	assert_true(img.text_offset == 0x80000);
	assert_true(img.image_size == IMG_LEN);
	arm64_image_free(&img);
}

static void expect_refused(const uint8_t *b, size_t len, int err, const char *reason)
{
	struct arm64_image img;

	why[0] = 0;
	assert_int_equal(arm64_image_parse(b, len, &img, why, sizeof(why)), err);
	if (!strstr(why, reason))
		fail_msg("expected \"%s\" in \"%s\"", reason, why);
	assert_null(img.owned);
}

static void test_bad_magic(void **state)
{
	uint8_t *b = make_image(IMG_LEN, 0, 4 * MiB, 0);

	(void)state;
	put_le32(b + 56, 0x644d5242);
	assert_false(arm64_image_probe(b, IMG_LEN));
	expect_refused(b, IMG_LEN, -EINVAL, "bad magic 0x644d5242");
	/* an x86 bzImage is not an arm64 Image */
	memset(b, 0, 64);
	memcpy(b + 0x202, "HdrS", 4);
	expect_refused(b, IMG_LEN, -EINVAL, "not an arm64 Image");
}

static void test_truncated(void **state)
{
	uint8_t *b = make_image(IMG_LEN, 0, 4 * MiB, 0);

	(void)state;
	expect_refused(b, 63, -EINVAL, "too short");
	expect_refused(b, 0, -EINVAL, "too short");
	assert_false(arm64_image_probe(b, 63));
}

static void test_absurd_sizes_and_offsets(void **state)
{
	(void)state;
	expect_refused(make_image(IMG_LEN, 0, 1ULL << 40, 0), IMG_LEN, -EINVAL,
		       "image_size 1099511627776 is beyond 512 MiB");
	expect_refused(make_image(IMG_LEN, 0, UINT64_MAX, 0), IMG_LEN, -EINVAL, "beyond");
	expect_refused(make_image(IMG_LEN, 0, IMG_LEN - 1, 0), IMG_LEN, -EINVAL,
		       "smaller than the Image");
	expect_refused(make_image(IMG_LEN, 2 * MiB, 4 * MiB, 0), IMG_LEN, -EINVAL, "text_offset");
	expect_refused(make_image(IMG_LEN, UINT64_MAX - 4095, 4 * MiB, 0), IMG_LEN, -EINVAL,
		       "text_offset");
	expect_refused(make_image(IMG_LEN, 0x80001, 4 * MiB, 0), IMG_LEN, -EINVAL, "text_offset");
	expect_refused(make_image(IMG_LEN, 0, 4 * MiB, ARM64_IMAGE_FLAG_BE), IMG_LEN, -EINVAL,
		       "big-endian");
}

static void test_gzip_image(void **state)
{
	struct arm64_image img;
	uint8_t *b = make_image(IMG_LEN, 0x80000, 4 * MiB, 0);
	size_t zlen;
	uint8_t *z = gzip(b, IMG_LEN, &zlen);

	(void)state;
	assert_true(arm64_image_probe(z, zlen));
	assert_int_equal(arm64_image_parse(z, zlen, &img, why, sizeof(why)), 0);
	assert_true(img.gzip);
	assert_non_null(img.owned);
	assert_int_equal(img.len, IMG_LEN);
	assert_memory_equal(img.data, b, IMG_LEN);
	assert_true(img.text_offset == 0x80000);
	arm64_image_free(&img);
	assert_null(img.owned);
	free(z);
}

static void test_bad_gzip(void **state)
{
	uint8_t *b = make_image(IMG_LEN, 0, 4 * MiB, 0);
	size_t zlen;
	uint8_t *z = gzip(b, IMG_LEN, &zlen);

	(void)state;
	/* cut short */
	expect_refused(z, zlen / 2, -EINVAL, "gzip data ends early");
	expect_refused(z, 2, -EINVAL, "gzip data ends early");
	/* a corrupted deflate stream */
	memset(z + 10, 0xff, 16);
	expect_refused(z, zlen, -EINVAL, "bad gzip data");
	free(z);
	/* gzip of something that is not an Image */
	memset(b + 56, 0, 4);
	z = gzip(b, IMG_LEN, &zlen);
	expect_refused(z, zlen, -EINVAL, "bad magic");
	free(z);
	/* a gzip of nothing */
	z = gzip(b, 0, &zlen);
	expect_refused(z, zlen, -EINVAL, "too short");
	free(z);
}

static void test_place_kernel_dtb_initrd(void **state)
{
	struct arm64_boot_layout bl;
	struct arm64_image img = { .text_offset = 0x80000, .image_size = 30 * MiB };

	(void)state;
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 256 * MiB, 5000, &bl), 0);
	assert_true(bl.kernel == RAM_BASE + 0x80000);
	assert_true(bl.kernel_end == RAM_BASE + 0x80000 + 30 * MiB);
	assert_true(bl.dtb == RAM_BASE + 254 * MiB);
	assert_true(bl.dtb % (2 * MiB) == 0);
	assert_true(bl.initrd_end == bl.initrd + 5000);
	assert_true(bl.initrd % 4096 == 0);
	assert_true(bl.initrd_end <= bl.dtb && bl.initrd >= bl.kernel_end);
	/* no initrd */
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 256 * MiB, 0, &bl), 0);
	assert_true(bl.initrd == 0 && bl.initrd_end == 0);
	/* an unaligned RAM base: the kernel's base moves up to 2 MiB */
	assert_int_equal(arm64_boot_place(&img, RAM_BASE + 4096, 256 * MiB, 0, &bl), 0);
	assert_true(bl.kernel == RAM_BASE + 2 * MiB + 0x80000);
}

static void test_place_refuses_what_does_not_fit(void **state)
{
	struct arm64_boot_layout bl;
	struct arm64_image img = { .text_offset = 0, .image_size = 30 * MiB };

	(void)state;
	/* the kernel and the device tree's 2 MiB: 32 MiB is the least */
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 32 * MiB, 0, &bl), 0);
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 31 * MiB, 0, &bl), -ENOSPC);
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 1 * MiB, 0, &bl), -ENOSPC);
	/* the initrd takes what is between them, no more */
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 64 * MiB, 32 * MiB, &bl), 0);
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 64 * MiB, 32 * MiB + 1, &bl), -ENOSPC);
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, 64 * MiB, UINT64_MAX, &bl), -ENOSPC);
	/* RAM that wraps the address space */
	assert_int_equal(arm64_boot_place(&img, UINT64_MAX - MiB, 64 * MiB, 0, &bl), -ENOSPC);
	assert_int_equal(arm64_boot_place(&img, RAM_BASE, UINT64_MAX, 0, &bl), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_image),
		cmocka_unit_test(test_old_kernel_image_size_zero),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_absurd_sizes_and_offsets),
		cmocka_unit_test(test_gzip_image),
		cmocka_unit_test(test_bad_gzip),
		cmocka_unit_test(test_place_kernel_dtb_initrd),
		cmocka_unit_test(test_place_refuses_what_does_not_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
