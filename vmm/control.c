/*
 * The VM's control: requests from the API thread handed to the event loop
 * thread (one at a time, the caller waits), the stop sequence (power
 * button, then a hard stop when the timeout runs out), and the event
 * queue the API thread drains.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <stdlib.h>

#include "config.h"
#include "counter.h"
#include "control.h"
#include "device.h"
#include "errmsg.h"
#include "evloop.h"
#include "inventory.h"
#include "kstats.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "vm.h"

#define EVENT_QUEUE 64	/* events kept for a slow API thread; older ones are dropped */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct vm_config *cfg;
	char name[CONFIG_NAME_MAX + 1];
	struct timespec start;
	int pid;
	bool ready;

	/* under lock */
	struct vm *vm;			/* attached: requests go to its loop */
	enum vm_state state;
	struct control_request *pending;	/* handed to the loop, not yet taken */
	struct control_request *running;	/* taken by the loop */
	int result;
	bool done;
	bool finished;

	/* the loop side (its fds live as long as the VM) */
	int req_fd;			/* eventfd: a request is pending */
	int timer_fd;			/* stop: the hard-stop deadline */
	bool stop_asked;

	/* events, under lock */
	struct control_event events[EVENT_QUEUE];
	unsigned int ev_head, ev_count;
	int ev_fd;
} ctl = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.req_fd = -1,
	.timer_fd = -1,
	.ev_fd = -1,
};

const char *vm_state_name(enum vm_state s)
{
	static const char *const names[] = {
		[VM_STARTING] = "starting", [VM_RUNNING] = "running", [VM_PAUSED] = "paused",
		[VM_STOPPING] = "stopping", [VM_STOPPED] = "stopped",
	};

	return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

const char *control_name(void)
{
	return ctl.name;
}

static void wake_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}

/* Under ctl.lock. */
static void post_locked(enum control_event_kind kind, const char *reason, int status)
{
	struct control_event *e;

	if (ctl.ev_fd < 0)
		return;
	if (ctl.ev_count == EVENT_QUEUE) {	/* nobody drains: drop the oldest */
		ctl.ev_head = (ctl.ev_head + 1) % EVENT_QUEUE;
		ctl.ev_count--;
	}
	e = &ctl.events[(ctl.ev_head + ctl.ev_count) % EVENT_QUEUE];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->state = ctl.state;
	e->status = status;
	if (reason)
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
	clock_gettime(CLOCK_REALTIME, &e->when);
	ctl.ev_count++;
	wake_fd(ctl.ev_fd);
}

/* Under ctl.lock: a state change, and its event. */
static void set_state_locked(enum vm_state s, const char *why)
{
	if (ctl.state == s)
		return;
	ctl.state = s;
	post_locked(EVENT_STATE, why, 0);
}

int control_event_fd(void)
{
	return ctl.ev_fd;
}

bool control_event_next(struct control_event *ev)
{
	bool got = false;

	pthread_mutex_lock(&ctl.lock);
	if (ctl.ev_count) {
		*ev = ctl.events[ctl.ev_head];
		ctl.ev_head = (ctl.ev_head + 1) % EVENT_QUEUE;
		ctl.ev_count--;
		got = true;
	}
	pthread_mutex_unlock(&ctl.lock);
	return got;
}

int control_init(const struct vm_config *cfg, const char *name, int pid)
{
	ctl.cfg = cfg;
	ctl.pid = pid;
	snprintf(ctl.name, sizeof(ctl.name), "%s", name);
	clock_gettime(CLOCK_MONOTONIC, &ctl.start);
	ctl.state = VM_STARTING;
	ctl.ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctl.ev_fd < 0) {
		kv_err("eventfd for the API's events failed: %s", strerror(errno));
		return -errno;
	}
	ctl.ready = true;
	return 0;
}

void control_finish(int status, const char *reason)
{
	if (!ctl.ready)
		return;
	pthread_mutex_lock(&ctl.lock);
	ctl.finished = true;
	set_state_locked(VM_STOPPED, reason);
	post_locked(EVENT_STOP, reason, status);
	pthread_cond_broadcast(&ctl.cond);
	pthread_mutex_unlock(&ctl.lock);
}

/* ---- on the event loop thread ---- */

static void fill_info(struct vm *vm, struct control_info *info)
{
	const struct inventory *inv = &vm->inventory;
	static const char *const roles[] = {
		[INV_UART] = "uart", [INV_PCI_HOST] = "pci-host", [INV_VIRTIO_MMIO] = "virtio-mmio",
		[INV_POWER] = "power", [INV_RESET] = "reset", [INV_EXIT] = "exit",
		[INV_PCI_DEVICE] = "pci",
	};
	struct timespec now;
	struct device *d;
	unsigned int i;

	memset(info, 0, sizeof(*info));
	clock_gettime(CLOCK_MONOTONIC, &now);
	info->state = ctl.state;
	info->pid = ctl.pid;
	info->uptime_ms = (uint64_t)(now.tv_sec - ctl.start.tv_sec) * 1000 +
			  (uint64_t)((now.tv_nsec - ctl.start.tv_nsec) / 1000000);
	info->cpus = vm->cfg->cpus;
	info->memory = vm->cfg->memory;
	snprintf(info->kernel, sizeof(info->kernel), "%s",
		 vm->cfg->kernel ? vm->cfg->kernel : "");
	for (i = 0; i < inv->nr && info->nr_devices < CONTROL_MAX_DEVICES; i++) {
		const struct inv_entry *e = &inv->entries[i];
		unsigned int n = info->nr_devices++;

		snprintf(info->devices[n].name, sizeof(info->devices[n].name), "%s", e->name);
		snprintf(info->devices[n].type, sizeof(info->devices[n].type), "%s",
			 e->type ? e->type : "");
		info->devices[n].role = (unsigned int)e->role < ARRAY_SIZE(roles) &&
					roles[e->role] ? roles[e->role] : "other";
		info->devices[n].base = e->nr_ranges ? e->ranges[0].base : 0;
		info->devices[n].pio = e->nr_ranges && e->ranges[0].pio;
		info->devices[n].irq = e->irq;
	}
	for (d = vm->devices; d && info->nr_disks < CONTROL_MAX_DISKS; d = d->next) {
		struct device_disk_info di = { .path = "" };
		unsigned int n;

		if (!d->ops->disk_info)
			continue;
		d->ops->disk_info(d, &di);
		n = info->nr_disks++;
		snprintf(info->disks[n].name, sizeof(info->disks[n].name), "%s", d->name);
		snprintf(info->disks[n].id, sizeof(info->disks[n].id), "%.*s",
			 (int)sizeof(di.id), di.id);
		snprintf(info->disks[n].path, sizeof(info->disks[n].path), "%s", di.path);
		snprintf(info->disks[n].format, sizeof(info->disks[n].format), "%s", di.format);
		info->disks[n].size = di.size;
		info->disks[n].depth = di.depth;
		info->disks[n].readonly = di.readonly;
		info->disks[n].temporary = di.temporary;
	}
}

/* The disk named @name: its device name (disk0) or its id=. */
static struct device *find_disk(struct vm *vm, const char *name)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next) {
		struct device_disk_info di;

		if (!d->ops->disk_info || !d->ops->snapshot_disk)
			continue;
		memset(&di, 0, sizeof(di));
		d->ops->disk_info(d, &di);
		if (!strcmp(d->name, name) || (di.id[0] && !strncmp(di.id, name, sizeof(di.id)) &&
					       strlen(name) <= sizeof(di.id)))
			return d;
	}
	return NULL;
}

static int do_snapshot_disk(struct vm *vm, struct control_request *req)
{
	struct device *d = find_disk(vm, req->disk);
	struct errmsg e;
	int ret;

	if (!d) {
		snprintf(req->msg, req->msglen, "no disk '%s' (its name, disk0..., or its id=)",
			 req->disk);
		return -ENOENT;
	}
	ret = d->ops->snapshot_disk(d, req->fd, req->file, &e);
	if (ret)
		snprintf(req->msg, req->msglen, "%.*s", (int)req->msglen - 1, e.msg);
	else
		kv_info("%s: now on %s (live snapshot)", d->name, req->file);
	return ret;
}

void control_stats_free(struct control_stats *st)
{
	unsigned int i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].per_vcpu);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

/* The entry @name of @source, made if new (per vCPU if @per_vcpu). NULL: no memory. */
static struct control_stat *stat_get(struct control_stats *st, const char *source,
				     const char *name, bool per_vcpu)
{
	struct control_stat *e;
	unsigned int i;

	for (i = 0; i < st->n; i++)
		if (st->v[i].source == source && !strcmp(st->v[i].name, name))
			return &st->v[i];
	if (st->n == st->cap) {
		unsigned int cap = st->cap ? st->cap * 2 : 64;
		struct control_stat *v = realloc(st->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		st->v = v;
		st->cap = cap;
	}
	e = &st->v[st->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->source = source;
	if (per_vcpu) {
		e->per_vcpu = calloc(st->nr_vcpus ? st->nr_vcpus : 1, sizeof(uint64_t));
		if (!e->per_vcpu)
			return NULL;
	}
	st->n++;
	return e;
}

static const char *const SRC_KVM = "kvm", *const SRC_KVMINI = "kvmini";

const struct control_stat *control_stat_find(const struct control_stats *st, const char *name)
{
	unsigned int i;

	for (i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].name, name))
			return &st->v[i];
	return NULL;
}

struct stat_ctx {
	struct control_stats *st;
	const char *prefix;	/* device counters: "kvmini.blk0." */
	int vcpu;		/* -1: a VM-wide counter */
	bool failed;
};

static void add_kvm_stat(const char *name, uint64_t value, void *opaque)
{
	struct stat_ctx *c = opaque;
	struct control_stat *e = stat_get(c->st, SRC_KVM, name, c->vcpu >= 0);

	if (!e) {
		c->failed = true;
		return;
	}
	e->total += value;
	if (c->vcpu >= 0 && e->per_vcpu)
		e->per_vcpu[c->vcpu] += value;
}

static void add_device_stat(void *opaque, const char *name, uint64_t value)
{
	struct stat_ctx *c = opaque;
	char full[64];
	struct control_stat *e;

	snprintf(full, sizeof(full), "%s%s", c->prefix, name);
	e = stat_get(c->st, SRC_KVMINI, full, false);
	if (!e) {
		c->failed = true;
		return;
	}
	e->total += value;
}

/* "kvmini.pio.com1" for the range at @key (vcpu.c's key), from the inventory. */
static void device_exit_name(const struct vm *vm, uint64_t key, char *buf, size_t size)
{
	bool mmio = key >> 63;
	uint64_t base = key & ~(3ULL << 62);
	unsigned int i, r;

	for (i = 0; i < vm->inventory.nr; i++) {
		const struct inv_entry *e = &vm->inventory.entries[i];

		for (r = 0; r < e->nr_ranges; r++) {
			if (e->ranges[r].pio == !mmio && base >= e->ranges[r].base &&
			    base - e->ranges[r].base < e->ranges[r].len) {
				snprintf(buf, size, "kvmini.%s.%s", mmio ? "mmio" : "pio", e->name);
				return;
			}
		}
	}
	snprintf(buf, size, "kvmini.%s.0x%llx", mmio ? "mmio" : "pio", (unsigned long long)base);
}

int control_collect_stats(struct vm *vm, struct control_stats *st)
{
	struct stat_ctx c = { .st = st, .vcpu = -1 };
	struct device *d;
	char name[64];
	unsigned int i, k;

	memset(st, 0, sizeof(*st));
	st->nr_vcpus = vm->nr_vcpus;
	if (vm->stats_fd >= 0 && !kstats_read_all(vm->stats_fd, add_kvm_stat, &c))
		st->kvm_stats = true;
	for (i = 0; i < vm->nr_vcpus && vm->vcpus; i++) {
		const struct vcpu_counters *vc = &vm->vcpus[i].counters;

		c.vcpu = (int)i;
		if (vm->vcpus[i].stats_fd >= 0)
			kstats_read_all(vm->vcpus[i].stats_fd, add_kvm_stat, &c);
		for (k = 0; k < VCPU_EXIT_KINDS; k++) {
			struct control_stat *e;

			snprintf(name, sizeof(name), "kvmini.exits.%s", vcpu_exit_kind_name(k));
			e = stat_get(st, SRC_KVMINI, name, true);
			if (!e)
				goto nomem;
			e->per_vcpu[i] += counter_get(&vc->exits[k]);
			e->total += counter_get(&vc->exits[k]);
		}
		for (k = 0; k < VCPU_DEV_SLOTS; k++) {
			uint64_t key = __atomic_load_n(&vc->dev[k].key, __ATOMIC_ACQUIRE);
			struct control_stat *e;

			if (!key)
				continue;
			device_exit_name(vm, key, name, sizeof(name));
			e = stat_get(st, SRC_KVMINI, name, true);
			if (!e)
				goto nomem;
			e->per_vcpu[i] += counter_get(&vc->dev[k].n);
			e->total += counter_get(&vc->dev[k].n);
		}
	}
	c.vcpu = -1;
	for (d = vm->devices; d; d = d->next) {
		char prefix[48];

		if (!d->ops->stats)
			continue;
		snprintf(prefix, sizeof(prefix), "kvmini.%s.", d->name);
		c.prefix = prefix;
		d->ops->stats(d, add_device_stat, &c);
	}
	if (c.failed)
		goto nomem;
	return 0;
nomem:
	control_stats_free(st);
	return -ENOMEM;
}

static int do_pause(struct vm *vm)
{
	int ret;

	if (ctl.state == VM_STOPPING)
		return -ESHUTDOWN;
	ret = vm_pause(vm);
	if (ret)
		return ret;
	devices_pause(vm);
	pthread_mutex_lock(&ctl.lock);
	set_state_locked(VM_PAUSED, "api");
	pthread_mutex_unlock(&ctl.lock);
	return 0;
}

static int do_resume(struct vm *vm, const char *why)
{
	int ret = vm_resume(vm);

	if (ret)
		return ret;
	devices_resume(vm);
	pthread_mutex_lock(&ctl.lock);
	if (ctl.state == VM_PAUSED)
		set_state_locked(VM_RUNNING, why);
	pthread_mutex_unlock(&ctl.lock);
	return 0;
}

static int do_stop(struct vm *vm, const struct control_request *req)
{
	struct itimerspec its = { 0 };
	int ret;

	if (req->force || req->timeout <= 0) {
		kv_debug("API: stop now");
		vm_request_stop(vm, STOP_FORCED, EXIT_POWEROFF);
		return 0;
	}
	if (ctl.stop_asked)
		return -EALREADY;
	if (vm_paused(vm))
		do_resume(vm, "stop");	/* the guest must run to see the button */
	ret = devices_power_button(vm);
	if (ret)
		return ret;
	ctl.stop_asked = true;
	pthread_mutex_lock(&ctl.lock);
	set_state_locked(VM_STOPPING, "api");
	post_locked(EVENT_POWER_BUTTON, "api", 0);
	pthread_mutex_unlock(&ctl.lock);
	its.it_value.tv_sec = (time_t)req->timeout;
	its.it_value.tv_nsec = (long)((req->timeout - (double)its.it_value.tv_sec) * 1e9);
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(ctl.timer_fd, 0, &its, NULL) < 0)
		kv_warn("cannot arm the stop timeout: %s; the guest may take its time",
			strerror(errno));
	return 0;
}

/*
 * Pause (unless paused), save, then resume or stop. A device that cannot
 * be saved refuses the snapshot before the guest is paused.
 */
static int do_snapshot(struct vm *vm, const struct control_request *req)
{
	struct device *d = snapshot_unsaveable(vm);
	bool was_paused = vm_paused(vm);
	struct errmsg err;
	int ret;

	if (ctl.state == VM_STOPPING)
		return -ESHUTDOWN;
	if (d) {
		snprintf(req->msg, req->msglen, "device '%s' (%s) cannot be saved yet",
			 d->name, d->type->name);
		return -EOPNOTSUPP;
	}
	if (!was_paused) {
		ret = do_pause(vm);
		if (ret)
			return ret;
	}
	ret = snapshot_save(vm, req->state_fd, req->mem_fd, &err);
	if (ret) {
		snprintf(req->msg, req->msglen, "%s", err.msg);
		kv_warn("snapshot: %s", req->msg);
	} else if (req->then_stop) {
		kv_debug("API: snapshot saved; stopping");
		vm_request_stop(vm, STOP_SNAPSHOT, EXIT_POWEROFF);
		return 0;
	}
	if (!was_paused || !ret)
		do_resume(vm, "snapshot");
	return ret;
}

static void on_stop_timeout(int fd, uint32_t events, void *opaque)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	kv_warn("the guest did not power off within the stop timeout; stopped it");
	vm_request_stop(vm, STOP_FORCED, EXIT_POWEROFF);
}

static void on_request(int fd, uint32_t events, void *opaque)
{
	struct vm *vm = opaque;
	struct control_request *req;
	uint64_t n;
	int ret;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&ctl.lock);
	req = ctl.pending;
	ctl.pending = NULL;
	ctl.running = req;
	pthread_mutex_unlock(&ctl.lock);
	if (!req)
		return;
	if (atomic_load(&vm->stopping) && req->op != CONTROL_INFO && req->op != CONTROL_STATS) {
		ret = -ESHUTDOWN;
	} else {
		switch (req->op) {
		case CONTROL_INFO:
			fill_info(vm, req->info);
			ret = 0;
			break;
		case CONTROL_PAUSE:
			ret = do_pause(vm);
			break;
		case CONTROL_RESUME:
			ret = do_resume(vm, "api");
			break;
		case CONTROL_STOP:
			ret = do_stop(vm, req);
			break;
		case CONTROL_STATS:
			ret = control_collect_stats(vm, req->stats);
			break;
		case CONTROL_SNAPSHOT_DISK:
			ret = do_snapshot_disk(vm, req);
			break;
		case CONTROL_SNAPSHOT:
			ret = do_snapshot(vm, req);
			break;
		default:
			ret = -EINVAL;
			break;
		}
	}
	pthread_mutex_lock(&ctl.lock);
	ctl.running = NULL;
	ctl.result = ret;
	ctl.done = true;
	pthread_cond_broadcast(&ctl.cond);
	pthread_mutex_unlock(&ctl.lock);
}

int control_attach(struct vm *vm)
{
	if (!ctl.ready)
		return 0;
	ctl.req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ctl.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ctl.req_fd < 0 || ctl.timer_fd < 0 ||
	    evloop_add(vm->loop, ctl.req_fd, EPOLLIN, on_request, vm) ||
	    evloop_add(vm->loop, ctl.timer_fd, EPOLLIN, on_stop_timeout, vm)) {
		kv_err("cannot set up the API's requests: %s", strerror(errno));
		return -EIO;
	}
	ctl.stop_asked = false;
	pthread_mutex_lock(&ctl.lock);
	ctl.vm = vm;
	if (ctl.pending)
		wake_fd(ctl.req_fd);	/* asked while the VM was being built */
	pthread_mutex_unlock(&ctl.lock);
	return 0;
}

void control_started(struct vm *vm)
{
	if (!ctl.ready)
		return;
	pthread_mutex_lock(&ctl.lock);
	if (ctl.vm == vm && ctl.state == VM_STARTING)
		set_state_locked(VM_RUNNING, "start");
	pthread_mutex_unlock(&ctl.lock);
}

void control_detach(struct vm *vm)
{
	if (!ctl.ready || ctl.vm != vm)
		return;
	pthread_mutex_lock(&ctl.lock);
	ctl.vm = NULL;
	/* a restart builds the next VM: STARTING again; otherwise control_finish() */
	ctl.state = VM_STARTING;
	pthread_cond_broadcast(&ctl.cond);
	pthread_mutex_unlock(&ctl.lock);
	if (ctl.req_fd >= 0)
		close(ctl.req_fd);
	if (ctl.timer_fd >= 0)
		close(ctl.timer_fd);
	ctl.req_fd = ctl.timer_fd = -1;
}

/* ---- on the API thread ---- */

int control_call(struct control_request *req)
{
	int ret;

	pthread_mutex_lock(&ctl.lock);
	/* one request at a time: the loop takes them in turn */
	while ((ctl.pending || ctl.running) && !ctl.finished)
		pthread_cond_wait(&ctl.cond, &ctl.lock);
	if (ctl.finished) {
		pthread_mutex_unlock(&ctl.lock);
		return -ESHUTDOWN;
	}
	if (!ctl.vm) {
		pthread_mutex_unlock(&ctl.lock);
		return -EAGAIN;
	}
	ctl.pending = req;
	ctl.done = false;
	wake_fd(ctl.req_fd);
	while (!ctl.done && ctl.vm && !ctl.finished)
		pthread_cond_wait(&ctl.cond, &ctl.lock);
	if (ctl.done) {
		ret = ctl.result;
	} else {
		/* the VM went away before the loop took it (or while it ran) */
		if (ctl.pending == req)
			ctl.pending = NULL;
		ret = -ESHUTDOWN;
		/* still running on the loop thread: wait, @req is the caller's */
		while (ctl.running == req)
			pthread_cond_wait(&ctl.cond, &ctl.lock);
	}
	ctl.done = false;
	pthread_cond_broadcast(&ctl.cond);
	pthread_mutex_unlock(&ctl.lock);
	return ret;
}
