/* The in-kernel GIC (gic.h): KVM's vgic device, its addresses and size. */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "gic.h"
#include "layout.h"

static int create_device(int vm_fd, uint32_t type)
{
	struct kvm_create_device cd = { .type = type };

	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	return (int)cd.fd;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static int set_addr(int fd, uint64_t type, uint64_t addr)
{
	return set_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, &addr);
}

static int create_v3(int vm_fd, unsigned int nr_vcpus, struct arm64_gic *g)
{
	int ret;

	(void)nr_vcpus;	/* one redistributor region, sized by KVM from the vCPU count */
	ret = create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (ret < 0)
		return ret;
	g->fd = ret;
	g->version = 3;
	ret = set_addr(g->fd, KVM_VGIC_V3_ADDR_TYPE_DIST, GIC_DIST_BASE);
	if (!ret)
		ret = set_addr(g->fd, KVM_VGIC_V3_ADDR_TYPE_REDIST, GIC_REDIST_BASE);
	if (ret)
		return ret;
	/* the ITS is optional: without it PCI devices use INTx */
	ret = create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS);
	if (ret < 0)
		return 0;
	g->its_fd = ret;
	if (set_addr(g->its_fd, KVM_VGIC_ITS_ADDR_TYPE, GIC_ITS_BASE)) {
		close(g->its_fd);
		g->its_fd = -1;
	}
	return 0;
}

static int create_v2(int vm_fd, struct arm64_gic *g)
{
	int ret = create_device(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2);

	if (ret < 0)
		return ret;
	g->fd = ret;
	g->version = 2;
	ret = set_addr(g->fd, KVM_VGIC_V2_ADDR_TYPE_DIST, GIC_DIST_BASE);
	if (!ret)
		ret = set_addr(g->fd, KVM_VGIC_V2_ADDR_TYPE_CPU, GIC_CPU_BASE);
	return ret;
}

int arm64_gic_create(int vm_fd, unsigned int nr_vcpus, struct arm64_gic *g)
{
	uint32_t nr_irqs = 32 + ARM64_IRQ_SPIS;
	int ret;

	g->fd = -1;
	g->its_fd = -1;
	ret = create_v3(vm_fd, nr_vcpus, g);
	if (ret && g->fd < 0) {
		ret = create_v2(vm_fd, g);
		if (!ret && nr_vcpus > 8)
			ret = -E2BIG;	/* GICv2 reaches 8 CPUs */
	}
	if (!ret)
		ret = set_attr(g->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (ret)
		arm64_gic_destroy(g);
	return ret;
}

int arm64_gic_finalize(struct arm64_gic *g)
{
	int ret = set_attr(g->fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);

	if (!ret && g->its_fd >= 0)
		ret = set_attr(g->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			       KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	return ret;
}

void arm64_gic_destroy(struct arm64_gic *g)
{
	if (g->its_fd >= 0)
		close(g->its_fd);
	if (g->fd >= 0)
		close(g->fd);
	g->its_fd = -1;
	g->fd = -1;
}
