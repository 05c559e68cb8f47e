/* ACPI tables for x86 guests: RSDP, XSDT, FADT, MADT, DSDT. */
#ifndef KVMINI_X86_ACPI_H
#define KVMINI_X86_ACPI_H

#include <stdint.h>

#include "inventory.h"
#include "mem.h"

/*
 * Write the tables for @nr_cpus CPUs and the devices of @inv (the DSDT
 * lists its UARTs and PCI host bridges, in order) into [ACPI_TABLES_ADDR,
 * ACPI_TABLES_END), RSDP first. *rsdp_gpa receives its address.
 * Returns 0 or -errno (-ENOSPC if they do not fit, -EFAULT if the area
 * is not RAM).
 */
int acpi_build(struct guest_mem *m, unsigned int nr_cpus, const struct inventory *inv,
	       uint64_t *rsdp_gpa);

#endif
