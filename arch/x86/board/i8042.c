/*
 * The part of the i8042 keyboard controller a VM needs: the reset line
 * (0xfe to port 0x64), which Linux uses with reboot=k. Reads return an
 * idle controller.
 */
#include "device.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
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

static int i8042_describe(struct vm *vm)
{
	const struct inv_entry e = {
		.name = "i8042", .type = "i8042", .role = INV_RESET,
		.ranges = { { I8042_DATA_PORT, 1, true }, { I8042_CMD_PORT, 1, true } },
		.nr_ranges = 2, .irq = -1, .owner = vm,
	};

	return inventory_add(&vm->inventory, &e);
}

static int i8042_init(struct vm *vm)
{
	int ret = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, vm);

	if (!ret)
		ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, vm);
	if (!ret)
		ret = i8042_describe(vm);
	if (ret)
		kv_err("cannot register the i8042 ports");
	return ret;
}

static struct device_desc i8042_device = {
	.name = "i8042",
	.phase = PHASE_BASE,
	.init = i8042_init,
};
DEVICE_REGISTER(i8042_device);
