/* arch/arm64's private state of one VM (vm->arch), for its own files only. */
#ifndef KVMINI_ARM64_H
#define KVMINI_ARM64_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "gic.h"
#include "layout.h"

/* GSIs 0..ARM64_IRQ_SPIS-1 are the SPIs (board lines); MSI routes come after them. */
#define ARM64_MSI_GSI_BASE	ARM64_IRQ_SPIS
#define ARM64_MSI_ROUTES	256

struct arm64_msi_route {
	bool active;
	uint64_t addr;
	uint32_t data, devid;
};

/* KVM's GSI routing table: the SPIs, then the MSI routes through the ITS (msi.c) */
struct arm64_msi {
	pthread_mutex_t lock;	/* vCPU threads write MSI-X tables concurrently */
	unsigned int next;	/* next route vm_msi_alloc() hands out */
	struct arm64_msi_route r[ARM64_MSI_ROUTES];
	struct kvm_irq_routing *table;	/* scratch, room for every entry */
};

struct arm64_vm {
	struct arm64_gic gic;
	struct kvm_vcpu_init init;	/* KVM_ARM_PREFERRED_TARGET, shared by all vCPUs */
	uint64_t entry, dtb;
	struct arm64_msi *msi;		/* NULL without an ITS */
};

/* With an ITS: the routing state. 0 or -ENOMEM. */
int arm64_msi_init(struct arm64_vm *a);
void arm64_msi_free(struct arm64_vm *a);

#endif
