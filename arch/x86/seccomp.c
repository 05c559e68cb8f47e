/* The x86-only KVM ioctls kvmini issues, for the sandbox's lists (arch.h). */
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "arch.h"
#include "util.h"

/* arch_vcpu_dump() after a fatal exit */
static const unsigned long vcpu_ioctls[] = {
	KVM_GET_REGS,
	KVM_GET_SREGS,
};

/* arch_vm_init() and arch_vcpu_init(): the next VM of --on-reboot=restart */
static const unsigned long setup_ioctls[] = {
	KVM_GET_SUPPORTED_CPUID,
	KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_IRQCHIP,
	KVM_CREATE_PIT2,
	KVM_SET_CPUID2,
	KVM_SET_MSRS,
	KVM_SET_FPU,
	KVM_SET_SREGS,
	KVM_SET_REGS,
	KVM_GET_LAPIC,
	KVM_SET_LAPIC,
	KVM_GET_MSR_INDEX_LIST,	/* snapshot.c's probe */
};

/* arch_vm_save() and arch_vcpu_save() on the main thread, vCPUs parked */
static const unsigned long snapshot_ioctls[] = {
	KVM_GET_REGS,
	KVM_GET_SREGS,
	KVM_GET_FPU,
	KVM_GET_XSAVE,
#ifdef KVM_GET_XSAVE2
	KVM_GET_XSAVE2,
#endif
	KVM_GET_XCRS,
	KVM_GET_MSRS,
	KVM_GET_LAPIC,
	KVM_GET_MP_STATE,
	KVM_GET_DEBUGREGS,
	KVM_GET_VCPU_EVENTS,
	KVM_GET_IRQCHIP,
	KVM_GET_PIT2,
	KVM_GET_CLOCK,
	KVM_GET_TSC_KHZ,
};

const unsigned long *arch_seccomp_ioctls(enum arch_ioctl_use use, size_t *n)
{
	if (use == ARCH_IOCTLS_VCPU) {
		*n = ARRAY_SIZE(vcpu_ioctls);
		return vcpu_ioctls;
	}
	if (use == ARCH_IOCTLS_SNAPSHOT) {
		*n = ARRAY_SIZE(snapshot_ioctls);
		return snapshot_ioctls;
	}
	*n = ARRAY_SIZE(setup_ioctls);
	return setup_ioctls;
}
