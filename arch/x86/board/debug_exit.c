/*
 * Exit device compatible with QEMU's isa-debug-exit: a write of V to the
 * port (0xf4 by default, 4 bytes wide) ends kvmini with status
 * (V << 1) | 1, so test payloads written for QEMU work unchanged. For
 * `kvmini run -- CMD` the guest's init reports CMD's status here as is.
 */
#include <errno.h>
#include <stdlib.h>

#include "device.h"
#include "inventory.h"
#include "log.h"
#include "util.h"
#include "vm.h"

#define EXIT_PORT_LEN 4

struct debug_exit {
	struct device dev;
	int port;
	bool raw;		/* report V itself, not (V << 1) | 1 */
};

static void exit_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct debug_exit *x = opaque;
	struct vm *vm = x->dev.vm;
	uint32_t v = 0, i;

	/*
	 * -- CMD mode (raw statuses: kvmini's own guest init): a byte 'S' at
	 * offset 1 marks the command's start (kvmini-exit start), no exit.
	 * Elsewhere every write exits, as QEMU's isa-debug-exit does.
	 */
	if (x->raw && off == 1 && len == 1 && data[0] == 'S') {
		vm_mark_command_start(vm);
		return;
	}
	for (i = 0; i < len && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	kv_debug("guest wrote 0x%x to the exit device", v);
	/* the kernel keeps the low 8 bits of the status, as with QEMU */
	if (!x->raw)
		v = (v << 1) | 1;
	vm_request_stop(vm, STOP_GUEST_EXIT, (int)(v & 0xff));
}

static const struct bus_ops exit_ops = { .write = exit_write };

static int debug_exit_describe(struct device *dev, struct inventory *inv)
{
	struct debug_exit *x = container_of(dev, struct debug_exit, dev);
	const struct inv_entry e = {
		.name = "exit", .type = "debug-exit", .role = INV_EXIT,
		.ranges = { { (uint64_t)x->port, EXIT_PORT_LEN, true } }, .nr_ranges = 1,
		.irq = -1, .owner = x,
	};

	return inventory_add(inv, &e);
}

static void debug_exit_destroy(struct device *dev)
{
	free(container_of(dev, struct debug_exit, dev));
}

static const struct device_ops debug_exit_ops = {
	.save = device_save_none,	/* no state */
	.restore = device_restore_none,
	.describe = debug_exit_describe,
	.destroy = debug_exit_destroy,
};

static struct device_type debug_exit_type;

static int debug_exit_init(struct vm *vm, const struct device_env *env, const void *conf,
			   void *host, unsigned int index, struct errmsg *err)
{
	struct debug_exit *x;
	int ret;

	(void)conf;
	(void)host;
	(void)index;
	if (env->exit_port < 0)
		return 0;
	x = calloc(1, sizeof(*x));
	if (!x)
		return errmsg_set(err, -ENOMEM, "out of memory");
	x->port = env->exit_port;
	x->raw = env->exit_raw;
	/* added first: exit_write() finds the VM through it */
	device_add(vm, &x->dev, &debug_exit_type, &debug_exit_ops);
	ret = bus_register(&vm->pio, (uint64_t)x->port, EXIT_PORT_LEN, &exit_ops, x);
	if (ret)
		return errmsg_set(err, ret, "--exit-port 0x%x: the port is taken by another "
				  "device; choose another port or none", x->port);
	return 0;
}

static struct device_type debug_exit_type = {
	.name = "debug-exit",
	.phase = PHASE_LATE,
	.create = debug_exit_init,
};
DEVICE_REGISTER(debug_exit_type);
