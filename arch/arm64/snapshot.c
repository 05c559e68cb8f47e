/*
 * arch.h's save and restore of KVM's VM and vCPU state for arm64. The
 * snapshot issue fills these in (the vgic, timers; core and system registers),
 * until then no arm64 state can be saved.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

void arch_snapshot_words(struct vm *vm, uint32_t *words)
{
	(void)vm;
	memset(words, 0, ARCH_SNAPSHOT_WORDS * sizeof(*words));
}

int arch_snapshot_check(struct vm *vm, const uint32_t *words, char *why, size_t whylen)
{
	(void)vm, (void)words;
	snprintf(why, whylen, "snapshots are not implemented on arm64 yet");
	return -EOPNOTSUPP;
}
