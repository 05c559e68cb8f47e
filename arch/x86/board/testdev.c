/*
 * --device MODEL: the test devices kvm-unit-tests' x86 tests expect from
 * QEMU, each created only when asked for (pc-testdev, pci-testdev). A
 * guest that is not a test never sees them.
 */
#include <errno.h>
#include <string.h>

#include "device.h"
#include "errmsg.h"
#include "testdev.h"
#include "util.h"

#define TESTDEV_SYNTAX "use --device pc-testdev or --device pci-testdev"

static const struct {
	const char *model;
	int (*create)(struct vm *vm, const struct device_type *t, struct errmsg *err);
} models[] = {
	{ "pc-testdev", pc_testdev_create },
	{ "pci-testdev", pci_testdev_create },
};

struct testdev_config {
	unsigned int model;	/* index into models[] */
};

static int testdev_parse(void *conf, const char *opts, struct errmsg *err)
{
	struct testdev_config *c = conf;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(models); i++) {
		if (!strcmp(opts, models[i].model)) {
			c->model = i;
			return 0;
		}
	}
	return errmsg_set(err, -EINVAL, "%s: no such device; " TESTDEV_SYNTAX, opts);
}

static int testdev_conflicts(const void *prev, const void *conf, const char *opts,
			     struct errmsg *err)
{
	const struct testdev_config *p = prev, *c = conf;

	if (p->model == c->model)
		return errmsg_set(err, -EEXIST, "%s is given twice; a VM has one", opts);
	return 0;
}

static int testdev_create(struct vm *vm, const struct device_env *env, const void *conf,
			  void *host, unsigned int index, struct errmsg *err);

static struct device_type testdev_type = {
	.name = "device",
	.phase = PHASE_DEVICE,
	.conf_size = sizeof(struct testdev_config),
	.max = ARRAY_SIZE(models),
	.help = "  --device MODEL       a kvm-unit-tests test device: pc-testdev (ports 0xe0,\n"
		"                       0xe4, 0xe8, IRQ lines at 0x2000, 64K at 0xff000000)\n"
		"                       or pci-testdev (1b36:0005); one of each\n",
	.help_after = "exit-port",
	.parse = testdev_parse,
	.conflicts = testdev_conflicts,
	.create = testdev_create,
};

static int testdev_create(struct vm *vm, const struct device_env *env, const void *conf,
			  void *host, unsigned int index, struct errmsg *err)
{
	const struct testdev_config *c = conf;

	(void)env;
	(void)host;
	(void)index;
	return models[c->model].create(vm, &testdev_type, err);
}
DEVICE_REGISTER(testdev_type);
