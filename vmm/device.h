/*
 * Device self-registration. Each device file declares one
 * DEVICE_REGISTER(); the core calls every init in phase order and never
 * names a device.
 */
#ifndef KVMINI_DEVICE_H
#define KVMINI_DEVICE_H

struct vm;

enum device_phase {
	PHASE_CORE,	/* irqchip-level pieces */
	PHASE_BASE,	/* legacy platform devices: UART, i8042, ACPI PM */
	PHASE_BUS,	/* PCI host bridge */
	PHASE_DEVICE,	/* devices on buses (virtio) */
	PHASE_LATE,	/* anything that needs all devices present */
	PHASE_COUNT,
};

struct device_desc {
	const char *name;
	enum device_phase phase;
	/* 0, or -errno after printing a message via kv_err(). */
	int (*init)(struct vm *vm);
	/* Undo init; called in reverse order, only if init succeeded. */
	void (*exit)(struct vm *vm);
	/* Called on the event loop thread before the VM stops for good (flush output). */
	void (*quiesce)(struct vm *vm);
	struct device_desc *next;
};

void device_register(struct device_desc *d);
int devices_init(struct vm *vm);
void devices_quiesce(struct vm *vm);
void devices_exit(struct vm *vm);

#define DEVICE_REGISTER(desc)						\
	static void __attribute__((constructor)) register_##desc(void)	\
	{								\
		device_register(&(desc));				\
	}

#endif
