/* VM lifecycle: create the KVM VM, map RAM, create vCPUs, stop them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch.h"
#include "evloop.h"
#include "kstats.h"
#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

void vm_request_stop(struct vm *vm, enum stop_reason reason, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == STOP_NONE) {
		vm->stop_reason = reason;
		vm->exit_status = status;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	atomic_store(&vm->stopping, true);
	/* parked vCPUs wake up and see the stop */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	evloop_stop(vm->loop);
}

void vm_mark_command_start(struct vm *vm)
{
	struct timespec ts;
	uint64_t zero = 0, ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	__atomic_compare_exchange_n(&vm->command_start_ns, &zero, ns, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

const char *stop_reason_name(enum stop_reason r)
{
	static const char *const names[] = {
		[STOP_NONE] = "none",
		[STOP_POWEROFF] = "poweroff",
		[STOP_REBOOT] = "reboot",
		[STOP_CRASH] = "crash",
		[STOP_KVM_FAIL] = "kvm-failure",
		[STOP_SIGNAL] = "signal",
		[STOP_ERROR] = "error",
		[STOP_USER_QUIT] = "console-quit",
		[STOP_GUEST_EXIT] = "guest-exit",
		[STOP_TIMEOUT] = "timeout",
		[STOP_FORCED] = "forced",
		[STOP_SNAPSHOT] = "snapshot",
	};

	return (unsigned int)r < ARRAY_SIZE(names) && names[r] ? names[r] : "unknown";
}

static int map_memory(struct vm *vm, int mem_fd)
{
	struct guest_ram_layout layout;
	unsigned int i;
	int ret;

	ret = arch_ram_layout(vm->cfg->memory, &layout);
	if (!ret)
		ret = guest_mem_alloc(&vm->mem, &layout);
	if (ret) {
		kv_err("cannot allocate %llu MiB of guest memory: %s; lower --memory",
		       (unsigned long long)(vm->cfg->memory >> 20), strerror(-ret));
		return ret;
	}
	if (mem_fd >= 0 && (ret = guest_mem_map_file(&vm->mem, mem_fd))) {
		kv_err("cannot map the snapshot's memory file: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			ret = -errno;
			kv_err("KVM_SET_USER_MEMORY_REGION for %llu MiB at 0x%llx failed: %s; "
			       "lower --memory",
			       (unsigned long long)(r->size >> 20),
			       (unsigned long long)r->gpa, strerror(errno));
			return ret;
		}
	}
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, int kvm_fd, int mem_fd)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		kv_err("out of memory");
		return NULL;
	}
	vm->cfg = cfg;
	vm->kvm_fd = kvm_fd;
	vm->vm_fd = -1;
	vm->stats_fd = -1;
	vm->nr_vcpus = cfg->cpus;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");

	vm->loop = evloop_create();
	if (!vm->loop) {
		kv_err("cannot create the event loop: %s", strerror(errno));
		goto err;
	}
	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		kv_err("KVM_CREATE_VM failed: %s; run 'kvmini check'", strerror(errno));
		goto err;
	}
	vm->stats_fd = kstats_open(vm->vm_fd);	/* -errno before Linux 5.14 */
	if (vm->stats_fd < 0)
		vm->stats_fd = -1;
	/*
	 * RAM first: on some hosts a memslot change after the irqchip exists
	 * costs milliseconds (measured: ~5 ms vs 0.02 ms on this software KVM).
	 */
	if (map_memory(vm, mem_fd))
		goto err;
	if (arch_vm_init(vm))
		goto err;
	return vm;
err:
	vm_destroy(vm);
	return NULL;
}

int vm_create_vcpus(struct vm *vm)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	unsigned int i;
	int ret;

	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;	/* the API's documented floor */
	if (vm->nr_vcpus > (unsigned int)max) {
		kv_err("--cpus %u: this host's KVM allows at most %d vCPUs", vm->nr_vcpus, max);
		return -EINVAL;
	}
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].fd = -1;
		vm->vcpus[i].stats_fd = -1;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
	}
	ret = arch_vcpus_ready(vm);
	if (ret)
		return ret;
	ret = vm_irqfd_replay(vm);
	if (ret)
		kv_err("cannot connect the devices' interrupts (KVM_IRQFD): %s", strerror(-ret));
	return ret;
}

int vm_start_vcpus(struct vm *vm)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void vm_stop_vcpus(struct vm *vm)
{
	unsigned int i;

	atomic_store(&vm->stopping, true);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

static unsigned int started_vcpus(struct vm *vm)
{
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

int vm_pause(struct vm *vm)
{
	unsigned int i;

	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;
	if (atomic_exchange(&vm->pause_req, true))
		return -EALREADY;
	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < started_vcpus(vm) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	return atomic_load(&vm->stopping) ? -ESHUTDOWN : 0;
}

int vm_resume(struct vm *vm)
{
	if (!atomic_load(&vm->pause_req))
		return -EALREADY;
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->pause_req);
}

void vm_vcpu_park_point(struct vm *vm)
{
	if (!atomic_load(&vm->pause_req))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	arch_vm_free(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->stats_fd >= 0)
		close(vm->stats_fd);
	guest_mem_free(&vm->mem);
	evloop_destroy(vm->loop);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
	inventory_free(&vm->inventory);
	irqfd_deferred_free(&vm->irqfd_wait);
	free(vm);
}

/* --stats: /proc/self/status, opened during setup and read afresh each time */
static int status_fd = -1;

void vm_stats_open(void)
{
	if (status_fd >= 0)
		return;
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (status_fd < 0)
		kv_warn("--stats: cannot open /proc/self/status: %s; kvmini's memory "
			"figures will read 0", strerror(errno));
}

void vm_stats_close(void)
{
	if (status_fd >= 0)
		close(status_fd);
	status_fd = -1;
}

/* The whole file into @buf (NUL-terminated); pread, so no seek and no reopen. */
static void read_status(char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (status_fd >= 0 && len < size - 1) {
		n = pread(status_fd, buf + len, size - 1 - len, (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
}

static unsigned long status_kib(const char *status, const char *key)
{
	size_t n = strlen(key);
	const char *p = status;

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == ':')
			return strtoul(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/* Guest pages resident in host memory, by mincore() over each region. */
static unsigned long guest_resident_kib(const struct guest_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long kib = 0;
	unsigned int i;

	for (i = 0; i < m->nr_regions; i++) {
		size_t pages = (m->regions[i].size + page - 1) / page, j;
		unsigned char *vec = malloc(pages);

		if (!vec)
			return 0;
		if (mincore(m->regions[i].hva, m->regions[i].size, vec) == 0)
			for (j = 0; j < pages; j++)
				if (vec[j] & 1)
					kib += page / 1024;
		free(vec);
	}
	return kib;
}

/* KVM's own count of the guest's exits, summed over the vCPUs (binary stats). */
static void report_exits(struct vm *vm)
{
	uint64_t exits = 0, halts = 0, v;
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++) {
		if (vm->vcpus[i].stats_fd < 0 || kstats_read(vm->vcpus[i].stats_fd, "exits", &v))
			return;	/* no binary stats on this kernel */
		exits += v;
		if (!kstats_read(vm->vcpus[i].stats_fd, "halt_exits", &v))
			halts += v;
	}
	fprintf(stderr, "kvmini: stats: kvm_exits=%llu halt_exits=%llu\n",
		(unsigned long long)exits, (unsigned long long)halts);
}

void vm_memory_kib(struct vm *vm, unsigned long *peak, unsigned long *rss,
		   unsigned long *guest)
{
	char status[4096];

	read_status(status, sizeof(status));
	*peak = status_kib(status, "VmHWM");
	*rss = status_kib(status, "VmRSS");
	*guest = guest_resident_kib(&vm->mem);
}

void vm_report_stats(struct vm *vm)
{
	unsigned long hwm, rss, guest;

	vm_memory_kib(vm, &hwm, &rss, &guest);

	fprintf(stderr, "kvmini: stats: peak_rss_kib=%lu rss_kib=%lu guest_resident_kib=%lu "
		"vmm_overhead_kib=%lu\n", hwm, rss, guest, rss > guest ? rss - guest : 0);
	report_exits(vm);
}
