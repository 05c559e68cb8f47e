/* x86 vCPU state: CPUID fix-ups, MSRs, and the boot CPU's entry registers. */
#ifndef KVMINI_X86_CPU_H
#define KVMINI_X86_CPU_H

#include <stdint.h>
#include <linux/kvm.h>

#include "boot.h"

/*
 * Rewrite a KVM_GET_SUPPORTED_CPUID table for vCPU @index of @nr_cpus:
 * APIC/x2APIC IDs and topology (one socket, @nr_cpus cores, one thread
 * each), the hypervisor bit, and the KVM signature leaves. Pure function.
 */
void cpuid_fixup(struct kvm_cpuid2 *c, unsigned int index, unsigned int nr_cpus);

/* KVM_SET_CPUID2 built from @supported (not modified) for vCPU @index. */
int x86_vcpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported,
		       unsigned int index, unsigned int nr_cpus);

/* Reset-time MSRs (MTRR default WB, misc enable, SYSENTER/STAR cleared). */
int x86_vcpu_init_msrs(int vcpu_fd);

/* FPU control words, then the boot CPU's registers for @e (64-bit, PVH or multiboot). */
int x86_vcpu_set_boot_regs(int vcpu_fd, const struct boot_entry *e);

#endif
