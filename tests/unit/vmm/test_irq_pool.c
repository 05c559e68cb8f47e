/* The interrupt-line allocator: lowest free line first, freed lines come back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "irq.h"

static const unsigned int lines[] = { 5, 6, 7, 10 };

static void test_alloc_in_board_order(void **state)
{
	struct irq_pool p = { lines, 4, 0 };

	(void)state;
	assert_int_equal(irq_pool_alloc(&p), 5);
	assert_int_equal(irq_pool_alloc(&p), 6);
	assert_int_equal(irq_pool_alloc(&p), 7);
	assert_int_equal(irq_pool_alloc(&p), 10);
	assert_int_equal(irq_pool_alloc(&p), -ENOSPC);
}

static void test_free_returns_the_line(void **state)
{
	struct irq_pool p = { lines, 4, 0 };

	(void)state;
	for (unsigned int i = 0; i < 4; i++)
		irq_pool_alloc(&p);
	irq_pool_free(&p, 6);
	irq_pool_free(&p, 99);		/* not the pool's: ignored */
	assert_int_equal(irq_pool_alloc(&p), 6);
	assert_int_equal(irq_pool_alloc(&p), -ENOSPC);
	irq_pool_free(&p, 10);
	irq_pool_free(&p, 5);
	assert_int_equal(irq_pool_alloc(&p), 5);	/* lowest first */
	assert_int_equal(irq_pool_alloc(&p), 10);
}

static void test_empty_pool(void **state)
{
	struct irq_pool p = { lines, 0, 0 };

	(void)state;
	assert_int_equal(irq_pool_alloc(&p), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_in_board_order),
		cmocka_unit_test(test_free_returns_the_line),
		cmocka_unit_test(test_empty_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
