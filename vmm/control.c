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

#include "config.h"
#include "control.h"
#include "device.h"
#include "evloop.h"
#include "inventory.h"
#include "log.h"
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
	if (atomic_load(&vm->stopping) && req->op != CONTROL_INFO) {
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
