/* The arm64-only KVM ioctls kvmini issues, for the sandbox's lists (arch.h). */
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "arch.h"
#include "util.h"

/* arch_vcpu_dump() after a fatal exit */
static const unsigned long vcpu_ioctls[] = {
	KVM_GET_ONE_REG,
};

/* arch_vm_init() and arch_vcpu_init(): the next VM of --on-reboot=restart */
static const unsigned long setup_ioctls[] = {
	KVM_ARM_PREFERRED_TARGET,
	KVM_ARM_VCPU_INIT,
	KVM_SET_ONE_REG,
	KVM_GET_ONE_REG,
	KVM_CREATE_DEVICE,
	KVM_SET_DEVICE_ATTR,
};

const unsigned long *arch_seccomp_ioctls(enum arch_ioctl_use use, size_t *n)
{
	if (use == ARCH_IOCTLS_VCPU) {
		*n = ARRAY_SIZE(vcpu_ioctls);
		return vcpu_ioctls;
	}
	if (use == ARCH_IOCTLS_SNAPSHOT) {
		*n = 0;		/* no arm64 state is saved yet */
		return NULL;
	}
	*n = ARRAY_SIZE(setup_ioctls);
	return setup_ioctls;
}
