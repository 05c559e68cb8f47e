/* x86 snapshot support the rest of arch/x86 sets up (snapshot.c). */
#ifndef KVMINI_X86_SNAPSHOT_H
#define KVMINI_X86_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_cpuid2;

/*
 * What KVM offers for saving, probed once per VM in arch_vm_init() while
 * kvmini may still ask /dev/kvm (the filtered main thread saves later).
 */
struct x86_snap {
	uint32_t caps;		/* X86_SNAP_CAP_* */
	uint32_t xsave_size;	/* bytes of KVM_GET_XSAVE(2), 0: no XSAVE */
	bool kvmclock_ctrl;	/* KVM_KVMCLOCK_CTRL: tell the guest it was stopped */
	uint32_t nr_msrs;
	uint32_t msrs[];	/* indices to save */
};

/* 0, or -errno; *@out freed with free(). */
int x86_snap_probe(int kvm_fd, struct x86_snap **out);
struct x86_snap *x86_vm_snap(struct vm *vm);
const struct kvm_cpuid2 *x86_vm_cpuid(struct vm *vm);

#endif
