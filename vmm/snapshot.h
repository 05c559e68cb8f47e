/*
 * VM snapshots: the whole VM (KVM's state, every device, guest RAM) into
 * two files, and a VM rebuilt from them. DIR/state is snapfmt.h's format;
 * DIR/memory is guest RAM as one sparse file. docs/design.md.
 */
#ifndef KVMINI_SNAPSHOT_H
#define KVMINI_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "snapfmt.h"

struct vm;
struct device;

/* The first device of @vm without a save op, or NULL: the VM can be saved. */
struct device *snapshot_unsaveable(struct vm *vm);

/*
 * Save @vm into @state_fd and @mem_fd (both open for writing, truncated
 * here). The vCPUs are parked and the devices paused. 0, or -errno with
 * @err saying what failed.
 */
int snapshot_save(struct vm *vm, int state_fd, int mem_fd, struct errmsg *err);

/* A snapshot read at startup, before the sandbox, for --restore DIR. */
struct snapshot_in {
	const char *dir;
	uint8_t *state;
	size_t state_len;
	struct snap_image img;
	int mem_fd;
};

/*
 * Read and check DIR/state and open DIR/memory. 0, or -errno after one
 * line naming the file and what is wrong with it.
 */
int snapshot_open(const char *dir, struct snapshot_in *in);
void snapshot_close(struct snapshot_in *in);

/*
 * Put the saved state into @vm, built from the same record with its
 * vCPUs created but not started: devices (matched by name and type, in
 * order), vCPUs, then the VM. 0, or -errno after kv_err().
 */
int snapshot_restore(struct vm *vm, const struct snapshot_in *in);

#endif
