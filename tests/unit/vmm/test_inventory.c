/* The platform inventory: order kept, entries of a removed device gone, the command line walked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inventory.h"

static void add(struct inventory *inv, const char *name, const char *cmdline, const void *owner)
{
	struct inv_entry e = { .role = INV_VIRTIO_MMIO, .irq = -1, .owner = owner };

	strcpy(e.name, name);
	strcpy(e.cmdline, cmdline);
	assert_int_equal(inventory_add(inv, &e), 0);
}

static void test_order_and_remove(void **state)
{
	struct inventory inv = { 0 };
	int a = 0, b = 0;

	(void)state;
	for (unsigned int i = 0; i < 20; i++)	/* past the first allocation */
		add(&inv, i % 2 ? "b" : "a", "", i % 2 ? (void *)&b : (void *)&a);
	assert_int_equal(inv.nr, 20);
	inventory_remove(&inv, &a);
	assert_int_equal(inv.nr, 10);
	for (unsigned int i = 0; i < inv.nr; i++)
		assert_string_equal(inv.entries[i].name, "b");
	inventory_free(&inv);
	assert_int_equal(inv.nr, 0);
	assert_null(inv.entries);
}

static void test_cmdline_walk(void **state)
{
	struct inventory inv = { 0 };
	int a = 0, b = 0, c = 0;
	char *s;

	(void)state;
	add(&inv, "uart", "", &a);
	add(&inv, "blk", "virtio_mmio.device=4K@0xfc000000:5", &b);
	add(&inv, "net", "virtio_mmio.device=4K@0xfc001000:6", &c);
	s = inventory_cmdline(&inv, "console=ttyS0", "init=/bin/sh -- x");
	assert_string_equal(s, "console=ttyS0 virtio_mmio.device=4K@0xfc000000:5 "
			       "virtio_mmio.device=4K@0xfc001000:6 init=/bin/sh -- x");
	free(s);
	inventory_remove(&inv, &b);
	s = inventory_cmdline(&inv, "console=ttyS0", NULL);
	assert_string_equal(s, "console=ttyS0 virtio_mmio.device=4K@0xfc001000:6");
	free(s);
	/* an empty --cmdline still ends the line, as before the inventory */
	s = inventory_cmdline(&inv, "q", "");
	assert_string_equal(s, "q virtio_mmio.device=4K@0xfc001000:6 ");
	free(s);
	inventory_free(&inv);
	s = inventory_cmdline(&inv, "", NULL);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_remove),
		cmocka_unit_test(test_cmdline_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
