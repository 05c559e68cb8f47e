/*
 * libFuzzer harness for the arm64 device tree (arch/arm64/devtree.c): a
 * fuzzed platform and inventory in, and either a refusal or a tree that
 * libfdt's full check accepts, whose /chosen and cpus hold what went in.
 */
#include <errno.h>
#include <stdbool.h>
#include <libfdt.h>

#include "arm64/devtree.h"
#include "arm64/image.h"
#include "arm64/layout.h"
#include "inventory.h"
#include "fuzz.h"

#define MAX_ENTRIES	12
#define BUF_SIZES	3	/* the last index: four sizes */

/*
 * Input (little-endian):
 *   u8  vCPUs; u8 bits 0-1 GIC version 1-3 (1: invalid), bit 2 ITS, bits 3-4 buffer size;
 *   u8  entries (up to 12), then per entry: u8 role, u8 flags (bit 0 PIO, bits 1-2
 *       ranges), i8 line, u64 base, u64 len per range (3);
 *   u64 initrd start, u64 initrd end; the rest: bootargs
 */
static uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint8_t b[8];
	uint64_t v = 0;

	fuzz_take(in, b, sizeof(b));
	for (unsigned int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static const size_t buf_sizes[BUF_SIZES + 1] = { 256, 4096, 65536, ARM64_DTB_MAX };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[ARM64_DTB_MAX];
	static char bootargs[4096];
	struct fuzz_in in = { data, size };
	struct inventory inv = { 0 };
	struct arm64_platform p = { 0 };
	unsigned int n;
	uint8_t flags;
	size_t len;
	int ret, node, c;

	p.nr_cpus = fuzz_u8(&in);
	flags = fuzz_u8(&in);
	p.gic_version = flags & 3;
	p.its = flags & 4;
	p.ram_base = RAM_BASE;
	p.ram_size = 256ULL << 20;
	n = fuzz_u8(&in) % (MAX_ENTRIES + 1);
	for (unsigned int i = 0; i < n; i++) {
		struct inv_entry e = { .name = "fuzz" };
		uint8_t ef;

		e.role = (enum inv_role)(fuzz_u8(&in) % (INV_TEST_DEVICE + 1));
		ef = fuzz_u8(&in);
		e.irq = (int8_t)fuzz_u8(&in);
		e.nr_ranges = (ef >> 1) & 3;
		for (unsigned int r = 0; r < INV_MAX_RANGES; r++) {
			e.ranges[r].base = fuzz_u64(&in);
			e.ranges[r].len = fuzz_u64(&in);
			e.ranges[r].pio = ef & 1;
		}
		if (e.nr_ranges > INV_MAX_RANGES)
			e.nr_ranges = INV_MAX_RANGES;
		FUZZ_CHECK(inventory_add(&inv, &e) == 0);
	}
	p.inv = &inv;
	p.initrd_start = fuzz_u64(&in);
	p.initrd_end = fuzz_u64(&in);
	len = in.n < sizeof(bootargs) - 1 ? in.n : sizeof(bootargs) - 1;
	memcpy(bootargs, in.p, len);
	bootargs[len] = 0;
	p.bootargs = bootargs;

	ret = arm64_fdt_build(&p, buf, buf_sizes[(flags >> 3) & 3]);
	inventory_free(&inv);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOSPC);
		return 0;
	}
	FUZZ_CHECK(fdt_check_full(buf, buf_sizes[(flags >> 3) & 3]) == 0);
	node = fdt_path_offset(buf, "/chosen");
	FUZZ_CHECK(node >= 0);
	FUZZ_CHECK(strcmp(fdt_getprop(buf, node, "bootargs", NULL), bootargs) == 0);
	node = fdt_path_offset(buf, "/cpus");
	FUZZ_CHECK(node >= 0);
	n = 0;
	fdt_for_each_subnode(c, buf, node)
		n++;
	FUZZ_CHECK(n == p.nr_cpus);
	return 0;
}
