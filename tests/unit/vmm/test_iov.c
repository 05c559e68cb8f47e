/* iovec copies: skips across entries, short vectors, empty entries, slices, advances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "iov.h"

static uint8_t a[3], b[1], c[5];
static struct iovec vec[3];

/* [3 bytes][1 byte][5 bytes] = 9 bytes holding 0..8 */
static int setup(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		a[i] = (uint8_t)i;
	b[0] = 3;
	for (unsigned int i = 0; i < 5; i++)
		c[i] = (uint8_t)(4 + i);
	vec[0] = (struct iovec){ a, sizeof(a) };
	vec[1] = (struct iovec){ b, sizeof(b) };
	vec[2] = (struct iovec){ c, sizeof(c) };
	return 0;
}

static void to_buf_skips_across_entries(void **state)
{
	uint8_t out[9];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(iov_to_buf(vec, 3, 2, out, 4), 4);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 4);
	assert_int_equal(out[3], 5);
	assert_int_equal(out[4], 0xee);
}

static void to_buf_stops_at_the_end(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(iov_to_buf(vec, 3, 7, out, sizeof(out)), 2);
	assert_int_equal(out[0], 7);
	assert_int_equal(out[1], 8);
	assert_int_equal(iov_to_buf(vec, 3, 9, out, sizeof(out)), 0);
	assert_int_equal(iov_to_buf(vec, 3, 100, out, sizeof(out)), 0);
	assert_int_equal(iov_to_buf(vec, 0, 0, out, sizeof(out)), 0);
}

static void from_buf_writes_only_its_range(void **state)
{
	static const uint8_t in[4] = { 0xa0, 0xa1, 0xa2, 0xa3 };

	(void)state;
	assert_int_equal(iov_from_buf(vec, 3, 1, in, sizeof(in)), 4);
	assert_int_equal(a[0], 0);
	assert_int_equal(a[1], 0xa0);
	assert_int_equal(a[2], 0xa1);
	assert_int_equal(b[0], 0xa2);
	assert_int_equal(c[0], 0xa3);
	assert_int_equal(c[1], 5);
	/* only 2 bytes of room after byte 7 */
	assert_int_equal(iov_from_buf(vec, 3, 7, in, sizeof(in)), 2);
	assert_int_equal(c[3], 0xa0);
	assert_int_equal(c[4], 0xa1);
}

static void empty_entries_are_passed_over(void **state)
{
	struct iovec v[3] = { { a, 0 }, { b, 1 }, { c, 0 } };
	uint8_t out[2] = { 0, 0 };

	(void)state;
	assert_int_equal(iov_to_buf(v, 3, 0, out, sizeof(out)), 1);
	assert_int_equal(out[0], 3);
}

static void slice_cuts_inside_entries(void **state)
{
	struct iovec s[3];
	unsigned int m;

	(void)state;
	m = iov_slice(vec, 3, 2, 4, s);
	assert_int_equal(m, 3);
	assert_ptr_equal(s[0].iov_base, a + 2);
	assert_int_equal(s[0].iov_len, 1);
	assert_ptr_equal(s[1].iov_base, b);
	assert_int_equal(s[1].iov_len, 1);
	assert_ptr_equal(s[2].iov_base, c);
	assert_int_equal(s[2].iov_len, 2);
	/* past the end: what there is */
	m = iov_slice(vec, 3, 8, 10, s);
	assert_int_equal(m, 1);
	assert_ptr_equal(s[0].iov_base, c + 4);
	assert_int_equal(s[0].iov_len, 1);
}

static void advance_resumes_mid_entry(void **state)
{
	struct iovec v[3];
	struct iovec *p = v;
	unsigned int n = 3;

	(void)state;
	memcpy(v, vec, sizeof(v));
	iov_advance(&p, &n, 4);		/* all of a and b */
	assert_int_equal(n, 1);
	assert_ptr_equal(p, &v[2]);
	assert_ptr_equal(p->iov_base, c);
	iov_advance(&p, &n, 3);
	assert_int_equal(n, 1);
	assert_ptr_equal(p->iov_base, c + 3);
	assert_int_equal(p->iov_len, 2);
	iov_advance(&p, &n, 2);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(to_buf_skips_across_entries, setup),
		cmocka_unit_test_setup(to_buf_stops_at_the_end, setup),
		cmocka_unit_test_setup(from_buf_writes_only_its_range, setup),
		cmocka_unit_test_setup(empty_entries_are_passed_over, setup),
		cmocka_unit_test_setup(slice_cuts_inside_entries, setup),
		cmocka_unit_test_setup(advance_resumes_mid_entry, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
