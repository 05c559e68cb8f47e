/* vCPU threads: each runs KVM_RUN and hands PIO/MMIO exits to the buses. */
#ifndef KVMINI_VCPU_H
#define KVMINI_VCPU_H

#include "vm.h"

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int index);
int vcpu_start(struct vcpu *v);
/* Make KVM_RUN return now (or skip the next entry). Any thread. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
