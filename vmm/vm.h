/* The VM: KVM handles, guest memory, buses, vCPUs, and how it stops. */
#ifndef KVMINI_VM_H
#define KVMINI_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "inventory.h"
#include "irq.h"
#include "mem.h"

struct evloop;
struct kvm_run;
struct pci_host;

/* Exit statuses of `kvmini run` (README and docs/kvmini.1 list them). */
enum {
	EXIT_POWEROFF = 0,	/* guest powered off, or Ctrl-A x */
	EXIT_ERROR = 2,		/* kvmini could not start or run the VM */
	EXIT_REBOOT = 4,	/* guest rebooted with --on-reboot=exit */
	EXIT_CRASH = 6,		/* triple fault (KVM_EXIT_SHUTDOWN) */
	EXIT_KVM_FAIL = 8,	/* KVM internal error, emulation or entry failure */
	EXIT_VOLUME = 10,	/* --volume: the guest's tree was refused (limit, hostile entry) */
	EXIT_TIMEOUT = 124,	/* --timeout expired (as timeout(1)) */
	/* + N: only where signal N cannot end kvmini (PID 1 of the --jail namespace) */
	EXIT_SIGNAL_BASE = 128,
};

/* Why the VM stopped. The first reason recorded wins. */
enum stop_reason {
	STOP_NONE,
	STOP_POWEROFF,
	STOP_REBOOT,
	STOP_CRASH,
	STOP_KVM_FAIL,
	STOP_SIGNAL,
	STOP_ERROR,
	STOP_USER_QUIT,
	STOP_GUEST_EXIT,	/* the guest wrote to the exit device */
	STOP_TIMEOUT,
	STOP_FORCED,		/* kvmini stop --force, or its timeout ran out */
	STOP_SNAPSHOT,		/* saved by kvmini snapshot --stop */
};
/* "poweroff", "timeout": for events and reports. */
const char *stop_reason_name(enum stop_reason r);

/* Why a vCPU came back to kvmini (KVM_RUN returned), counted per vCPU. */
enum vcpu_exit_kind {
	VCPU_EXIT_IO, VCPU_EXIT_MMIO, VCPU_EXIT_INTR, VCPU_EXIT_HLT, VCPU_EXIT_SHUTDOWN,
	VCPU_EXIT_SYSTEM_EVENT, VCPU_EXIT_INTERNAL_ERROR, VCPU_EXIT_FAIL_ENTRY,
	VCPU_EXIT_OTHER, VCPU_EXIT_KINDS,
};
const char *vcpu_exit_kind_name(enum vcpu_exit_kind k);

/* PIO and MMIO exits by device: by the base of the bus range hit. */
#define VCPU_DEV_SLOTS 64
struct vcpu_dev_count {
	uint64_t key;		/* range base, bit 63 set for MMIO; 0: free (see vcpu.c) */
	uint64_t n;
};

struct vcpu_counters {
	uint64_t exits[VCPU_EXIT_KINDS];
	struct vcpu_dev_count dev[VCPU_DEV_SLOTS];
	uint64_t dev_other;	/* the table was full, or no device claimed the access */
};

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	int stats_fd;		/* KVM's binary statistics, -1: none (before Linux 5.14) */
	struct vcpu_counters counters;	/* written by this vCPU only */
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct evloop *loop;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	void *arch;		/* arch/ private state (boot entry, CPUID table) */
	struct pci_host *pci;	/* bus 0 (devices/pci.c), set in PHASE_BUS */
	struct device *devices;	/* every device instance, in creation order */
	struct inventory inventory;	/* what the instances described; arch_vm_load() walks it */
	struct irq_pool irqs;		/* lines for devices without a fixed one */
	struct irqfd_deferred irqfd_wait;	/* irqfds waiting for the irqchip (arm64) */

	pthread_mutex_t stop_lock;
	enum stop_reason stop_reason;
	int exit_status;
	atomic_bool stopping;

	/* vm_pause(): vCPUs park at their next exit until vm_resume() */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;	/* parked count changed, or pause lifted */
	atomic_bool pause_req;
	unsigned int parked;
	int stats_fd;			/* the VM's binary statistics, -1: none */
	/* --report: CLOCK_MONOTONIC ns of the first byte the guest wrote to a console, 0: none */
	uint64_t first_output_ns;
	uint64_t command_start_ns;	/* -- CMD: the guest's mark (vm_mark_command_start), 0: none */
};

/* -- CMD mode: the guest's init starts the command now (--report). Once per VM. */
void vm_mark_command_start(struct vm *vm);

/*
 * Record that the VM should stop with @reason and process status
 * @status, and wake the event loop. Callable from any thread; only the
 * first call counts.
 */
void vm_request_stop(struct vm *vm, enum stop_reason reason, int status);

/* @mem_fd: a snapshot's memory file to map as RAM (--restore), or -1. */
struct vm *vm_create(const struct vm_config *cfg, int kvm_fd, int mem_fd);
void vm_destroy(struct vm *vm);
int vm_create_vcpus(struct vm *vm);
/* Start one thread per vCPU; returns 0 or -errno (threads already started keep running). */
int vm_start_vcpus(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and join its thread. */
void vm_stop_vcpus(struct vm *vm);

/*
 * Park every running vCPU outside KVM_RUN and wait until all are parked
 * (or the VM stops). The guest does not run until vm_resume(). Event
 * loop thread only; 0, or -EALREADY if paused, -ESHUTDOWN if stopping.
 */
int vm_pause(struct vm *vm);
/* Let the parked vCPUs run again. 0, or -EALREADY if not paused. */
int vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);
/* vCPU threads, at the top of their loop: park here while a pause holds. */
void vm_vcpu_park_point(struct vm *vm);

/*
 * --stats: kvmini's resident memory beyond the guest RAM it touched, to
 * stderr. vm_stats_open() opens /proc/self/status during setup, before the
 * jail hides /proc and the filters forbid opening files; without it the
 * process figures read 0.
 */
void vm_stats_open(void);
void vm_stats_close(void);
void vm_report_stats(struct vm *vm);
/* Peak and current resident memory of kvmini, and the guest RAM resident in it (KiB). */
void vm_memory_kib(struct vm *vm, unsigned long *peak, unsigned long *rss,
		   unsigned long *guest);

#endif
