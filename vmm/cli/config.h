/* The parsed command line: one struct that the rest of kvmini reads. */
#ifndef KVMINI_CONFIG_H
#define KVMINI_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch.h"
#include "device.h"
#include "errmsg.h"
#include "unpack.h"

#define DEFAULT_MEMORY (256ULL << 20)
#define DEFAULT_MEMORY_TEXT "256M"
#define DEFAULT_EXIT_PORT 0xf4

enum on_reboot { ON_REBOOT_EXIT, ON_REBOOT_RESTART };

/* --NAME options of the device types, and what --volume adds, in order. */
#define MAX_DEVICE_OPTS 32

/* --seccomp: the per-thread system call filters */
enum seccomp_mode { SECCOMP_ON, SECCOMP_LOG, SECCOMP_OFF };

struct vm_config {
	const char *kernel;
	const char *initrds[MAX_INITRDS];	/* --initrd, in command line order */
	unsigned int nr_initrds;	/* more than one: multiboot kernels only */
	const char *cmdline_extra;	/* after arch_default_cmdline() and the devices' parts */
	uint64_t memory;		/* bytes */
	const char *memory_text;	/* --memory as typed, for messages ("256M" if not given) */
	unsigned int cpus;
	enum on_reboot on_reboot;
	bool verbose;
	bool stats;		/* print memory figures on exit */
	uint64_t timeout_ms;	/* --timeout: 0 = none */
	char **cmd_argv;	/* after "--": run this command in the guest */
	int cmd_argc;
	bool stderr_console;	/* a second console carries guest stderr (set with cmd_argv) */
	bool exit_raw;		/* exit device: status V itself, not (V << 1) | 1 */
	int exit_port;		/* isa-debug-exit compatible port, -1: none */
	struct device_opt devices[MAX_DEVICE_OPTS];	/* device options, in order */
	unsigned int nr_devices;
	enum transport_kind transport;
	char volume[PATH_MAX];	/* --volume DIR[:ro] ("": none); needs cmd_argv */
	bool volume_ro;
	struct unpack_limits volume_limits;	/* --volume-limit; 0: the default */
	enum seccomp_mode seccomp;	/* default SECCOMP_ON */
	const char *user;	/* --user NAME|UID: switch to it after setup (NULL: stay) */
	const char *group;	/* --group NAME|GID */
	const char *jail;	/* --jail DIR: namespaces + pivot_root into DIR (NULL: none) */
	const char *jail_netns;	/* --jail-netns new|PATH (NULL: share the host's) */
	const char *name;	/* --name (NULL: kvmini-PID, set by the instance) */
	const char *pidfile;	/* --pidfile FILE (NULL: none) */
	const char *api_socket;	/* --api-socket PATH|none (NULL: the default path) */
	const char *report;	/* --report FILE.json (NULL: none) */
	const char *restore;	/* --restore DIR: a snapshot instead of a kernel (NULL: none) */
};

/* --name: letters, digits, '.', '_', '-'; a file name in the runtime directory. */
#define CONFIG_NAME_MAX 64
bool config_name_valid(const char *name);

/*
 * Parse "kvmini run" arguments (argv[0] is "run"). Returns 0, or a
 * negative errno after printing what was wrong (and usage for unknown
 * options).
 */
int config_parse_run(struct vm_config *cfg, int argc, char **argv);
void config_usage(FILE *f);
/* --volume-limit KEY=VALUE,... into @lim (keys not given are left). 0 or -EINVAL. */
int config_parse_volume_limit(struct unpack_limits *lim, const char *arg);

/*
 * Check the device options @opts of type @type against those in @cfg
 * (config_check_device), then append them too (config_add_device).
 * 0 or -errno with @err filled, nothing printed.
 */
int config_check_device(const struct vm_config *cfg, const char *type, const char *opts,
			struct errmsg *err);
int config_add_device(struct vm_config *cfg, const char *type, const char *opts,
		      struct errmsg *err);
/* Print @err as the command line names it (--TYPE ...). */
void config_report(const struct errmsg *err);

#endif
