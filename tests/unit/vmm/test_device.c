/* The device registry, option checks as values, instance order, the inventory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "device.h"
#include "errmsg.h"
#include "inventory.h"
#include "kvmini-features.h"
#include "keyval.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vm.h"

static void test_type_lookup(void **state)
{
	const struct device_type *t;
	unsigned int n = 0;

	(void)state;
	t = device_type_find("disk");
	assert_non_null(t);
	assert_string_equal(t->name, "disk");
	assert_int_equal(t->max, MAX_DISKS);
	assert_int_equal(t->conf_size, sizeof(struct disk_config));
	if (KVMINI_HAVE_NET)
		assert_non_null(device_type_find("net"));
	else
		assert_null(device_type_find("net"));
	/* the console takes --serial, and has an instance when none is asked */
	t = device_type_find("serial");
	assert_non_null(t);
	assert_string_equal(t->default_opts, "stdio");
	assert_null(device_type_find("nosuch"));
	for (t = device_type_next_user(NULL); t; t = device_type_next_user(t)) {
		assert_non_null(t->parse);
		n++;
	}
	/* disk, the console, net if built, and the test devices' --device */
	assert_int_equal(n, KVMINI_HAVE_NET ? 4 : 3);
}

/* --device MODEL: the two test models, once each; anything else refused by name. */
static void test_testdev_options(void **state)
{
	struct device_opt pc = { "device", "pc-testdev" }, pci = { "device", "pci-testdev" };
	struct device_opt bad = { "device", "pc-testdev,id=x" };
	struct device_opt opts[2] = { pc, pci };
	struct errmsg err = { 0 };
	char conf[64];

	(void)state;
	assert_int_equal(device_opt_parse(&pc, conf, &err), 0);
	assert_int_equal(device_opt_parse(&pci, conf, &err), 0);
	assert_int_equal(device_opt_parse(&bad, conf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pc-testdev,id=x: no such device"));
	assert_int_equal(device_opt_check(opts, 1, &pci, &err), 0);
	assert_int_equal(device_opt_check(opts, 1, &pc, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "pc-testdev is given twice"));
	assert_int_equal(device_opt_check(opts, 2, &pc, &err), -ENOSPC);
}

static void test_unknown_type(void **state)
{
	struct device_opt o = { "floppy", "path=a" };
	struct errmsg err = { 0 };
	char conf[64];

	(void)state;
	assert_int_equal(device_opt_parse(&o, conf, &err), -ENOENT);
	assert_int_equal(err.code, -ENOENT);
	assert_string_equal(err.msg, "floppy: no such device type");
	assert_int_equal(device_opt_check(NULL, 0, &o, &err), -ENOENT);
}

/* A parser's error is a value: a code and the message without the option's name. */
static void test_disk_parse_errors(void **state)
{
	struct device_opt o = { "disk", "path=a,size=1G" };
	struct disk_config d;
	struct errmsg err = { 0 };

	(void)state;
	assert_int_equal(device_opt_parse(&o, &d, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.type, "disk");
	assert_non_null(strstr(err.msg, "path=a,size=1G: unknown key 'size'"));
	assert_null(strstr(err.msg, "--"));
	o.opts = "";
	assert_int_equal(device_opt_parse(&o, &d, &err), -EINVAL);
	assert_true(err.msg[0] == ':');
	o.opts = "readonly=on,id=x_1,path=/a";
	assert_int_equal(device_opt_parse(&o, &d, &err), 0);
	assert_string_equal(d.path, "/a");
	assert_string_equal(d.id, "x_1");
	assert_true(d.readonly);
}

static void test_net_parse_errors(void **state)
{
	struct device_opt o = { "net", "tap=a,vhost=yes" };
	struct net_config n;
	struct errmsg err = { 0 };

	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();
	assert_int_equal(device_opt_parse(&o, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "tap=a,vhost=yes: vhost=yes: use vhost=auto, vhost=on or "
			    "vhost=off");
	o.opts = "mac=02:00:00:00:00:01,tap=t0";
	assert_int_equal(device_opt_parse(&o, &n, &err), 0);
	assert_string_equal(n.tap, "t0");
	assert_true(n.mac_set);
	assert_int_equal(n.vhost, VHOST_AUTO);
}

/* Limits and conflicts between instances come back with codes of their own. */
static void test_opt_check(void **state)
{
	struct device_opt opts[MAX_NETS] = {
		{ "net", "tap=a" }, { "disk", "path=x,id=one" },
	};
	struct device_opt o = { "net", "tap=a" };
	struct errmsg err = { 0 };
	char line[ERRMSG_MAX + 64];
	unsigned int i;

	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();
	assert_int_equal(device_opt_check(opts, 2, &o, &err), -EEXIST);
	errmsg_render(&err, "--net", line, sizeof(line));
	assert_string_equal(line, "--net tap=a: tap a is given twice; each --net needs its own tap");
	o = (struct device_opt){ "disk", "path=y,id=one" };
	assert_int_equal(device_opt_check(opts, 2, &o, &err), -EEXIST);
	o = (struct device_opt){ "disk", "path=y,id=two" };
	assert_int_equal(device_opt_check(opts, 2, &o, &err), 0);
	for (i = 0; i < MAX_NETS; i++)
		opts[i] = (struct device_opt){ "net", "tap=b" };
	o = (struct device_opt){ "net", "tap=c" };
	assert_int_equal(device_opt_check(opts, MAX_NETS, &o, &err), -ENOSPC);
	errmsg_render(&err, NULL, line, sizeof(line));
	assert_string_equal(line, "tap=c: kvmini takes at most 4 net options");
}

static void test_errmsg_render(void **state)
{
	struct errmsg e = { 0 };
	char buf[64];

	(void)state;
	errmsg_set(&e, -EINVAL, ": nothing given");
	errmsg_render(&e, "--x", buf, sizeof(buf));
	assert_string_equal(buf, "--x: nothing given");
	errmsg_set(&e, -EINVAL, "a=1 and " ERRMSG_TYPE " a=2 clash");
	errmsg_render(&e, "--x", buf, sizeof(buf));
	assert_string_equal(buf, "--x a=1 and --x a=2 clash");
	errmsg_render(&e, "--x", buf, 8);
	assert_string_equal(buf, "--x a=1");
	assert_int_equal(errmsg_set(NULL, -EIO, "ignored"), -EIO);
}

static int set_key(void *obj, const char *arg, unsigned int k, const char *v, size_t vlen,
		   struct errmsg *err)
{
	(void)arg;
	(void)v;
	(void)err;
	((size_t *)obj)[k] = vlen;
	return 0;
}

static void test_keyval(void **state)
{
	static const char *const keys[] = { "a", "bb" };
	struct errmsg err = { 0 };
	size_t lens[2] = { 0, 0 };

	(void)state;
	assert_int_equal(keyval_parse("bb=xyz,a=", keys, 2, "use a=,bb=", set_key, lens, &err), 3);
	assert_int_equal(lens[0], 0);
	assert_int_equal(lens[1], 3);
	assert_int_equal(keyval_parse("a=1,a=2", keys, 2, "S", set_key, lens, &err), -EINVAL);
	assert_string_equal(err.msg, "a=1,a=2: a= given twice");
	assert_int_equal(keyval_parse("c=1", keys, 2, "S", set_key, lens, &err), -EINVAL);
	assert_string_equal(err.msg, "c=1: unknown key 'c'; S");
}

/* ---- instances ---- */

static char destroyed[64];

static void fake_destroy(struct device *dev)
{
	strcat(destroyed, dev->name);
	strcat(destroyed, " ");
	free(dev);
}

static int fake_describe(struct device *dev, struct inventory *inv)
{
	struct inv_entry e = { .type = dev->type->name, .irq = -1, .owner = dev };

	snprintf(e.name, sizeof(e.name), "%s", dev->name);
	return inventory_add(inv, &e);
}

static const struct device_ops fake_ops = {
	.describe = fake_describe,
	.destroy = fake_destroy,
};
static const struct device_ops bare_ops = { .destroy = fake_destroy };
static struct device_type fake = { .name = "fake" };
static struct device_type port = { .name = "port8" };

static struct device *add(struct vm *vm, struct device_type *t, const struct device_ops *ops)
{
	struct device *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	device_add(vm, d, t, ops);
	return d;
}

static void test_instance_order(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct device *d;
	const char *names[] = { "fake0", "port8-0", "fake1", "port8-1" };
	unsigned int i = 0;

	(void)state;
	assert_non_null(vm);
	add(vm, &fake, &fake_ops);
	add(vm, &port, &bare_ops);
	add(vm, &fake, &fake_ops);
	add(vm, &port, &bare_ops);
	for (d = vm->devices; d; d = d->next, i++) {
		assert_string_equal(d->name, names[i]);
		assert_ptr_equal(d->vm, vm);
	}
	assert_int_equal(i, 4);
	assert_int_equal(vm->devices->next->next->index, 1);

	/* describe walks them in order; those without describe add nothing */
	assert_int_equal(devices_describe(vm, &vm->inventory), 0);
	assert_int_equal(vm->inventory.nr, 2);
	assert_string_equal(vm->inventory.entries[0].name, "fake0");
	assert_string_equal(vm->inventory.entries[1].name, "fake1");
	inventory_free(&vm->inventory);

	/* not declared: -EOPNOTSUPP, for the snapshot and control-plane work */
	assert_int_equal(device_op_pause(vm->devices), -EOPNOTSUPP);
	assert_int_equal(device_op_save(vm->devices, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(device_op_reset(vm->devices), -EOPNOTSUPP);

	devices_destroy(vm);
	assert_null(vm->devices);
	assert_string_equal(destroyed, "port8-1 fake1 port8-0 fake0 ");
	free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_lookup),
		cmocka_unit_test(test_testdev_options),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_disk_parse_errors),
		cmocka_unit_test(test_net_parse_errors),
		cmocka_unit_test(test_opt_check),
		cmocka_unit_test(test_errmsg_render),
		cmocka_unit_test(test_keyval),
		cmocka_unit_test(test_instance_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
