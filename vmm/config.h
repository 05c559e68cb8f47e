/* The parsed command line: one struct that the rest of kvmini reads. */
#ifndef KVMINI_CONFIG_H
#define KVMINI_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch.h"

#define DEFAULT_MEMORY (256ULL << 20)
#define DEFAULT_EXIT_PORT 0xf4
/*
 * No i8042 options: the FADT says there is no 8042, so Linux skips the
 * controller unless i8042.nopnp forces a (slow, timing-out) probe.
 */
#define DEFAULT_CMDLINE \
	"console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 tsc=reliable no_timer_check"

enum on_reboot { ON_REBOOT_EXIT, ON_REBOOT_RESTART };

/* --transport: how virtio devices reach the guest */
enum virtio_transport { TRANSPORT_PCI, TRANSPORT_MMIO };

#define MAX_DISKS 8
#define DISK_ID_MAX 20		/* virtio-blk serial: 20 bytes */

/* --disk path=FILE[,readonly=on][,id=NAME] */
struct disk_config {
	char path[PATH_MAX];
	char id[DISK_ID_MAX + 1];	/* "": a default from the disk's index */
	bool readonly;
};

struct vm_config {
	const char *kernel;
	const char *initrds[MAX_INITRDS];	/* --initrd, in command line order */
	unsigned int nr_initrds;	/* more than one: multiboot kernels only */
	const char *cmdline_extra;	/* appended to DEFAULT_CMDLINE */
	uint64_t memory;		/* bytes */
	unsigned int cpus;
	enum on_reboot on_reboot;
	bool verbose;
	bool stats;		/* print memory figures on exit */
	uint64_t timeout_ms;	/* --timeout: 0 = none */
	char **cmd_argv;	/* after "--": run this command in the guest */
	int cmd_argc;
	bool stderr_uart;	/* COM2 carries guest stderr (set with cmd_argv) */
	bool exit_raw;		/* exit device: status V itself, not (V << 1) | 1 */
	int exit_port;		/* isa-debug-exit compatible port, -1: none */
	struct disk_config disks[MAX_DISKS];	/* --disk, in command line order */
	unsigned int nr_disks;
	enum virtio_transport transport;
	char volume[PATH_MAX];	/* --volume DIR[:ro] ("": none); needs cmd_argv */
	bool volume_ro;
};

/*
 * Parse "kvmini run" arguments (argv[0] is "run"). Returns 0, or a
 * negative errno after printing what was wrong (and usage for unknown
 * options).
 */
int config_parse_run(struct vm_config *cfg, int argc, char **argv);
void config_usage(FILE *f);

#endif
