/*
 * x86 vCPU state: the CPUID table each vCPU sees (topology: one socket,
 * nr_cpus cores, one thread per core), reset-time MSRs, and the boot
 * CPU's entry registers for the 64-bit, PVH and multiboot boot protocols.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu.h"
#include "layout.h"
#include "log.h"
#include "util.h"

#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)
#define CPUID_KVM_SIGNATURE	0x40000000u
#define CPUID_TOPO_LEVEL_SMT	1u
#define CPUID_TOPO_LEVEL_CORE	2u

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define MISC_ENABLE_FAST_STRING	(1ULL << 0)
#define MTRR_DEF_TYPE_E		(1ULL << 11)	/* MTRRs enabled */
#define MTRR_DEF_TYPE_FE	(1ULL << 10)	/* fixed-range MTRRs enabled */
#define MTRR_TYPE_WB		6ULL

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

/* Selectors of the boot GDT written by x86_build_boot_pagetables(). */
#define BOOT_CS32	0x08
#define BOOT_CS64	0x10
#define BOOT_DS		0x18
#define BOOT_GDT_LIMIT	(4 * 8 - 1)

#define FPU_FCW_DEFAULT		0x37f
#define MXCSR_DEFAULT		0x1f80

/* Bits needed to number @n items: 1 -> 0, 2 -> 1, 3..4 -> 2, ... */
static uint32_t order_base_2(uint32_t n)
{
	uint32_t bits = 0;

	while (bits < 32 && (1ULL << bits) < n)
		bits++;
	return bits;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The highest 0x400000xx leaf present: EAX of the signature leaf. */
static uint32_t cpuid_max_kvm_leaf(const struct kvm_cpuid2 *c)
{
	uint32_t max = CPUID_KVM_SIGNATURE;
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		uint32_t f = c->entries[i].function;

		if (f > max && f <= CPUID_KVM_SIGNATURE + 0xff)
			max = f;
	}
	return max;
}

/* Leaves 0xB and 0x1F: SMT level of 1 thread, core level of nr_cpus. */
static void cpuid_fix_x2apic_topo(struct kvm_cpuid_entry2 *e,
				  unsigned int index, unsigned int nr_cpus)
{
	uint32_t level = e->index;

	e->edx = index;
	switch (level) {
	case 0:
		e->eax = 0;	/* no thread bits in the x2APIC id */
		e->ebx = 1;
		e->ecx = (CPUID_TOPO_LEVEL_SMT << 8) | level;
		break;
	case 1:
		e->eax = order_base_2(nr_cpus);
		e->ebx = nr_cpus;
		e->ecx = (CPUID_TOPO_LEVEL_CORE << 8) | level;
		break;
	default:	/* invalid level ends the enumeration */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = level & 0xff;
		break;
	}
}

void cpuid_fixup(struct kvm_cpuid2 *c, unsigned int index, unsigned int nr_cpus)
{
	uint32_t max_kvm_leaf = cpuid_max_kvm_leaf(c);
	unsigned int i;

	if (nr_cpus == 0)
		nr_cpus = 1;
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t n;

		switch (e->function) {
		case 0x1:
			n = min_u32(nr_cpus, 0xff);
			e->ebx = (e->ebx & 0xffff) | (n << 16) |
				 ((index & 0xff) << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_cpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4:
			if (!(e->eax & 0x1f))	/* no cache at this subleaf */
				break;
			/* EAX[31:26] cores per package - 1 */
			e->eax &= ~(0x3fu << 26);
			e->eax |= (min_u32(nr_cpus, 64) - 1) << 26;
			/* EAX[25:14] threads sharing: L1/L2 per core, L3 all */
			e->eax &= ~(0xfffu << 14);
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (min_u32(nr_cpus, 4096) - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			cpuid_fix_x2apic_topo(e, index, nr_cpus);
			break;
		case 0x80000008:
			/* ECX[15:12] APIC id bits, ECX[7:0] cores - 1 */
			e->ecx &= ~0xf0ffu;
			e->ecx |= (order_base_2(nr_cpus) & 0xf) << 12;
			e->ecx |= min_u32(nr_cpus, 256) - 1;
			break;
		case 0x8000001e:
			e->eax = index;			/* extended APIC id */
			e->ebx = index & 0xff;		/* core id, 1 thread */
			e->ecx = 0;			/* node 0 of 1 */
			e->edx = 0;
			break;
		case CPUID_KVM_SIGNATURE:
			e->eax = max_kvm_leaf;
			memcpy(&e->ebx, "KVMK", 4);
			memcpy(&e->ecx, "VMKV", 4);
			memcpy(&e->edx, "M\0\0\0", 4);
			break;
		}
	}
}

int x86_vcpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
		       unsigned int index, unsigned int nr_cpus)
{
	size_t size = sizeof(*supported) +
		      supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c;
	int ret = 0;

	c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	cpuid_fixup(c, index, nr_cpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

int x86_vcpu_init_msrs(int vcpu_fd)
{
	static const struct kvm_msr_entry init[] = {
		{ .index = MSR_IA32_SYSENTER_CS },
		{ .index = MSR_IA32_SYSENTER_ESP },
		{ .index = MSR_IA32_SYSENTER_EIP },
		{ .index = MSR_STAR },
		{ .index = MSR_LSTAR },
		{ .index = MSR_CSTAR },
		{ .index = MSR_SYSCALL_MASK },
		{ .index = MSR_KERNEL_GS_BASE },
		{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
		/* 0xc06: MTRRs and fixed MTRRs on, default type WB */
		{ .index = MSR_MTRR_DEF_TYPE,
		  .data = MTRR_DEF_TYPE_E | MTRR_DEF_TYPE_FE | MTRR_TYPE_WB },
	};
	struct kvm_msrs *msrs;
	int ret;

	msrs = calloc(1, sizeof(*msrs) + sizeof(init));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = ARRAY_SIZE(init);
	memcpy(msrs->entries, init, sizeof(init));
	ret = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
	if (ret < 0) {
		ret = -errno;
	} else if ((unsigned int)ret < ARRAY_SIZE(init)) {
		/* KVM stops at the first MSR it refuses, returning how many it set */
		kv_debug("KVM refused MSR 0x%x", init[ret].index);
		ret = -EIO;
	} else {
		ret = 0;
	}
	free(msrs);
	return ret;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

static void sregs_long_mode(struct kvm_sregs *sr)
{
	struct kvm_segment data;

	seg_flat(&sr->cs, BOOT_CS64, 0xb, true);	/* exec/read, accessed */
	seg_flat(&data, BOOT_DS, 0x3, false);		/* read/write, accessed */
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sr->cr3 = BOOT_PML4_ADDR;
	sr->cr4 = X86_CR4_PAE;
	sr->efer = EFER_LME | EFER_LMA;
}

/* PVH and multiboot: flat 32-bit protected mode, paging off. */
static void sregs_flat32(struct kvm_sregs *sr)
{
	struct kvm_segment data;

	seg_flat(&sr->cs, BOOT_CS32, 0xb, false);
	seg_flat(&data, BOOT_DS, 0x3, false);
	sr->ds = sr->es = sr->fs = sr->gs = sr->ss = data;
	sr->cr0 = X86_CR0_PE | X86_CR0_ET;
	sr->cr3 = 0;
	sr->cr4 = 0;
	sr->efer = 0;
}

int x86_vcpu_set_boot_regs(int vcpu_fd, const struct boot_entry *e)
{
	struct kvm_fpu fpu;
	struct kvm_sregs sr;
	struct kvm_regs regs;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = FPU_FCW_DEFAULT;
	fpu.mxcsr = MXCSR_DEFAULT;
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;

	/* Start from KVM's reset state: it keeps TR and LDTR valid. */
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	if (e->mode32)
		sregs_flat32(&sr);
	else
		sregs_long_mode(&sr);
	sr.gdt.base = BOOT_GDT_ADDR;
	sr.gdt.limit = BOOT_GDT_LIMIT;
	sr.idt.base = BOOT_IDT_ADDR;
	sr.idt.limit = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;

	/* Linux wants RBP, RDI and RBX zero at the 64-bit entry. */
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;	/* bit 1 is reserved, always set */
	regs.rip = e->entry;
	if (e->mode32) {
		regs.rax = e->boot_magic;
		regs.rbx = e->boot_data;
	} else {
		regs.rsi = e->boot_data;
		regs.rsp = BOOT_STACK_TOP;
	}
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
