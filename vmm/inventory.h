/*
 * The platform inventory: every device instance the guest must be told
 * about, in creation order, with what it is for the platform, where it
 * decodes and which interrupt line it drives. Whoever describes the
 * platform walks it: the ACPI builder on x86, a device tree on arm64,
 * and the kernel command line.
 */
#ifndef KVMINI_INVENTORY_H
#define KVMINI_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>

enum inv_role {
	INV_UART,		/* 16550-compatible serial port */
	INV_PCI_HOST,		/* PCI host bridge: config access, then the BAR windows */
	INV_VIRTIO_MMIO,	/* one virtio-mmio window */
	INV_POWER,		/* power-off and sleep registers */
	INV_RESET,		/* a reset line */
	INV_EXIT,		/* the test exit device */
	INV_PCI_DEVICE,		/* on PCI bus 0: the guest finds it by enumerating */
	INV_TEST_DEVICE,	/* a test device at fixed addresses (kvm-unit-tests'), probed */
};

#define INV_MAX_RANGES	3
#define INV_NAME_MAX	32
#define INV_CMDLINE_MAX	80

struct inv_range {
	uint64_t base, len;
	bool pio;		/* port I/O, else MMIO */
};

struct inv_entry {
	char name[INV_NAME_MAX];	/* the instance: "com1", "pci0", a virtio device's name */
	const char *type;		/* the device type: "serial", "pci-host" */
	enum inv_role role;
	struct inv_range ranges[INV_MAX_RANGES];
	unsigned int nr_ranges;
	int irq;			/* board interrupt line (board.h), or -1 */
	char cmdline[INV_CMDLINE_MAX];	/* kernel command-line fragment, or "" */
	/*
	 * The guest finds it by probing at its legacy address; firmware
	 * tables leave it out (kvmini's stderr UART has never been in them).
	 */
	bool probed;
	const void *owner;		/* the device state, for inventory_remove() */
};

struct inventory {
	struct inv_entry *entries;
	unsigned int nr, cap;
};

/* Append a copy of @e. 0 or -ENOMEM. */
int inventory_add(struct inventory *inv, const struct inv_entry *e);
/* Drop every entry of @owner (a device that went away), keeping the order; freed when empty. */
void inventory_remove(struct inventory *inv, const void *owner);
void inventory_free(struct inventory *inv);

/*
 * @head, then every entry's command-line fragment in order, then @tail
 * (NULL: none) last, so that a "--" in it cannot hand device options to
 * init; joined by single spaces. Caller frees; NULL on ENOMEM.
 */
char *inventory_cmdline(const struct inventory *inv, const char *head, const char *tail);

#endif
