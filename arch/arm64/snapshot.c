/*
 * arch.h's save and restore of KVM's VM and vCPU state for arm64. The
 * snapshot issue fills these in (the vgic, timers; core and system registers),
 * until then no arm64 state can be saved.
 */
#include <errno.h>

#include "arch.h"

int arch_vm_save(struct vm *vm, void *buf, size_t len)
{
	(void)vm, (void)buf, (void)len;
	return -EOPNOTSUPP;
}

int arch_vm_restore(struct vm *vm, const void *buf, size_t len)
{
	(void)vm, (void)buf, (void)len;
	return -EOPNOTSUPP;
}

int arch_vcpu_save(struct vcpu *v, void *buf, size_t len)
{
	(void)v, (void)buf, (void)len;
	return -EOPNOTSUPP;
}

int arch_vcpu_restore(struct vcpu *v, const void *buf, size_t len)
{
	(void)v, (void)buf, (void)len;
	return -EOPNOTSUPP;
}
