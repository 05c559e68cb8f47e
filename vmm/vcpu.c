/* vCPU threads: KVM_RUN, exit dispatch to the buses, fatal exit reports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch.h"
#include "counter.h"
#include "kstats.h"
#include "log.h"
#include "sandbox.h"
#include "signals.h"
#include "vcpu.h"

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int index)
{
	int size, stats_fd;

	v->vm = vm;
	v->index = index;
	v->stats_fd = -1;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		kv_err("KVM_CREATE_VCPU %u failed: %s; try fewer --cpus", index, strerror(errno));
		return -errno;
	}
	/* KVM's counters for kvmini stat and --stats; none before Linux 5.14 */
	stats_fd = kstats_open(v->fd);
	v->stats_fd = stats_fd < 0 ? -1 : stats_fd;
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

const char *vcpu_exit_kind_name(enum vcpu_exit_kind k)
{
	static const char *const names[] = {
		[VCPU_EXIT_IO] = "io", [VCPU_EXIT_MMIO] = "mmio", [VCPU_EXIT_INTR] = "intr",
		[VCPU_EXIT_HLT] = "hlt", [VCPU_EXIT_SHUTDOWN] = "shutdown",
		[VCPU_EXIT_SYSTEM_EVENT] = "system_event",
		[VCPU_EXIT_INTERNAL_ERROR] = "internal_error",
		[VCPU_EXIT_FAIL_ENTRY] = "fail_entry", [VCPU_EXIT_OTHER] = "other",
	};

	return (unsigned int)k < VCPU_EXIT_KINDS ? names[k] : "unknown";
}

/*
 * One more access to the device whose range starts at @key (bit 63:
 * MMIO), in this vCPU's table: open addressing, keys never removed. Only
 * this vCPU writes; readers see a key before its count grows.
 */
static void count_device(struct vcpu_counters *c, uint64_t key)
{
#if KVMINI_COUNTERS
	unsigned int i, h = (unsigned int)((key ^ (key >> 12) ^ (key >> 32)) % VCPU_DEV_SLOTS);

	key |= 1ULL << 62;	/* never 0, even for port 0 */
	for (i = 0; i < VCPU_DEV_SLOTS; i++) {
		struct vcpu_dev_count *d = &c->dev[(h + i) % VCPU_DEV_SLOTS];
		uint64_t k = __atomic_load_n(&d->key, __ATOMIC_RELAXED);

		if (k == key) {
			counter_add(&d->n, 1);
			return;
		}
		if (!k) {
			__atomic_store_n(&d->key, key, __ATOMIC_RELEASE);
			counter_add(&d->n, 1);
			return;
		}
	}
	counter_add(&c->dev_other, 1);
#else
	(void)c;
	(void)key;
#endif
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool is_write = r->io.direction == KVM_EXIT_IO_OUT;
	uint64_t base = 0;
	bool claimed = false;
	uint32_t i;

	/* data_offset and count*size stay inside the run page: KVM sets them */
	for (i = 0; i < r->io.count; i++)
		claimed = bus_access_at(&v->vm->pio, r->io.port, data + (size_t)i * r->io.size,
					r->io.size, is_write, &base);
	if (claimed)
		count_device(&v->counters, base);
	else
		counter_add(&v->counters.dev_other, 1);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t len = r->mmio.len;
	uint64_t base = 0;

	if (len > sizeof(r->mmio.data))
		len = sizeof(r->mmio.data);
	if (bus_access_at(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, len, r->mmio.is_write,
			  &base))
		count_device(&v->counters, base | (1ULL << 63));
	else
		counter_add(&v->counters.dev_other, 1);
}

static enum vcpu_exit_kind exit_kind(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return VCPU_EXIT_IO;
	case KVM_EXIT_MMIO: return VCPU_EXIT_MMIO;
	case KVM_EXIT_INTR: return VCPU_EXIT_INTR;
	case KVM_EXIT_HLT: return VCPU_EXIT_HLT;
	case KVM_EXIT_SHUTDOWN: return VCPU_EXIT_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT: return VCPU_EXIT_SYSTEM_EVENT;
	case KVM_EXIT_INTERNAL_ERROR: return VCPU_EXIT_INTERNAL_ERROR;
	case KVM_EXIT_FAIL_ENTRY: return VCPU_EXIT_FAIL_ENTRY;
	default: return VCPU_EXIT_OTHER;
	}
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

	counter_add(&v->counters.exits[exit_kind(r->exit_reason)], 1);
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

/*
 * Before parking for a pause: KVM finishes an exit that userspace has
 * handled (the rest of an IN or OUT: the value into RAX, RIP past the
 * instruction) only at the next KVM_RUN, and keeps that in no state a
 * snapshot could read. With immediate_exit set, KVM_RUN completes it and
 * returns -EINTR before the guest runs; an exit that completion raises is
 * handled like any other. False: this vCPU should stop.
 */
static bool settle_before_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping)) {
		v->run->immediate_exit = 1;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				break;
			kv_err("KVM_RUN on vCPU %u failed: %s", v->index, strerror(errno));
			vm_request_stop(vm, STOP_KVM_FAIL, EXIT_KVM_FAIL);
			return false;
		}
		if (!handle_exit(v))
			return false;
	}
	v->run->immediate_exit = 0;
	return true;
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
		if (atomic_load(&vm->pause_req) && !settle_before_park(v))
			break;
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
