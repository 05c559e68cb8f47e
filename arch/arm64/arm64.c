/*
 * arm64 side of the VM: the in-kernel GIC and timer, the Image and its
 * device tree, vCPUs with in-kernel PSCI, and registers after a fatal exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <linux/kvm.h>

#include "arch.h"
#include "arm64.h"
#include "devtree.h"
#include "image.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "vm.h"

/* The console is the MMIO 16550 the device tree's stdout-path names: earlycon finds it. */
const char *arch_default_cmdline(void)
{
	return "console=ttyS0 earlycon panic=1";
}

bool arch_kernel_is_linux(const uint8_t *kernel, size_t len)
{
	return arm64_image_probe(kernel, len);
}

int arch_ram_layout(uint64_t ram_size, struct guest_ram_layout *l)
{
	if (ram_size > UINT64_MAX - RAM_BASE)
		return -EINVAL;
	guest_ram_split(l, RAM_BASE, ram_size, RAM_BASE + ram_size, RAM_BASE + ram_size);
	return 0;
}

uint32_t arch_irq_line(unsigned int line)
{
	/* KVM_IRQ_LINE's irq field: type SPI, and the INTID (SPIs start at 32) */
	return (uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (line + 32);
}

int arch_vm_init(struct vm *vm)
{
	struct arm64_vm *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	vm->arch = a;
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->init) < 0) {
		kv_err("KVM_ARM_PREFERRED_TARGET failed: %s; run 'kvmini check'", strerror(errno));
		return -errno;
	}
	if (vm->nr_vcpus > ARM64_MAX_VCPUS) {
		kv_err("--cpus %u: the arm64 board has room for %u vCPUs", vm->nr_vcpus,
		       ARM64_MAX_VCPUS);
		return -EINVAL;
	}
	ret = arm64_gic_create(vm->vm_fd, vm->nr_vcpus, &a->gic);
	if (ret) {
		kv_err("cannot create the in-kernel GIC (v3 or v2): %s; run 'kvmini check'",
		       strerror(-ret));
		return ret;
	}
	return a->gic.its_fd >= 0 ? arm64_msi_init(a) : 0;
}

void arch_vm_free(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;

	if (!a)
		return;
	arm64_msi_free(a);
	arm64_gic_destroy(&a->gic);
	free(a);
	vm->arch = NULL;
}

/* A virtio-mmio window is a device tree node here, not a virtio_mmio.device= fragment. */
static char *build_cmdline(const struct inventory *inv, const char *user)
{
	struct inventory kept = { 0 };
	char *cmdline;

	for (unsigned int i = 0; i < inv->nr; i++) {
		if (inv->entries[i].role == INV_VIRTIO_MMIO || !inv->entries[i].cmdline[0])
			continue;
		if (inventory_add(&kept, &inv->entries[i])) {
			inventory_free(&kept);
			return NULL;
		}
	}
	cmdline = inventory_cmdline(&kept, arch_default_cmdline(), user);
	inventory_free(&kept);
	return cmdline;
}

static int copy_to_guest(struct vm *vm, uint64_t gpa, const void *src, size_t len,
			 const char *what)
{
	void *dst = guest_ptr(&vm->mem, gpa, len);

	if (!dst) {
		kv_err("cannot place the %s at 0x%llx (%zu bytes) in guest RAM", what,
		       (unsigned long long)gpa, len);
		return -ENOSPC;
	}
	memcpy(dst, src, len);
	return 0;
}

static int load_initrd(struct vm *vm, const struct kernel_blobs *k, uint64_t gpa)
{
	for (unsigned int i = 0; i < k->nr_initrds; i++) {
		int ret = copy_to_guest(vm, gpa, k->initrds[i].data, k->initrds[i].len, "initrd");

		if (ret)
			return ret;
		gpa += k->initrds[i].len;
	}
	return 0;
}

static int build_dtb(struct vm *vm, const struct inventory *inv, const char *cmdline,
		     const struct arm64_boot_layout *bl)
{
	struct arm64_vm *a = vm->arch;
	struct arm64_platform p = {
		.ram_base = RAM_BASE,
		.ram_size = vm->mem.ram_size,
		.nr_cpus = vm->nr_vcpus,
		.gic_version = a->gic.version,
		.its = a->gic.its_fd >= 0,
		.inv = inv,
		.bootargs = cmdline,
		.initrd_start = bl->initrd,
		.initrd_end = bl->initrd_end,
	};
	void *buf = guest_ptr(&vm->mem, bl->dtb, ARM64_DTB_MAX);
	int ret;

	if (!buf)
		return -ENOSPC;
	if (getrandom(p.rng_seed, sizeof(p.rng_seed), 0) != (ssize_t)sizeof(p.rng_seed) ||
	    getrandom(&p.kaslr_seed, sizeof(p.kaslr_seed), 0) != (ssize_t)sizeof(p.kaslr_seed)) {
		kv_err("getrandom failed: %s", strerror(errno));
		return -EIO;
	}
	ret = arm64_fdt_build(&p, buf, ARM64_DTB_MAX);
	if (ret)
		kv_err("cannot build the device tree: %s", strerror(-ret));
	return ret;
}

int arch_vm_load(struct vm *vm, const struct kernel_blobs *k, const struct inventory *inv)
{
	struct arm64_vm *a = vm->arch;
	struct arm64_boot_layout bl;
	struct arm64_image img;
	uint64_t initrd_len = 0;
	char why[160], *cmdline;
	int ret;

	ret = arm64_image_parse(k->kernel, k->kernel_len, &img, why, sizeof(why));
	if (ret) {
		kv_err("kernel %s: %s; pass an arm64 Linux Image (or Image.gz)", k->kernel_path,
		       why);
		return ret;
	}
	for (unsigned int i = 0; i < k->nr_initrds; i++)
		initrd_len += k->initrds[i].len;
	ret = arm64_boot_place(&img, RAM_BASE, vm->mem.ram_size, initrd_len, &bl);
	if (ret) {
		kv_err("kernel %s needs %llu MiB, with the initrd and device tree, but --memory is %s; raise --memory",
		       k->kernel_path,
		       (unsigned long long)((img.text_offset + img.image_size + initrd_len +
					     2 * ARM64_DTB_MAX) >> 20) + 1, k->memory_text);
		goto out;
	}
	ret = copy_to_guest(vm, bl.kernel, img.data, img.len, "kernel");
	if (!ret)
		ret = load_initrd(vm, k, bl.initrd);
	if (ret)
		goto out;
	cmdline = build_cmdline(inv, k->cmdline_user);
	if (!cmdline) {
		ret = -ENOMEM;
		goto out;
	}
	ret = build_dtb(vm, inv, cmdline, &bl);
	free(cmdline);
	if (ret)
		goto out;
	a->entry = bl.kernel;
	a->dtb = bl.dtb;
	kv_debug("kernel %s: arm64 Image%s at 0x%llx, device tree at 0x%llx", k->kernel_path,
		 img.gzip ? " (gzip)" : "", (unsigned long long)bl.kernel,
		 (unsigned long long)bl.dtb);
out:
	arm64_image_free(&img);
	return ret;
}

int arch_vcpus_ready(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;
	int ret = arm64_gic_finalize(&a->gic);

	if (ret)
		kv_err("cannot initialise the in-kernel GIC: %s", strerror(-ret));
	return ret;
}

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
		     (offsetof(struct kvm_regs, x) / sizeof(uint32_t)))

static int set_reg(int fd, uint64_t id, uint64_t v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&v };

	return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int get_reg(int fd, uint64_t id, uint64_t *v)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)v };

	return ioctl(fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

/*
 * booting.rst: x0 = the device tree, x1-x3 = 0, MMU and caches off,
 * interrupts masked, EL1h. KVM_ARM_VCPU_INIT leaves that state; the boot
 * CPU gets its entry and x0, the others stay off until PSCI CPU_ON.
 */
int arch_vcpu_init(struct vm *vm, struct vcpu *v)
{
	struct arm64_vm *a = vm->arch;
	struct kvm_vcpu_init init = a->init;
	int ret;

	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->index != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		kv_err("KVM_ARM_VCPU_INIT on vCPU %u failed: %s", v->index, strerror(errno));
		return -errno;
	}
	if (v->index != 0)
		return 0;
	ret = set_reg(v->fd, CORE_REG(regs.pc), a->entry);
	if (!ret)
		ret = set_reg(v->fd, CORE_REG(regs.regs[0]), a->dtb);
	if (ret)
		kv_err("cannot set the boot registers of vCPU 0: %s", strerror(-ret));
	return ret;
}

void arch_vcpu_dump(struct vcpu *v)
{
	uint64_t x[31], pc, sp, pstate, sp_el1, elr_el1;
	unsigned int i;

	for (i = 0; i < 31; i++)
		if (get_reg(v->fd, CORE_REG(regs.regs[i]), &x[i]))
			break;
	if (i < 31 || get_reg(v->fd, CORE_REG(regs.pc), &pc) ||
	    get_reg(v->fd, CORE_REG(regs.sp), &sp) ||
	    get_reg(v->fd, CORE_REG(regs.pstate), &pstate) ||
	    get_reg(v->fd, CORE_REG(sp_el1), &sp_el1) ||
	    get_reg(v->fd, CORE_REG(elr_el1), &elr_el1)) {
		kv_err("vCPU %u: registers unavailable: %s", v->index, strerror(errno));
		return;
	}
	fprintf(stderr, "kvmini: vCPU %u registers:\n"
		"  PC %016llx PSTATE %016llx SP_EL0 %016llx SP_EL1 %016llx ELR_EL1 %016llx\n",
		v->index, (unsigned long long)pc, (unsigned long long)pstate,
		(unsigned long long)sp, (unsigned long long)sp_el1,
		(unsigned long long)elr_el1);
	for (i = 0; i < 31; i += 4) {
		fprintf(stderr, " ");
		for (unsigned int j = i; j < i + 4 && j < 31; j++)
			fprintf(stderr, " X%-2u %016llx", j, (unsigned long long)x[j]);
		fprintf(stderr, "\n");
	}
}
