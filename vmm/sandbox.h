/*
 * System call filters (seccomp, libseccomp): each kvmini thread installs
 * the allow-list of its class once its setup is done and before it runs
 * guest-driven code.
 */
#ifndef KVMINI_SANDBOX_H
#define KVMINI_SANDBOX_H

#include "config.h"

enum sandbox_class {
	SANDBOX_MAIN,	/* the event loop thread */
	SANDBOX_VCPU,	/* one per vCPU: KVM_RUN and device emulation on exits */
	SANDBOX_IO,	/* device I/O threads (virtio-blk, virtio-net) */
};

/* Record --seccomp for the process; call once before any thread starts. 0 or -errno. */
int sandbox_configure(const struct vm_config *cfg);
/*
 * Install the filter of @cls on the calling thread (no-op with
 * --seccomp=off). 0, or -errno after kv_err(); the caller must then stop.
 */
int sandbox_enter(enum sandbox_class cls);

#endif
