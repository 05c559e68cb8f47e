/*
 * libFuzzer harness for the arm64 Image loader (arch/arm64/image.c): the
 * header checks, gzip inflation and the placement of kernel, initrd and
 * device tree, with the result copied into a fake guest RAM.
 */
#include <errno.h>
#include <stdbool.h>

#include "arm64/image.h"
#include "arm64/layout.h"
#include "fuzz.h"

#define MiB		(1ULL << 20)
#define NR_RAM_SIZES	4

/*
 * Input (little-endian; mkcorpus.py writes the seeds):
 *   u8  RAM size (below), bits 0-1
 *   u16 initrd length, in 4 KiB units
 *   the rest: the kernel file (an Image, or gzip)
 */
static const uint64_t ram_sizes[NR_RAM_SIZES] = { 3 * MiB, 8 * MiB, 40 * MiB, 600 * MiB };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	struct fuzz_in in = { data, size };
	struct arm64_boot_layout bl;
	struct arm64_image img;
	uint64_t ram_size, initrd_len;
	char why[160];
	void *dst;

	if (!mem.base)
		fuzz_mem_alloc(&mem, 64 * MiB, 64 * MiB);
	ram_size = ram_sizes[fuzz_u8(&in) % NR_RAM_SIZES];
	initrd_len = (uint64_t)fuzz_u16(&in) * 4096;
	int ret;

	why[0] = 0;
	ret = arm64_image_parse(in.p, in.n, &img, why, sizeof(why));
	if (ret) {
		FUZZ_CHECK(img.owned == NULL);
		FUZZ_CHECK(ret == -ENOMEM || why[0] != 0);	/* every refusal says why */
		return 0;
	}
	FUZZ_CHECK(img.len >= ARM64_IMAGE_HDR_SIZE && img.len <= img.image_size);
	FUZZ_CHECK(img.image_size <= ARM64_IMAGE_MAX && img.text_offset < ARM64_IMAGE_ALIGN);
	if (arm64_boot_place(&img, RAM_BASE, ram_size, initrd_len, &bl) == 0) {
		FUZZ_CHECK(bl.kernel >= RAM_BASE && bl.kernel_end - bl.kernel == img.image_size);
		FUZZ_CHECK((bl.kernel - img.text_offset) % ARM64_IMAGE_ALIGN == 0);
		FUZZ_CHECK(bl.dtb >= bl.kernel_end && bl.dtb % ARM64_IMAGE_ALIGN == 0);
		FUZZ_CHECK(bl.dtb + ARM64_DTB_MAX <= RAM_BASE + ram_size);
		if (initrd_len)
			FUZZ_CHECK(bl.initrd >= bl.kernel_end && bl.initrd_end <= bl.dtb &&
				   bl.initrd_end - bl.initrd == initrd_len);
		/* the fake RAM is 64 MiB from 0: what fits there is copied, as the loader does */
		dst = guest_ptr(&mem, bl.kernel - RAM_BASE, img.len);
		if (dst)
			memcpy(dst, img.data, img.len);
	}
	arm64_image_free(&img);
	return 0;
}
