/* The rate limit that keeps guest-triggered warnings from flooding stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../err_capture.h"
#include "log.h"

static void test_burst_then_quiet(void **state)
{
	struct kv_ratelimit rl = { 0 };
	unsigned int i, passed = 0, suppressed = 99;

	(void)state;
	for (i = 0; i < 1000; i++)
		if (kv_ratelimit_pass(&rl, 1000 + i, &suppressed))
			passed++;
	assert_int_equal(passed, KV_RATELIMIT_BURST);
	assert_int_equal(rl.suppressed, 1000 - KV_RATELIMIT_BURST);
}

static void test_new_window_reports_suppressed(void **state)
{
	struct kv_ratelimit rl = { 0 };
	unsigned int i, suppressed = 99;
	const uint64_t t0 = 5000;

	(void)state;
	for (i = 0; i < KV_RATELIMIT_BURST + 7; i++)
		kv_ratelimit_pass(&rl, t0, &suppressed);
	/* still inside the window: refused */
	assert_false(kv_ratelimit_pass(&rl, t0 + KV_RATELIMIT_INTERVAL_MS - 1, &suppressed));
	/* the next window: one line, counting the 8 dropped */
	assert_true(kv_ratelimit_pass(&rl, t0 + KV_RATELIMIT_INTERVAL_MS, &suppressed));
	assert_int_equal(suppressed, 8);
	assert_true(kv_ratelimit_pass(&rl, t0 + KV_RATELIMIT_INTERVAL_MS, &suppressed));
	assert_int_equal(suppressed, 0);
}

static void test_sites_are_independent(void **state)
{
	struct kv_ratelimit a = { 0 }, b = { 0 };
	unsigned int i, s;

	(void)state;
	for (i = 0; i < KV_RATELIMIT_BURST; i++)
		assert_true(kv_ratelimit_pass(&a, 0, &s));
	assert_false(kv_ratelimit_pass(&a, 0, &s));
	assert_true(kv_ratelimit_pass(&b, 0, &s));
}

static void warn_from_one_site(unsigned int i)
{
	kv_warn_ratelimited("guest did thing %u", i);
}

/* Through the macro: a call site that fires 10000 times prints the burst only. */
static void test_macro_bounds_lines(void **state)
{
	const char *err;
	unsigned int i;

	(void)state;
	err_begin();
	for (i = 0; i < 10000; i++)
		warn_from_one_site(i);
	err = err_end();
	assert_int_equal(count_lines(err), KV_RATELIMIT_BURST);
	assert_non_null(strstr(err, "kvmini: warning: guest did thing 0\n"));
	assert_null(strstr(err, "thing 5\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_quiet),
		cmocka_unit_test(test_new_window_reports_suppressed),
		cmocka_unit_test(test_sites_are_independent),
		cmocka_unit_test(test_macro_bounds_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
