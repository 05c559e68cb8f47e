/* Size and integer parsing used by --memory and --cpus. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(parse_size(s, &v), 0);
	assert_true(v == want);
}

static void test_sizes_accepted(void **state)
{
	(void)state;
	size_ok("256M", 256ULL << 20);
	size_ok("256m", 256ULL << 20);
	size_ok("2G", 2ULL << 30);
	size_ok("2GiB", 2ULL << 30);
	size_ok("2GB", 2ULL << 30);
	size_ok("512K", 512ULL << 10);
	size_ok("1T", 1ULL << 40);
	size_ok("4096", 4096);
	size_ok("4096B", 4096);
}

static void test_sizes_rejected(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_int_equal(parse_size("12Q", &v), -EINVAL);
	assert_int_equal(parse_size("-1", &v), -EINVAL);
	assert_int_equal(parse_size("0", &v), -EINVAL);
	assert_int_equal(parse_size("0M", &v), -EINVAL);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size(" 1M", &v), -EINVAL);
	assert_int_equal(parse_size("1M ", &v), -EINVAL);
	assert_int_equal(parse_size("1MM", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("16777216T", &v), -ERANGE);
	assert_true(v == 77);	/* untouched on error */
}

static void test_uint(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_uint("4", 1, 8, &v), 0);
	assert_true(v == 4);
	assert_int_equal(parse_uint("0", 1, 8, &v), -ERANGE);
	assert_int_equal(parse_uint("9", 1, 8, &v), -ERANGE);
	assert_int_equal(parse_uint("-1", 1, 8, &v), -EINVAL);
	assert_int_equal(parse_uint("2x", 1, 8, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 8, &v), -EINVAL);
	assert_int_equal(parse_uint("184467440737095516160", 0, UINT64_MAX, &v), -ERANGE);
}

static void b64_is(const char *in, const char *want)
{
	char *out = base64_encode((const uint8_t *)in, strlen(in));

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_base64(void **state)
{
	(void)state;
	/* RFC 4648 test vectors */
	b64_is("", "");
	b64_is("f", "Zg==");
	b64_is("fo", "Zm8=");
	b64_is("foo", "Zm9v");
	b64_is("foob", "Zm9vYg==");
	b64_is("fooba", "Zm9vYmE=");
	b64_is("foobar", "Zm9vYmFy");
	b64_is("\xff\xfe", "//4=");
}

static void test_shell_join(void **state)
{
	char *argv[] = { "sh", "-c", "echo 'hi' $HOME", "" };
	char *s;

	(void)state;
	s = shell_join(argv, 4);
	assert_non_null(s);
	assert_string_equal(s, "'sh' '-c' 'echo '\\''hi'\\'' $HOME' ''");
	free(s);
	s = shell_join(argv, 0);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_accepted),
		cmocka_unit_test(test_sizes_rejected),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_shell_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
