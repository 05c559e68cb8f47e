/*
 * Exit device compatible with QEMU's isa-debug-exit: a write of V to the
 * port (0xf4 by default, 4 bytes wide) ends kvmini with status
 * (V << 1) | 1, so test payloads written for QEMU work unchanged. For
 * `kvmini run -- CMD` the guest's init reports CMD's status here as is.
 */
#include "device.h"
#include "inventory.h"
#include "log.h"
#include "vm.h"

#define EXIT_PORT_LEN 4

static void exit_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint32_t v = 0, i;

	(void)off;
	for (i = 0; i < len && i < 4; i++)
		v |= (uint32_t)data[i] << (8 * i);
	kv_debug("guest wrote 0x%x to the exit device", v);
	/* the kernel keeps the low 8 bits of the status, as with QEMU */
	if (!vm->cfg->exit_raw)
		v = (v << 1) | 1;
	vm_request_stop(vm, STOP_GUEST_EXIT, (int)(v & 0xff));
}

static const struct bus_ops exit_ops = { .write = exit_write };

static int debug_exit_describe(struct vm *vm, uint64_t port)
{
	const struct inv_entry e = {
		.name = "exit", .type = "debug-exit", .role = INV_EXIT,
		.ranges = { { port, EXIT_PORT_LEN, true } }, .nr_ranges = 1,
		.irq = -1, .owner = vm,
	};

	return inventory_add(&vm->inventory, &e);
}

static int debug_exit_init(struct vm *vm)
{
	int port = vm->cfg->exit_port;
	int ret;

	if (port < 0)
		return 0;
	ret = bus_register(&vm->pio, (uint64_t)port, EXIT_PORT_LEN, &exit_ops, vm);
	if (ret) {
		kv_err("--exit-port 0x%x: the port is taken by another device; choose "
		       "another port or none", port);
		return ret;
	}
	return debug_exit_describe(vm, (uint64_t)port);
}

static struct device_desc debug_exit_device = {
	.name = "debug-exit",
	.phase = PHASE_LATE,
	.init = debug_exit_init,
};
DEVICE_REGISTER(debug_exit_device);
