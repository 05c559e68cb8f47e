/*
 * The platform inventory: one entry per device instance, added by its
 * describe op, in creation order; whoever describes the platform to the
 * guest (ACPI, a device tree, the kernel command line) walks it.
 * Minimal on purpose: the arch contract's inventory replaces it.
 */
#ifndef KVMINI_INVENTORY_H
#define KVMINI_INVENTORY_H

#include <stdbool.h>
#include <stdint.h>

enum inventory_kind {
	INVENTORY_BOARD,	/* a fixed board device: its ports and line */
	INVENTORY_PCI,		/* found by enumerating PCI: nothing to announce */
	INVENTORY_MMIO,		/* a platform device: its window and line */
};

#define INVENTORY_MAX_RANGES 2
#define INVENTORY_CMDLINE_MAX 96

struct inventory_range {
	uint64_t base, size;
	bool pio;		/* port I/O, else memory */
};

struct inventory_entry {
	const char *name;	/* the instance: "NAME0" */
	const char *type;	/* its type: "NAME" */
	enum inventory_kind kind;
	struct inventory_range ranges[INVENTORY_MAX_RANGES];
	unsigned int nr_ranges;
	int irq;		/* interrupt line, -1: none */
	char cmdline[INVENTORY_CMDLINE_MAX];	/* kernel command-line fragment, or "" */
};

struct inventory {
	struct inventory_entry *entries;
	unsigned int nr, cap;
};

/* Append a copy of @e. 0 or -ENOMEM. */
int inventory_add(struct inventory *inv, const struct inventory_entry *e);
void inventory_free(struct inventory *inv);

#endif
