/* The in-kernel GIC of an arm64 VM: GICv3 (+ ITS when KVM has one), else GICv2. */
#ifndef KVMINI_ARM64_GIC_H
#define KVMINI_ARM64_GIC_H

struct arm64_gic {
	unsigned int version;	/* 3 or 2 */
	int fd;			/* KVM_CREATE_DEVICE of the GIC */
	int its_fd;		/* the ITS, -1: none */
};

/* Create the GIC for @nr_vcpus at layout.h's addresses. 0 or -errno. */
int arm64_gic_create(int vm_fd, unsigned int nr_vcpus, struct arm64_gic *g);
/* Once every vCPU exists: KVM_DEV_ARM_VGIC_CTRL_INIT. */
int arm64_gic_finalize(struct arm64_gic *g);
void arm64_gic_destroy(struct arm64_gic *g);

#endif
