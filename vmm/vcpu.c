/* vCPU threads: KVM_RUN, exit dispatch to the buses, fatal exit reports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch.h"
#include "kstats.h"
#include "log.h"
#include "sandbox.h"
#include "signals.h"
#include "vcpu.h"

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int index)
{
	int size;

	v->vm = vm;
	v->index = index;
	v->stats_fd = -1;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		kv_err("KVM_CREATE_VCPU %u failed: %s; try fewer --cpus", index, strerror(errno));
		return -errno;
	}
	if (vm->cfg->stats) {
		int fd = kstats_open(v->fd);	/* read at exit; none before Linux 5.14 */

		v->stats_fd = fd < 0 ? -1 : fd;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		kv_err("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -EINVAL;
	}
	v->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		kv_err("cannot map the kvm_run area of vCPU %u: %s", index, strerror(errno));
		return -errno;
	}
	v->run_size = (size_t)size;
	return arch_vcpu_init(vm, v);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool is_write = r->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	/* data_offset and count*size stay inside the run page: KVM sets them */
	for (i = 0; i < r->io.count; i++)
		bus_access(&v->vm->pio, r->io.port, data + (size_t)i * r->io.size,
			   r->io.size, is_write);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t len = r->mmio.len;

	if (len > sizeof(r->mmio.data))
		len = sizeof(r->mmio.data);
	bus_access(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, len, r->mmio.is_write);
}

static void fatal_exit(struct vcpu *v, enum stop_reason reason, int status,
		       const char *what)
{
	kv_err("vCPU %u stopped: %s", v->index, what);
	arch_vcpu_dump(v);
	vm_request_stop(v->vm, reason, status);
}

/* Returns false when this vCPU should stop running. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	char what[160];

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC; treat as a stopped CPU */
		fatal_exit(v, STOP_CRASH, EXIT_CRASH, "HLT exit (no in-kernel irqchip)");
		return false;
	case KVM_EXIT_SHUTDOWN:
		fatal_exit(v, STOP_CRASH, EXIT_CRASH,
			   "triple fault (KVM_EXIT_SHUTDOWN): the guest crashed");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vm_request_stop(v->vm, STOP_REBOOT, EXIT_REBOOT);
		} else if (r->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_request_stop(v->vm, STOP_POWEROFF, EXIT_POWEROFF);
		} else {
			snprintf(what, sizeof(what), "system event %u", r->system_event.type);
			fatal_exit(v, STOP_CRASH, EXIT_CRASH, what);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what),
			 "KVM internal error, suberror %u%s", r->internal.suberror,
			 r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			 " (instruction emulation failed)" : "");
		fatal_exit(v, STOP_KVM_FAIL, EXIT_KVM_FAIL, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		fatal_exit(v, STOP_KVM_FAIL, EXIT_KVM_FAIL, what);
		return false;
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u", r->exit_reason);
		fatal_exit(v, STOP_KVM_FAIL, EXIT_KVM_FAIL, what);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];

	snprintf(name, sizeof(name), "kvmini-vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	if (sandbox_enter(SANDBOX_VCPU)) {
		vm_request_stop(vm, STOP_ERROR, EXIT_ERROR);
		return NULL;
	}
	while (!atomic_load(&vm->stopping)) {
		vm_vcpu_park_point(vm);
		if (atomic_load(&vm->stopping))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			kv_err("KVM_RUN on vCPU %u failed: %s", v->index, strerror(errno));
			arch_vcpu_dump(v);
			vm_request_stop(vm, STOP_KVM_FAIL, EXIT_KVM_FAIL);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (ret) {
		kv_err("cannot start the thread of vCPU %u: %s", v->index, strerror(ret));
		return -ret;
	}
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	v->run->immediate_exit = 1;
	signals_kick(v->thread);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->started)
		return;
	pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	v->stats_fd = -1;
	v->run = NULL;
	v->fd = -1;
}
