/* What the core needs from an architecture (arch/x86 today, arm64 later). */
#ifndef KVMINI_ARCH_H
#define KVMINI_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* --initrd files: one for Linux, several (modules) for multiboot. */
#define MAX_INITRDS 16

/* One input file read into memory. */
struct file_blob {
	const char *path;	/* for messages */
	const uint8_t *data;
	size_t len;
};

struct kernel_blobs {
	const char *kernel_path;
	const uint8_t *kernel;
	size_t kernel_len;
	const struct file_blob *initrds;	/* --initrd files, in order */
	unsigned int nr_initrds;
	const char *cmdline;		/* defaults, device announcements, --cmdline */
	const char *cmdline_user;	/* --cmdline alone, or NULL */
	const char *memory_text;	/* --memory as the user typed it, for messages */
};

/* Whether @kernel is a Linux kernel (which needs hardware KVM to boot). */
bool arch_kernel_is_linux(const uint8_t *kernel, size_t len);
/* Where guest RAM must not be: RAM at or above this gpa moves to 4 GiB. */
uint64_t arch_mmio_hole_start(void);
/* After KVM_CREATE_VM, before memory and vCPUs: irqchip, timers. */
int arch_vm_init(struct vm *vm);
/* After memory: firmware tables and the kernel. Prints its own errors. */
int arch_vm_load(struct vm *vm, const struct kernel_blobs *k);
/* Per vCPU, after arch_vm_load: CPUID, MSRs, and entry registers on the boot CPU. */
int arch_vcpu_init(struct vm *vm, struct vcpu *v);
/* Registers and exit details to stderr after a fatal exit. */
void arch_vcpu_dump(struct vcpu *v);
void arch_vm_free(struct vm *vm);

#endif
