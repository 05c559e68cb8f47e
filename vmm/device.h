/*
 * Device types and instances. A type registers itself (DEVICE_REGISTER),
 * parses its own options and creates instances; the VM owns every
 * instance and lists them in creation order (vm->devices). The core and
 * the option parser name no device.
 */
#ifndef KVMINI_DEVICE_H
#define KVMINI_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"

struct vm;
struct device;
struct inventory;

enum device_phase {
	PHASE_CORE,	/* irqchip-level pieces */
	PHASE_BASE,	/* legacy platform devices: console, reset line, power */
	PHASE_BUS,	/* the PCI host bridge */
	PHASE_DEVICE,	/* devices on buses */
	PHASE_LATE,	/* anything that needs all devices present */
	PHASE_COUNT,
};

/* --transport: how devices that have the choice reach the guest. */
enum transport_kind { TRANSPORT_PCI, TRANSPORT_MMIO };

/* What the run gives every type besides its own options. */
struct device_env {
	enum transport_kind transport;
	int exit_port;		/* the board's exit device: its port, -1: none */
	bool exit_raw;		/* it reports V itself, not (V << 1) | 1 */
	bool stderr_console;	/* a second console carries the guest's stderr */
	/*
	 * The network namespace host interfaces are looked up in, as the
	 * user named it, for messages; NULL: kvmini's own.
	 */
	const char *netns;
};

/*
 * What an instance can be asked. NULL pause, resume, save and restore
 * answer -EOPNOTSUPP: the control-plane and snapshot issues fill them; a
 * NULL reset too (a guest resets its devices through their transport, and
 * a reboot builds a new VM).
 */
struct device_disk_info;
struct errmsg;

struct device_ops {
	int (*reset)(struct device *dev);
	int (*pause)(struct device *dev);
	int (*resume)(struct device *dev);
	/*
	 * Snapshots, with the vCPUs parked and the device paused: save writes
	 * the instance's guest-visible state into @buf (@len bytes) and
	 * returns how many bytes it wrote, or -ENOSPC if @len is too small
	 * (asked again with more room). restore gets exactly those bytes, as
	 * hostile input, on a freshly created instance before any vCPU runs:
	 * 0, or -EINVAL if they make no sense. Host resources are not state.
	 */
	int (*save)(struct device *dev, void *buf, size_t len);
	int (*restore)(struct device *dev, const void *buf, size_t len);
	/* Add the instance to @inv (an ACPI entry, a DT node, a command-line part). */
	int (*describe)(struct device *dev, struct inventory *inv);
	/* On the event loop thread before the VM stops for good (flush output). */
	void (*quiesce)(struct device *dev);
	/*
	 * Ask the guest to power off (a power button press: ACPI's
	 * fixed-feature event on x86). Event loop thread.
	 */
	int (*power_button)(struct device *dev);
	/*
	 * Its counters for kvmini stat: @fn(@ctx, name, value) for each, names
	 * like "reads", "tx_bytes". Event loop thread, while the VM runs.
	 */
	void (*stats)(struct device *dev, void (*fn)(void *ctx, const char *name, uint64_t value),
		      void *ctx);
	/* A disk: what `info` shows of it (@out zeroed first). Event loop thread. */
	void (*disk_info)(struct device *dev, struct device_disk_info *out);
	/*
	 * A disk: a live external snapshot into @fd, a new empty file the
	 * caller made, named @file (kvmini snapshot-disk). Event loop thread;
	 * the disk's queue is held while it switches. 0 or -errno with @err.
	 */
	int (*snapshot_disk)(struct device *dev, int fd, const char *file, struct errmsg *err);
	/* Undo create and free the instance; vCPUs are stopped. */
	void (*destroy)(struct device *dev);
};

/* What a disk says of itself to the API. */
struct device_disk_info {
	char id[24];		/* its serial (id=) */
	const char *path;	/* the top image: its full path where known */
	const char *format;	/* of the top: "raw" or "qcow2" */
	uint64_t size;		/* bytes */
	unsigned int depth;	/* backing files under the top */
	bool readonly, temporary;
};

/* One instance, embedded in the type's own struct. */
struct device {
	const struct device_type *type;
	const struct device_ops *ops;
	struct vm *vm;
	char name[24];		/* the type's name and index: "NAME0" */
	unsigned int index;	/* among this VM's instances of the type */
	struct device *next;	/* vm->devices, in creation order */
};

struct device_type {
	/* The key the CLI (--NAME) and an API use; instance names start with it. */
	const char *name;
	enum device_phase phase;
	/*
	 * Types the user asks for have options: @parse fills a @conf_size
	 * struct from "KEY=VALUE,...". Without it the type is the board's and
	 * its create runs once per VM, with no options.
	 */
	size_t conf_size;
	unsigned int max;	/* instances of it at most */
	const char *help;	/* its lines of `kvmini help` */
	const char *help_after;	/* the option whose help it follows */
	const char *default_opts;	/* options of the one instance made when none is asked */
	int (*parse)(void *conf, const char *opts, struct errmsg *err);
	/* -EEXIST if @conf (from @opts) cannot coexist with the earlier @prev. */
	int (*conflicts)(const void *prev, const void *conf, const char *opts,
			 struct errmsg *err);
	/*
	 * Host resources that outlive one VM (images, taps): opened once
	 * before the first VM, while kvmini may still open files, and closed
	 * when kvmini is done. A restart (--on-reboot=restart, on the filtered
	 * main thread) builds its devices on them and opens nothing.
	 */
	int (*open_host)(const void *conf, const struct device_env *env, void **host,
			 struct errmsg *err);
	void (*close_host)(void *host);
	/*
	 * Create the instance number @index of the type from @conf and @host
	 * (board types: all their instances, @conf NULL) and device_add() it.
	 * On error, what was added stays for devices_destroy().
	 */
	int (*create)(struct vm *vm, const struct device_env *env, const void *conf,
		      void *host, unsigned int index, struct errmsg *err);
	struct device_type *next;
};

void device_type_register(struct device_type *t);
/* The type called @name that takes options; NULL: none. */
const struct device_type *device_type_find(const char *name);
/* The types that take options, in registration order: NULL starts. */
const struct device_type *device_type_next_user(const struct device_type *t);

/* Put @dev (of type @t, with @ops) last on @vm's list and name it. */
void device_add(struct vm *vm, struct device *dev, const struct device_type *t,
		const struct device_ops *ops);

int device_op_reset(struct device *dev);
int device_op_pause(struct device *dev);
int device_op_resume(struct device *dev);
int device_op_save(struct device *dev, void *buf, size_t len);
int device_op_restore(struct device *dev, const void *buf, size_t len);
/* save and restore of an instance without guest-visible state. */
int device_save_none(struct device *dev, void *buf, size_t len);
int device_restore_none(struct device *dev, const void *buf, size_t len);

/* A device the run asks for, as the user wrote it. */
struct device_opt {
	const char *type;	/* a type name */
	const char *opts;	/* its KEY=VALUE list */
};

/* Parse @o into @conf (its type's conf_size bytes). 0 or -errno, @err filled. */
int device_opt_parse(const struct device_opt *o, void *conf, struct errmsg *err);
/*
 * Check @o against the earlier @opts[0..@n): its type exists, its options
 * parse, the type's limit holds (-ENOSPC) and nothing conflicts (-EEXIST).
 */
int device_opt_check(const struct device_opt *opts, unsigned int n,
		     const struct device_opt *o, struct errmsg *err);

/* The parsed options and open host resources of every device asked for. */
struct device_spec {
	const struct device_type *type;
	unsigned int index;	/* among the specs of its type */
	void *conf;
	void *host;
	bool host_open;
};

struct device_specs {
	struct device_spec *v;	/* by type in registration order, then as asked */
	unsigned int n;
};

/* Parse @opts and open their host resources; on error nothing stays open. */
int device_specs_open(struct device_specs *s, const struct device_opt *opts, unsigned int n,
		      const struct device_env *env, struct errmsg *err);
/* close_host of every spec, last first. Safe on an empty set. */
void device_specs_close(struct device_specs *s);

/* Create the board's and @s's instances on @vm, phase by phase. */
int devices_create(struct vm *vm, const struct device_specs *s, const struct device_env *env,
		   struct errmsg *err);
int devices_describe(struct vm *vm, struct inventory *inv);
void devices_quiesce(struct vm *vm);
/* Press the power button of the first instance that has one; -ENODEV: none. */
int devices_power_button(struct vm *vm);
/* pause/resume of every instance that has them (the others need nothing). */
void devices_pause(struct vm *vm);
void devices_resume(struct vm *vm);
/* Destroy every instance of @vm, last created first. */
void devices_destroy(struct vm *vm);

#define DEVICE_REGISTER(type)						\
	static void __attribute__((constructor)) register_##type(void)	\
	{								\
		device_type_register(&(type));				\
	}

#endif
