/*
 * Control of the running VM from outside: what the API thread may ask
 * (info, pause, resume, stop) and the events it hears. Requests run on
 * the event loop thread, which owns the VM; the API thread only waits.
 */
#ifndef KVMINI_CONTROL_H
#define KVMINI_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct vm;
struct vm_config;

enum vm_state {
	VM_STARTING,	/* no vCPU has run yet (or a restart builds the next VM) */
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING,	/* a stop was asked for: power button pressed, waiting */
	VM_STOPPED,	/* the VM is gone; kvmini is exiting */
};
const char *vm_state_name(enum vm_state s);

enum control_op {
	CONTROL_INFO, CONTROL_PAUSE, CONTROL_RESUME, CONTROL_STOP, CONTROL_STATS,
	CONTROL_SNAPSHOT_DISK, CONTROL_SNAPSHOT,
};

/* One counter of `stats`: KVM's or kvmini's, in total and per vCPU where it is per vCPU. */
struct control_stat {
	char name[64];
	const char *source;	/* "kvm" or "kvmini" */
	uint64_t total;
	uint64_t *per_vcpu;	/* nr_vcpus values, or NULL (a VM or device counter) */
};

struct control_stats {
	unsigned int nr_vcpus;
	unsigned int n, cap;
	struct control_stat *v;
	bool kvm_stats;		/* KVM's binary statistics were there */
};
void control_stats_free(struct control_stats *st);
/* Every counter of @vm now (event loop thread, or after the vCPUs stopped). 0 or -ENOMEM. */
int control_collect_stats(struct vm *vm, struct control_stats *st);
/* The entry @name of @st (either source), or NULL. */
const struct control_stat *control_stat_find(const struct control_stats *st, const char *name);

#define CONTROL_MAX_DEVICES 32
#define CONTROL_MAX_DISKS 8

/* What `info` reports: filled on the event loop thread. */
struct control_info {
	enum vm_state state;
	int pid;
	uint64_t uptime_ms;
	unsigned int cpus;
	uint64_t memory;
	char kernel[256];
	unsigned int nr_devices;
	struct {
		char name[32];
		char type[24];
		const char *role;
		uint64_t base;		/* first range, or 0 */
		bool pio;
		int irq;		/* -1: none */
	} devices[CONTROL_MAX_DEVICES];
	unsigned int nr_disks;
	struct {
		char name[32];		/* the device: disk0, ... */
		char id[24];
		char path[4096];
		char format[8];
		uint64_t size;
		unsigned int depth;
		bool readonly, temporary;
	} disks[CONTROL_MAX_DISKS];
};

struct control_request {
	enum control_op op;
	double timeout;		/* stop: seconds before the hard stop (0: at once) */
	bool force;		/* stop: no power button, stop now */
	struct control_info *info;	/* CONTROL_INFO: where to put it */
	struct control_stats *stats;	/* CONTROL_STATS: filled, freed by the caller */
	/* CONTROL_SNAPSHOT_DISK: the disk (device name or id=), the new file and its name */
	const char *disk;
	int fd;				/* the caller's; it closes it */
	const char *file;
	/* CONTROL_SNAPSHOT: the files, opened by the client; the caller closes them */
	int state_fd, mem_fd;
	bool then_stop;		/* stop the VM once saved (else it runs on) */
	/* CONTROL_SNAPSHOT_DISK and CONTROL_SNAPSHOT: a failure's message, @msglen bytes ("" if none) */
	char *msg;
	size_t msglen;
};

/* Events for subscribers, in order. */
enum control_event_kind { EVENT_STATE, EVENT_STOP, EVENT_POWER_BUTTON };

struct control_event {
	enum control_event_kind kind;
	enum vm_state state;	/* EVENT_STATE: the new state */
	char reason[24];	/* EVENT_STOP: why (stop_reason_name), EVENT_STATE: what did it */
	int status;		/* EVENT_STOP: kvmini's exit status */
	struct timespec when;	/* CLOCK_REALTIME */
};

/*
 * Once per `kvmini run`, before the first VM: @cfg stays valid; @pid is
 * kvmini's as the host sees it (a --jail child is PID 1 inside). 0 or -errno.
 */
int control_init(const struct vm_config *cfg, const char *name, int pid);
/* After the last VM: fails waiting callers, posts the last event. */
void control_finish(int reason_status, const char *reason);

/*
 * The VM @vm is set up (its loop exists): take requests on its loop from
 * now on. Before the filters load (it creates the loop's fds).
 */
int control_attach(struct vm *vm);
/* The vCPUs run (state RUNNING unless a pause was asked). */
void control_started(struct vm *vm);
/* @vm stops for good (stop reason known): no more requests reach it. */
void control_detach(struct vm *vm);

/*
 * From the API thread: run @req on the event loop and wait for it.
 * 0 or -errno: -EALREADY (paused while paused, ...), -ESHUTDOWN (the VM
 * is gone or going), -EAGAIN (between two VMs of a restart), -ENODEV (no
 * power button).
 */
int control_call(struct control_request *req);

/*
 * The event queue: control_event_fd() is readable (an eventfd) when
 * control_event_next() has something. API thread only.
 */
int control_event_fd(void);
bool control_event_next(struct control_event *ev);

const char *control_name(void);

#endif
