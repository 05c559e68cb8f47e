/*
 * System call filters (seccomp, libseccomp): each kvmini thread installs
 * the allow-list of its class once its setup is done and before it runs
 * guest-driven code.
 */
#ifndef KVMINI_SANDBOX_H
#define KVMINI_SANDBOX_H

#include "config.h"

#include <stddef.h>

enum sandbox_class {
	SANDBOX_MAIN,	/* the event loop thread */
	SANDBOX_VCPU,	/* one per vCPU: KVM_RUN and device emulation on exits */
};

/*
 * The class of a device's I/O threads, declared by the device: what its
 * job needs beyond the list every thread has (memory, eventfd reads and
 * writes, futexes, messages) and the interrupt ioctls every I/O thread
 * has. System calls are named, so a list holds on every arch (a name the
 * host's arch lacks is skipped). The ioctls are also allowed on the vCPU
 * and main threads, which run the devices' activate and reset.
 */
struct sandbox_io_class {
	const char *name;		/* "blk": messages, KVMINI_TEST_SECCOMP=blk */
	const char *const *syscalls;	/* NULL-terminated, or NULL */
	const unsigned long *ioctls;	/* request numbers */
	size_t nr_ioctls;
	const struct sandbox_io_class *base;	/* allowed too (the worker's loop), or NULL */
};

/* Make @c known before sandbox_configure() builds the filters: see SANDBOX_IO_CLASS. */
void sandbox_register_io_class(const struct sandbox_io_class *c);
#define SANDBOX_IO_CLASS(c)						\
	static void __attribute__((constructor)) register_io_class_##c(void)	\
	{								\
		sandbox_register_io_class(&(c));			\
	}

/*
 * Record --seccomp for the process and build the filters; call once
 * before any thread starts. 0 or -errno after kv_err().
 */
int sandbox_configure(const struct vm_config *cfg);
/*
 * Before sandbox_configure(): the main thread may unlinkat() in the
 * directory open as @dirfd (the API socket's, the pidfile's), and nowhere
 * else. -1 is ignored; two at most.
 */
void sandbox_allow_unlink_in(int dirfd);
/*
 * Install the filter of @cls on the calling thread (no-op with
 * --seccomp=off). 0, or -errno after kv_err(); the caller must then stop.
 *
 * A thread started before sandbox_setup_done() (device I/O threads are
 * created with the devices) waits here until then, so that setup steps
 * that reach every thread (glibc broadcasts setresuid()/setgroups() to
 * all threads) never meet its filter. If the VM is torn down first,
 * sandbox_abort() releases it and this returns -ECANCELED, silently:
 * the thread must then return without doing its work.
 */
int sandbox_enter(enum sandbox_class cls);
/* sandbox_enter() for a device I/O thread of class @c (registered). */
int sandbox_enter_io(const struct sandbox_io_class *c);
/*
 * Setup is finished (privileges dropped, jail entered): threads waiting
 * in sandbox_enter() install their filters, later ones do so at once.
 * Idempotent; call right before the vCPUs start.
 */
void sandbox_setup_done(void);
/*
 * Teardown before sandbox_setup_done(): threads waiting in sandbox_enter()
 * return -ECANCELED. A device calls it before joining its threads. No
 * effect once setup is done.
 */
void sandbox_abort(void);

/*
 * Work after the run that needs system calls no filter allows (--volume's
 * copy-back execs debugfs and renames directories). sandbox_defer() forks a
 * helper process now, while nothing is filtered and before any thread
 * exists; sandbox_deferred() later makes it call fn(ctx, arg) and returns
 * the result. Without a helper (--seccomp=off, or sandbox_defer() not
 * called or failed) sandbox_deferred() calls fn(ctx, arg) in place. If
 * kvmini dies first, the helper calls fn(ctx, SANDBOX_DEFER_ABANDONED).
 * One helper per process.
 */
#define SANDBOX_DEFER_ABANDONED (-1)
typedef int (*sandbox_deferred_fn)(void *ctx, int arg);
int sandbox_defer(sandbox_deferred_fn fn, void *ctx);
/* Before sandbox_defer(): the helper closes @fd (a listening socket it must not hold). */
void sandbox_defer_close_fd(int fd);
int sandbox_deferred(sandbox_deferred_fn fn, void *ctx, int arg);

/*
 * In the --volume unpacker's child (vmm/cli/unpack.c), after it dropped its
 * privileges: file system access only beneath @stage_fd (Landlock, where
 * the kernel has it) and the unpacker's system call list (per --seccomp).
 * 0, or -1 with errno set.
 */
int sandbox_enter_unpacker(int stage_fd);
/* --seccomp for a command that builds no VM filters (kvmini unpack). */
void sandbox_set_mode(enum seccomp_mode m);

#endif
