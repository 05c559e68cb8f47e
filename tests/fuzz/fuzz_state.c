/*
 * libFuzzer harness for the snapshot state file parser (vmm/snapfmt.c):
 * any bytes are parsed, and what it accepts must hold together. Input:
 * u8 mode, then
 *   mode even: a state file, parsed as it is;
 *   mode odd: a state file built from the rest (u8 vCPUs, u8 devices,
 *             then for each section a u8 length and that many bytes),
 *             which the parser must accept with exactly those contents.
 */
#include <errno.h>

#include "snapfmt.h"
#include "fuzz.h"

static bool inside(const struct snap_blob *b, const uint8_t *buf, size_t len)
{
	return b->p >= buf && b->len <= len && (size_t)(b->p - buf) <= len - b->len;
}

static void check_image(const struct snap_image *img, const uint8_t *buf, size_t len)
{
	unsigned int i;

	FUZZ_CHECK(img->h.nr_vcpus >= 1 && img->h.nr_vcpus <= SNAP_MAX_VCPUS);
	FUZZ_CHECK(img->h.ram_size && img->h.ram_size % SNAP_PAGE == 0);
	FUZZ_CHECK(img->nr_devs <= SNAP_MAX_DEVICES);
	FUZZ_CHECK(inside(&img->vm, buf, len));
	for (i = 0; i < img->h.nr_vcpus; i++)
		FUZZ_CHECK(img->vcpus[i].p && inside(&img->vcpus[i], buf, len));
	for (i = 0; i < img->nr_devs; i++) {
		FUZZ_CHECK(inside(&img->devs[i].data, buf, len));
		FUZZ_CHECK(img->devs[i].name[0] && strlen(img->devs[i].name) < SNAP_NAME_LEN);
		FUZZ_CHECK(img->devs[i].type[0] && strlen(img->devs[i].type) < SNAP_NAME_LEN);
	}
}

static void parse_raw(const uint8_t *data, size_t size)
{
	struct snap_image img;
	char why[256];
	/* a copy of its own size: ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);

	FUZZ_CHECK(buf);
	memcpy(buf, data, size);
	if (!snap_parse(buf, size, &img, why, sizeof(why))) {
		check_image(&img, buf, size);
		snap_image_free(&img);
	} else {
		FUZZ_CHECK(memchr(why, 0, sizeof(why)) && why[0]);
	}
	free(buf);
}

static void take_section(struct fuzz_in *in, struct snap_blob *b)
{
	uint8_t n = fuzz_u8(in);

	b->len = n < in->n ? n : in->n;
	b->p = in->p;
	in->p += b->len;
	in->n -= b->len;
}

static void round_trip(struct fuzz_in *in)
{
	struct snap_header h = { .arch = SNAP_ARCH_X86_64, .ram_size = 1 << 20 };
	struct snap_blob vm, vcpus[8], devs[8];
	struct snap_buf b = { 0 };
	struct snap_image img;
	unsigned int nv = fuzz_u8(in) % 8 + 1, nd = fuzz_u8(in) % 8, i;
	char why[256];
	size_t at;

	snprintf(h.version, sizeof(h.version), "fuzz");
	h.nr_vcpus = nv;
	snap_begin(&b, &h);
	take_section(in, &vm);
	at = snap_section_begin(&b, SNAP_TAG_VM, 0);
	snap_buf_put(&b, vm.p, vm.len);
	snap_section_end(&b, at);
	for (i = 0; i < nv; i++) {
		take_section(in, &vcpus[i]);
		at = snap_section_begin(&b, SNAP_TAG_VCPU, i);
		snap_buf_put(&b, vcpus[i].p, vcpus[i].len);
		snap_section_end(&b, at);
	}
	for (i = 0; i < nd; i++) {
		char name[SNAP_NAME_LEN] = { 0 };

		take_section(in, &devs[i]);
		at = snap_section_begin(&b, SNAP_TAG_DEVICE, i);
		snprintf(name, sizeof(name), "dev%u", i);
		snap_buf_put(&b, name, sizeof(name));
		snap_buf_put(&b, "type", 4);
		snap_buf_put(&b, NULL, SNAP_NAME_LEN - 4);
		snap_buf_put(&b, devs[i].p, devs[i].len);
		snap_section_end(&b, at);
	}
	FUZZ_CHECK(!snap_finish(&b) && !b.failed);
	FUZZ_CHECK(!snap_parse(b.p, b.len, &img, why, sizeof(why)));
	check_image(&img, b.p, b.len);
	FUZZ_CHECK(img.vm.len == vm.len && !memcmp(img.vm.p, vm.p, vm.len));
	for (i = 0; i < nv; i++)
		FUZZ_CHECK(img.vcpus[i].len == vcpus[i].len &&
			   !memcmp(img.vcpus[i].p, vcpus[i].p, vcpus[i].len));
	FUZZ_CHECK(img.nr_devs == nd);
	for (i = 0; i < nd; i++)
		FUZZ_CHECK(img.devs[i].data.len == devs[i].len &&
			   !memcmp(img.devs[i].data.p, devs[i].p, devs[i].len) &&
			   !strcmp(img.devs[i].type, "type"));
	snap_image_free(&img);
	/* any one byte changed: refused (the CRC covers everything) */
	if (b.len > 8) {
		b.p[b.len / 2] ^= 0x01;
		FUZZ_CHECK(snap_parse(b.p, b.len, &img, why, sizeof(why)) == -EINVAL);
	}
	snap_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in);

	if (size > SNAP_MAX_FILE)
		return 0;
	if (mode & 1)
		round_trip(&in);
	else
		parse_raw(in.p, in.n);
	return 0;
}
