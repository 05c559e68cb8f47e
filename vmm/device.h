/*
 * Device self-registration. Each device file declares one
 * DEVICE_REGISTER(); the core calls every init in phase order and never
 * names a device.
 */
#ifndef KVMINI_DEVICE_H
#define KVMINI_DEVICE_H

struct vm;
struct vm_config;

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
	/*
	 * Host resources that outlive one VM (disk images, taps, vhost-net):
	 * opened once before the first VM, while kvmini may still open files,
	 * and closed when kvmini is done. A restart (--on-reboot=restart, on
	 * the filtered main thread) builds its devices on them and opens
	 * nothing. 0, or -errno after kv_err(); on error nothing stays open.
	 */
	int (*open_host)(const struct vm_config *cfg);
	void (*close_host)(void);
	/* 0, or -errno after printing a message via kv_err(). */
	int (*init)(struct vm *vm);
	/* Undo init; called in reverse order, only if init succeeded. */
	void (*exit)(struct vm *vm);
	/* Called on the event loop thread before the VM stops for good (flush output). */
	void (*quiesce)(struct vm *vm);
	struct device_desc *next;
};

void device_register(struct device_desc *d);
/* open_host of every device in phase order; on error, those done are closed. */
int devices_open_host(const struct vm_config *cfg);
/* close_host of every device, in reverse order. Safe to call without open. */
void devices_close_host(void);
int devices_init(struct vm *vm);
void devices_quiesce(struct vm *vm);
void devices_exit(struct vm *vm);

#define DEVICE_REGISTER(desc)						\
	static void __attribute__((constructor)) register_##desc(void)	\
	{								\
		device_register(&(desc));				\
	}

#endif
