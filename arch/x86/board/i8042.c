/*
 * The part of the i8042 keyboard controller a VM needs: the reset line
 * (0xfe to port 0x64), which Linux uses with reboot=k. Reads return an
 * idle controller.
 */
#include <errno.h>
#include <stdlib.h>

#include "device.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "util.h"
#include "vm.h"

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	(void)len;
	data[0] = 0;	/* status: output and input buffers empty */
}

static void i8042_cmd_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;

	(void)off;
	(void)len;
	if (data[0] == I8042_CMD_RESET)
		vm_request_stop(vm, STOP_REBOOT, EXIT_REBOOT);
}

static const struct bus_ops i8042_data_ops = { .read = i8042_read };
static const struct bus_ops i8042_cmd_ops = {
	.read = i8042_read,
	.write = i8042_cmd_write,
};

/* The controller keeps no state: an instance only names its ports. */
struct i8042 {
	struct device dev;
};

static int i8042_describe(struct device *dev, struct inventory *inv)
{
	const struct inv_entry e = {
		.name = "i8042", .type = "i8042", .role = INV_RESET,
		.ranges = { { I8042_DATA_PORT, 1, true }, { I8042_CMD_PORT, 1, true } },
		.nr_ranges = 2, .irq = -1, .owner = dev,
	};

	return inventory_add(inv, &e);
}

static void i8042_destroy(struct device *dev)
{
	free(container_of(dev, struct i8042, dev));
}

static const struct device_ops i8042_ops = {
	.save = device_save_none,	/* no state */
	.restore = device_restore_none,
	.describe = i8042_describe,
	.destroy = i8042_destroy,
};

static struct device_type i8042_type;

static int i8042_init(struct vm *vm, const struct device_env *env, const void *conf,
		      void *host, unsigned int index, struct errmsg *err)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	(void)env;
	(void)conf;
	(void)host;
	(void)index;
	if (!k)
		return errmsg_set(err, -ENOMEM, "out of memory");
	ret = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, vm);
	if (!ret)
		ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, vm);
	if (ret) {
		free(k);
		return errmsg_set(err, ret, "cannot register the i8042 ports");
	}
	device_add(vm, &k->dev, &i8042_type, &i8042_ops);
	return 0;
}

static struct device_type i8042_type = {
	.name = "i8042",
	.phase = PHASE_BASE,
	.create = i8042_init,
};
DEVICE_REGISTER(i8042_type);
