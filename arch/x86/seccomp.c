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
};

const unsigned long *arch_seccomp_ioctls(enum arch_ioctl_use use, size_t *n)
{
	if (use == ARCH_IOCTLS_VCPU) {
		*n = ARRAY_SIZE(vcpu_ioctls);
		return vcpu_ioctls;
	}
	*n = ARRAY_SIZE(setup_ioctls);
	return setup_ioctls;
}
