/*
 * The arch contract: what the core needs from an architecture. One
 * implementation per build (arch/x86 now, arm64 later); nothing outside
 * arch/<name>/ knows port I/O, GSIs, CPUID or where the MMIO hole is.
 * The board's addresses and interrupt lines for devices are in board.h.
 */
#ifndef KVMINI_ARCH_H
#define KVMINI_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_ram_layout;
struct inventory;
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
	const char *cmdline_user;	/* --cmdline, or NULL */
	const char *memory_text;	/* --memory as the user typed it, for messages */
};

/* Kernel command line before any device's fragment and --cmdline. */
const char *arch_default_cmdline(void);
/* Whether @kernel is a Linux kernel (which needs hardware KVM to boot). */
bool arch_kernel_is_linux(const uint8_t *kernel, size_t len);

/* Where @ram_size bytes of guest RAM go. 0, or -EINVAL if they cannot. */
int arch_ram_layout(uint64_t ram_size, struct guest_ram_layout *l);

/* KVM_IRQ_LINE's irq field for board line @line (x86: the GSI; arm64: an SPI). */
uint32_t arch_irq_line(unsigned int line);

/* After KVM_CREATE_VM and memory, before devices and vCPUs: irqchip, timers. */
int arch_vm_init(struct vm *vm);
/*
 * After devices: firmware tables that describe @inv, and the kernel, with
 * the command line arch_default_cmdline(), @inv's fragments, then
 * k->cmdline_user. Prints its own errors.
 */
int arch_vm_load(struct vm *vm, const struct kernel_blobs *k, const struct inventory *inv);
/* Per vCPU, after arch_vm_load: CPUID, MSRs, and entry registers on the boot CPU. */
int arch_vcpu_init(struct vm *vm, struct vcpu *v);
/* Once every vCPU exists, before any runs (arm64's VGIC is sized then). */
int arch_vcpus_ready(struct vm *vm);
/* Registers and exit details to stderr after a fatal exit. */
void arch_vcpu_dump(struct vcpu *v);
void arch_vm_free(struct vm *vm);

/*
 * Snapshots: the VM-wide and per-vCPU state KVM holds (irqchip, clocks,
 * registers) to and from @buf of @len bytes. A save returns the number
 * of bytes it wrote, or -ENOSPC when @len is too small (call again with a
 * larger buffer), or -errno after kv_err(). A restore takes what a save
 * wrote, checks all of it before it sets anything, and returns 0 or
 * -errno after kv_err(). The VM is restored after its vCPUs (the clock
 * last). Main thread, vCPUs parked or not started.
 */
int arch_vm_save(struct vm *vm, void *buf, size_t len);
int arch_vm_restore(struct vm *vm, const void *buf, size_t len);
int arch_vcpu_save(struct vcpu *v, void *buf, size_t len);
int arch_vcpu_restore(struct vcpu *v, const void *buf, size_t len);

/* What a snapshot needs from the host: KVM capabilities, a CPUID summary. */
#define ARCH_SNAPSHOT_WORDS 8
void arch_snapshot_words(struct vm *vm, uint32_t *words);
/* Whether this host gives what @words (a snapshot's) need; -EOPNOTSUPP and @why if not. */
int arch_snapshot_check(struct vm *vm, const uint32_t *words, char *why, size_t whylen);

/* Which of kvmini's threads an arch ioctl list is for (the sandbox asks). */
enum arch_ioctl_use {
	ARCH_IOCTLS_VCPU,	/* vCPU threads: arch_vcpu_dump() */
	ARCH_IOCTLS_SETUP,	/* building a VM and its vCPUs (--on-reboot=restart) */
	ARCH_IOCTLS_SNAPSHOT,	/* the main thread reads KVM's state for a snapshot */
};

/* The arch's own KVM ioctls for @use; *n gets the count. */
const unsigned long *arch_seccomp_ioctls(enum arch_ioctl_use use, size_t *n);

#endif
