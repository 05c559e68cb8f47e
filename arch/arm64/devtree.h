/*
 * The arm64 guest's device tree, built with libfdt from the platform
 * inventory (vmm/inventory.h) and what the arch knows (RAM, vCPUs, GIC).
 * No KVM: the host's unit tests build it on any arch and decompile it.
 */
#ifndef KVMINI_ARM64_DEVTREE_H
#define KVMINI_ARM64_DEVTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inventory;

struct arm64_platform {
	uint64_t ram_base, ram_size;
	unsigned int nr_cpus;
	unsigned int gic_version;	/* 2 or 3 */
	bool its;			/* a GICv3 ITS: MSIs for PCI */
	const struct inventory *inv;
	const char *bootargs;
	uint64_t initrd_start, initrd_end;	/* end == start: none */
	uint8_t rng_seed[64];
	uint64_t kaslr_seed;
};

/* MPIDR_EL1 affinity KVM gives vCPU @index (its reset value of MPIDR, less bit 31). */
uint64_t arm64_vcpu_mpidr(unsigned int index);

/*
 * Build the device tree of @p into @buf (@size bytes; ARM64_DTB_MAX is
 * plenty). 0, or -ENOSPC if it does not fit, -EINVAL for a platform the
 * tree cannot describe.
 */
int arm64_fdt_build(const struct arm64_platform *p, void *buf, size_t size);

#endif
