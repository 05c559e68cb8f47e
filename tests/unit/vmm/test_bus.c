/* Bus registration, overlap rejection and dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"

struct dev {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
	int reads, writes;
};

static void dev_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	data[0] = (uint8_t)(0x40 + off);
}

static void dev_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->last_val = data[0];
}

static const struct bus_ops ops = { .read = dev_read, .write = dev_write };

static void test_register_overlap(void **state)
{
	struct bus b;
	struct dev d = { 0 };

	(void)state;
	bus_init(&b, "test");
	assert_int_equal(bus_register(&b, 0x3f8, 8, &ops, &d), 0);
	assert_int_equal(bus_register(&b, 0x60, 1, &ops, &d), 0);
	assert_int_equal(bus_register(&b, 0x64, 1, &ops, &d), 0);
	assert_int_equal(bus_register(&b, 0x3f8, 1, &ops, &d), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3f0, 9, &ops, &d), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3ff, 4, &ops, &d), -EEXIST);
	assert_int_equal(bus_register(&b, 0x3f0, 8, &ops, &d), 0);	/* adjacent */
	assert_int_equal(bus_register(&b, 0x400, 0, &ops, &d), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX, 2, &ops, &d), -EINVAL);
	assert_int_equal(b.nr, 4);
	/* sorted */
	assert_true(b.ranges[0].base == 0x60 && b.ranges[3].base == 0x3f8);
	bus_destroy(&b);
}

static void test_dispatch(void **state)
{
	struct dev uart = { 0 }, kbd = { 0 };
	uint8_t data[8];
	struct bus b;
	unsigned int i;

	(void)state;
	bus_init(&b, "test");
	/* many ranges so the binary search has depth */
	for (i = 0; i < 40; i++)
		assert_int_equal(bus_register(&b, 0x1000 + i * 0x10, 4, &ops, &kbd), 0);
	assert_int_equal(bus_register(&b, 0x3f8, 8, &ops, &uart), 0);

	data[0] = 'A';
	assert_true(bus_access(&b, 0x3f8, data, 1, true));
	assert_int_equal(uart.writes, 1);
	assert_int_equal(uart.last_val, 'A');
	assert_true(uart.last_off == 0);

	assert_true(bus_access(&b, 0x3fd, data, 1, false));
	assert_int_equal(data[0], 0x45);
	assert_true(uart.last_off == 5);

	assert_true(bus_access(&b, 0x1000 + 17 * 0x10 + 2, data, 2, false));
	assert_true(kbd.last_off == 2 && kbd.last_len == 2);

	/* straddling the end of a range, and unclaimed space */
	memset(data, 0, sizeof(data));
	assert_false(bus_access(&b, 0x3fe, data, 4, false));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_false(bus_access(&b, 0x2000, data, 1, true));
	assert_false(bus_access(&b, 0x1004, data, 1, false));

	assert_int_equal(bus_unregister(&b, 0x3f8), 0);
	assert_int_equal(bus_unregister(&b, 0x3f8), -ENOENT);
	assert_false(bus_access(&b, 0x3f8, data, 1, true));
	assert_int_equal(uart.writes, 1);
	bus_destroy(&b);
}

/* A device whose write moves its own range to the address written (a BAR). */
struct mover {
	struct bus *b;
	uint64_t base;
	int writes;
};

static const struct bus_ops mover_ops;

static void mover_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct mover *m = opaque;

	(void)off;
	(void)len;
	m->writes++;
	assert_int_equal(bus_unregister(m->b, m->base), 0);
	m->base = data[0] * 0x100ull;
	assert_int_equal(bus_register(m->b, m->base, 0x10, &mover_ops, m), 0);
}

static const struct bus_ops mover_ops = { .write = mover_write };

static void test_handler_moves_its_range(void **state)
{
	struct bus b;
	struct mover m = { .b = &b, .base = 0x100 };
	uint8_t v = 0x20;

	(void)state;
	bus_init(&b, "test");
	assert_int_equal(bus_register(&b, 0x100, 0x10, &mover_ops, &m), 0);
	/* would deadlock if handlers ran under the bus lock */
	assert_true(bus_access(&b, 0x104, &v, 1, true));
	assert_int_equal(m.base, 0x2000);
	assert_int_equal(b.nr, 1);
	assert_false(bus_access(&b, 0x104, &v, 1, true));
	v = 0x30;
	assert_true(bus_access(&b, 0x2008, &v, 1, true));
	assert_int_equal(m.writes, 2);
	assert_int_equal(b.ranges[0].base, 0x3000);
	bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_overlap),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_handler_moves_its_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
