/* x86 side of the VM: irqchip and PIT, firmware tables, kernel, per-vCPU state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "acpi.h"
#include "arch.h"
#include "boot.h"
#include "cpu.h"
#include "gsi.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "snapshot.h"
#include "vm.h"

struct x86_vm {
	struct boot_entry entry;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, shared by all vCPUs */
	struct x86_gsi *gsi;		/* GSI routing table (gsi.c) */
	struct x86_snap *snap;		/* what KVM can save (snapshot.c) */
};

/*
 * No i8042 options: the FADT says there is no 8042, so Linux skips the
 * controller unless i8042.nopnp forces a (slow, timing-out) probe.
 */
const char *arch_default_cmdline(void)
{
	return "console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 tsc=reliable no_timer_check";
}

/* RAM from 0; what would overlap the 32-bit MMIO hole moves to 4 GiB. */
int arch_ram_layout(uint64_t ram_size, struct guest_ram_layout *l)
{
	guest_ram_split(l, 0, ram_size, MMIO_HOLE_START, FOUR_GIB);
	return 0;
}

uint32_t arch_irq_line(unsigned int line)
{
	return line;	/* board lines are GSIs */
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	unsigned int n;

	for (n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

static int vm_ioctl(struct vm *vm, unsigned long req, unsigned long arg, const char *what)
{
	if (ioctl(vm->vm_fd, req, arg) < 0) {
		kv_err("%s failed: %s; run 'kvmini check'", what, strerror(errno));
		return -errno;
	}
	return 0;
}

struct x86_gsi *x86_vm_gsi(struct vm *vm)
{
	struct x86_vm *x = vm->arch;

	return x ? x->gsi : NULL;
}

struct x86_snap *x86_vm_snap(struct vm *vm)
{
	struct x86_vm *x = vm->arch;

	return x ? x->snap : NULL;
}

const struct kvm_cpuid2 *x86_vm_cpuid(struct vm *vm)
{
	struct x86_vm *x = vm->arch;

	return x ? x->cpuid : NULL;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	struct x86_vm *x;
	int ret;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	vm->arch = x;
	x->cpuid = get_supported_cpuid(vm->kvm_fd);
	if (!x->cpuid) {
		kv_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -EIO;
	}
	/* Intel needs these three pages below 4 GiB; harmless elsewhere. */
	ret = vm_ioctl(vm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR, "KVM_SET_TSS_ADDR");
	if (ret)
		return ret;
	ret = vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&idmap,
		       "KVM_SET_IDENTITY_MAP_ADDR");
	if (ret)
		return ret;
	ret = vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	if (ret)
		return ret;
	ret = x86_gsi_init(vm, &x->gsi);
	if (ret)
		return ret;
	ret = x86_snap_probe(vm->kvm_fd, &x->snap);
	if (ret) {
		kv_err("KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-ret));
		return ret;
	}
	return vm_ioctl(vm, KVM_CREATE_PIT2, (unsigned long)&pit, "KVM_CREATE_PIT2");
}

void arch_vm_free(struct vm *vm)
{
	struct x86_vm *x = vm->arch;

	if (!x)
		return;
	free(x->cpuid);
	x86_gsi_free(x->gsi);
	free(x->snap);
	free(x);
	vm->arch = NULL;
}

bool arch_kernel_is_linux(const uint8_t *kernel, size_t len)
{
	return kernel_is_linux(kernel, len);
}

int arch_vm_load(struct vm *vm, const struct kernel_blobs *k, const struct inventory *inv)
{
	struct x86_vm *x = vm->arch;
	struct boot_input in = {
		.kernel_path = k->kernel_path,
		.kernel = k->kernel,
		.kernel_len = k->kernel_len,
		.initrds = k->initrds,
		.nr_initrds = k->nr_initrds,
		.cmdline_user = k->cmdline_user,
		.memory_text = k->memory_text,
	};
	char *cmdline;
	int ret;

	ret = acpi_build(&vm->mem, vm->nr_vcpus, inv, &in.rsdp_gpa);
	if (ret) {
		kv_err("cannot build ACPI tables for %u vCPUs: %s", vm->nr_vcpus,
		       strerror(-ret));
		return ret;
	}
	ret = x86_build_boot_pagetables(&vm->mem);
	if (ret) {
		kv_err("cannot build boot page tables: %s", strerror(-ret));
		return ret;
	}
	cmdline = inventory_cmdline(inv, arch_default_cmdline(), k->cmdline_user);
	if (!cmdline) {
		kv_err("out of memory");
		return -ENOMEM;
	}
	in.cmdline = cmdline;
	ret = x86_load_kernel(&vm->mem, &in, &x->entry);
	free(cmdline);
	if (ret)
		return ret;
	kv_debug("kernel %s: %s, entry 0x%llx%s", k->kernel_path,
		 kernel_format_name(x->entry.fmt), (unsigned long long)x->entry.entry,
		 x->entry.mode32 ? " (32-bit)" : "");
	return 0;
}

/* Nothing VM-wide depends on the vCPU count on x86: the MADT is already built. */
int arch_vcpus_ready(struct vm *vm)
{
	(void)vm;
	return 0;
}

/* LINT0 as ExtINT and LINT1 as NMI: the PC wiring guests expect. */
static int set_lapic_lints(int fd)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0, *lvt1;

	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lvt0 = (uint32_t *)&lapic.regs[0x350];
	lvt1 = (uint32_t *)&lapic.regs[0x360];
	*lvt0 = (*lvt0 & ~0x700u) | 0x700u;	/* delivery mode ExtINT */
	*lvt1 = (*lvt1 & ~0x700u) | 0x400u;	/* delivery mode NMI */
	if (ioctl(fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *v)
{
	struct x86_vm *x = vm->arch;
	int ret;

	ret = x86_vcpu_set_cpuid(v->fd, x->cpuid, v->index, vm->nr_vcpus);
	if (ret) {
		kv_err("KVM_SET_CPUID2 on vCPU %u failed: %s", v->index, strerror(-ret));
		return ret;
	}
	ret = x86_vcpu_init_msrs(v->fd);
	if (ret) {
		kv_err("KVM_SET_MSRS on vCPU %u failed: %s", v->index, strerror(-ret));
		return ret;
	}
	ret = set_lapic_lints(v->fd);
	if (ret) {
		kv_err("KVM_SET_LAPIC on vCPU %u failed: %s", v->index, strerror(-ret));
		return ret;
	}
	if (v->index != 0)
		return 0;	/* APs wait in the in-kernel LAPIC for INIT/SIPI */
	ret = x86_vcpu_set_boot_regs(v->fd, &x->entry);
	if (ret)
		kv_err("cannot set the boot registers of vCPU 0: %s", strerror(-ret));
	return ret;
}

void arch_vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		kv_err("vCPU %u: registers unavailable: %s", v->index, strerror(errno));
		return;
	}
	fprintf(stderr,
		"kvmini: vCPU %u registers:\n"
		"  RIP %016llx RSP %016llx RFLAGS %016llx\n"
		"  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n"
		"  RSI %016llx RDI %016llx RBP %016llx\n"
		"  R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n"
		"  R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n"
		"  CS %04x base %llx  CR0 %llx CR2 %llx CR3 %llx CR4 %llx EFER %llx\n",
		v->index, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
		s.cs.selector, s.cs.base, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	if (v->run && v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		unsigned int i, n = v->run->internal.ndata;

		if (n > 16)
			n = 16;
		fprintf(stderr, "  internal error data:");
		for (i = 0; i < n; i++)
			fprintf(stderr, " %llx", v->run->internal.data[i]);
		fprintf(stderr, "\n");
	}
}
