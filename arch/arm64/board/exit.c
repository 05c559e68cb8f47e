/*
 * The exit device on arm64: x86's isa-debug-exit semantics (a write of V
 * ends kvmini with (V << 1) | 1, or V itself for -- CMD) in an MMIO window
 * at EXIT_MMIO_BASE, since arm64 has no port I/O. --exit-port only turns
 * it on or off here; the device tree names its address (compatible
 * "kvmini,exit").
 */
#include <errno.h>
#include <stdlib.h>

#include "device.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "vm.h"

struct exit_dev {
	struct device dev;
	bool raw;		/* report V itself, not (V << 1) | 1 */
};

static void exit_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct exit_dev *x = opaque;
	uint32_t v = 0;

	/* -- CMD mode: a byte 'S' at offset 1 marks the command's start */
	if (x->raw && off == 1 && len == 1 && data[0] == 'S') {
		vm_mark_command_start(x->dev.vm);
		return;
	}
	for (uint32_t i = 0; i < len && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	kv_debug("guest wrote 0x%x to the exit device", v);
	if (!x->raw)
		v = (v << 1) | 1;
	vm_request_stop(x->dev.vm, STOP_GUEST_EXIT, (int)(v & 0xff));
}

static const struct bus_ops exit_ops = { .write = exit_write };

static int exit_describe(struct device *dev, struct inventory *inv)
{
	const struct inv_entry e = {
		.name = "exit", .type = "debug-exit", .role = INV_EXIT,
		.ranges = { { EXIT_MMIO_BASE, EXIT_MMIO_SIZE, false } }, .nr_ranges = 1,
		.irq = -1, .owner = dev,
	};

	return inventory_add(inv, &e);
}

static void exit_destroy(struct device *dev)
{
	bus_unregister(&dev->vm->mmio, EXIT_MMIO_BASE);
	free(container_of(dev, struct exit_dev, dev));
}

static const struct device_ops exit_dev_ops = {
	.describe = exit_describe,
	.destroy = exit_destroy,
};

static struct device_type exit_type;

static int exit_create(struct vm *vm, const struct device_env *env, const void *conf,
		       void *host, unsigned int index, struct errmsg *err)
{
	struct exit_dev *x;
	int ret;

	(void)conf, (void)host, (void)index;
	if (env->exit_port < 0)
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return errmsg_set(err, -ENOMEM, "out of memory");
	x->raw = env->exit_raw;
	ret = bus_register(&vm->mmio, EXIT_MMIO_BASE, EXIT_MMIO_SIZE, &exit_ops, x);
	if (ret) {
		free(x);
		return errmsg_set(err, ret, "the exit device's window at 0x%llx is taken",
				  (unsigned long long)EXIT_MMIO_BASE);
	}
	device_add(vm, &x->dev, &exit_type, &exit_dev_ops);
	return 0;
}

static struct device_type exit_type = {
	.name = "debug-exit",
	.phase = PHASE_LATE,
	.create = exit_create,
};
DEVICE_REGISTER(exit_type);
