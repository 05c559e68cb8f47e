/* The snapshot state file: what is built parses back, and what is damaged is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "le.h"
#include "snapfmt.h"

static struct snap_buf b;
static char why[256];

static void add(uint32_t tag, uint32_t id, const char *payload, size_t len)
{
	size_t at = snap_section_begin(&b, tag, id);

	snap_buf_put(&b, payload, len);
	snap_section_end(&b, at);
}

static void add_device(uint32_t id, const char *name, const char *type, const char *data)
{
	char n[SNAP_NAME_LEN] = { 0 }, t[SNAP_NAME_LEN] = { 0 };
	size_t at = snap_section_begin(&b, SNAP_TAG_DEVICE, id);

	strcpy(n, name);
	strcpy(t, type);
	snap_buf_put(&b, n, sizeof(n));
	snap_buf_put(&b, t, sizeof(t));
	snap_buf_put(&b, data, strlen(data));
	snap_section_end(&b, at);
}

/* Two vCPUs, 16 MiB, the VM, both vCPUs and two devices. */
static int build(void **state)
{
	struct snap_header h = { .arch = SNAP_ARCH_X86_64, .nr_vcpus = 2, .ram_size = 16 << 20,
				 .arch_words = { 7, 1, 2, 3 } };

	(void)state;
	memset(&b, 0, sizeof(b));
	strcpy(h.version, "0.1.0");
	snap_begin(&b, &h);
	add(SNAP_TAG_VM, 0, "vm-state", 8);
	add(SNAP_TAG_VCPU, 1, "cpu1", 4);
	add(SNAP_TAG_VCPU, 0, "cpu-zero", 8);
	add_device(0, "serial0", "serial", "uart");
	add_device(1, "pm0", "acpi-pm", "");
	assert_int_equal(snap_finish(&b), 0);
	assert_false(b.failed);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	snap_buf_free(&b);
	return 0;
}

static void refused(const char *expect)
{
	struct snap_image img;

	assert_int_equal(snap_parse(b.p, b.len, &img, why, sizeof(why)), -EINVAL);
	if (!strstr(why, expect))
		fail_msg("'%s' does not say '%s'", why, expect);
	assert_null(img.vcpus);
}

/* After an edit of the bytes: the CRC made right again, so later checks are reached. */
static void fix_crc(void)
{
	put_le32(b.p + b.len - 4, snap_crc32(0, b.p, b.len - 4));
}

static void round_trip(void **state)
{
	struct snap_image img;

	(void)state;
	assert_int_equal(b.len % 4, 0);
	assert_int_equal(snap_parse(b.p, b.len, &img, why, sizeof(why)), 0);
	assert_string_equal(img.h.version, "0.1.0");
	assert_int_equal(img.h.nr_vcpus, 2);
	assert_int_equal(img.h.ram_size, 16 << 20);
	assert_int_equal(img.h.arch_words[0], 7);
	assert_int_equal(img.h.arch_words[3], 3);
	assert_int_equal(img.vm.len, 8);
	assert_memory_equal(img.vm.p, "vm-state", 8);
	assert_int_equal(img.vcpus[0].len, 8);
	assert_memory_equal(img.vcpus[0].p, "cpu-zero", 8);
	assert_int_equal(img.vcpus[1].len, 4);
	assert_int_equal(img.nr_devs, 2);
	assert_string_equal(img.devs[0].name, "serial0");
	assert_string_equal(img.devs[0].type, "serial");
	assert_int_equal(img.devs[0].data.len, 4);
	assert_memory_equal(img.devs[0].data.p, "uart", 4);
	assert_string_equal(img.devs[1].type, "acpi-pm");
	assert_int_equal(img.devs[1].data.len, 0);
	snap_image_free(&img);
}

static void crc_matches_zlib(void **state)
{
	(void)state;
	/* the check value of CRC-32/ISO-HDLC, as zlib's crc32() gives it */
	assert_int_equal(snap_crc32(0, "123456789", 9), 0xcbf43926);
}

static void refuses_damage(void **state)
{
	(void)state;
	b.p[b.len / 2] ^= 0x40;
	refused("checksum");
}

static void refuses_magic_and_version(void **state)
{
	(void)state;
	b.p[9] = 7;	/* format version 0x701 */
	refused("format version 1793");
	b.p[9] = 0;
	b.p[0] = 'X';
	refused("magic");
}

static void refuses_truncation(void **state)
{
	struct snap_image img;

	(void)state;
	assert_int_equal(snap_parse(b.p, b.len - 1, &img, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "truncated"));
	assert_int_equal(snap_parse(b.p, 20, &img, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not even a header"));
}

static void refuses_section_past_the_end(void **state)
{
	(void)state;
	/* the VM section's length: far beyond the file, and one wrapping size_t */
	put_le64(b.p + SNAP_HEADER_LEN + 8, 1ULL << 40);
	fix_crc();
	refused("more than the file holds");
	put_le64(b.p + SNAP_HEADER_LEN + 8, ~0ULL);
	fix_crc();
	refused("more than the file holds");
}

static void refuses_bad_vcpu_sections(void **state)
{
	size_t second = SNAP_HEADER_LEN + SNAP_SECTION_HDR + 8;	/* vCPU 1's section */

	(void)state;
	put_le32(b.p + second + 4, 0);	/* vCPU 0 twice */
	fix_crc();
	refused("out of range or twice");
	put_le32(b.p + second + 4, 5);	/* a vCPU the header does not have */
	fix_crc();
	refused("out of range or twice");
}

static void refuses_bad_header_fields(void **state)
{
	(void)state;
	put_le32(b.p + 36, 0);		/* no vCPUs */
	fix_crc();
	refused("vCPUs");
	put_le32(b.p + 36, 2);
	put_le64(b.p + 40, 4097);	/* RAM not in pages */
	fix_crc();
	refused("RAM size");
	put_le64(b.p + 40, 16 << 20);
	put_le32(b.p + 48, 9);		/* more sections than there are */
	fix_crc();
	refused("section 6 of 9 is missing");
}

static void refuses_bad_device_names(void **state)
{
	size_t dev = SNAP_HEADER_LEN + 3 * SNAP_SECTION_HDR + 8 + 8 + 8;

	(void)state;
	b.p[dev + SNAP_SECTION_HDR + 2] = '\n';	/* "se\nial0" */
	fix_crc();
	refused("bad name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, build, teardown),
		cmocka_unit_test(crc_matches_zlib),
		cmocka_unit_test_setup_teardown(refuses_damage, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_magic_and_version, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_truncation, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_section_past_the_end, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_bad_vcpu_sections, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_bad_header_fields, build, teardown),
		cmocka_unit_test_setup_teardown(refuses_bad_device_names, build, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
