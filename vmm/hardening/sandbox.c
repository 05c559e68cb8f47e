/*
 * seccomp filters per thread class (see sandbox.h), built with libseccomp.
 *
 * Every list is an allow-list; anything else ends the whole process by
 * SIGSYS without running (--seccomp=on, see seccomp_trap()) or is only
 * logged by the kernel (--seccomp=log). ioctl is
 * allowed per request number, mmap/mprotect never with PROT_EXEC, clone only
 * for threads, tgkill only toward kvmini's own thread group, and no class
 * may open files, create sockets or exec.
 *
 * Filters are per thread and inherited by threads created later. The
 * filters are built once, in sandbox_configure() while kvmini has a single
 * thread; sandbox_enter() only loads one. Both run in the same process (the
 * jailed child with --jail, where getpid() is 1): the tgkill rule names the
 * pid sandbox_configure() saw, and sandbox_enter() checks it.
 *
 * What the main thread does after the guest stopped decides its list:
 * - --on-reboot=restart builds the VM again on the same (filtered) thread:
 *   vm_create, devices_create, vCPU and I/O threads. Its list then adds those
 *   setup calls (KVM ioctls, eventfds, epoll, thread clone, the prctl and
 *   seccomp calls new threads make), and everything the vCPU and I/O
 *   classes need, because threads it creates inherit its filter on top of
 *   their own. It opens nothing: disk images, taps and vhost-net are opened
 *   once before the first VM (devices_open_host()) and reused, /dev/kvm
 *   too, and I/O threads name themselves (no /proc/self/task/N/comm). A
 *   restart-capable kvmini is still less confined: the price of restarting
 *   in place without exec.
 * - --volume copies the guest's files back with debugfs (fork, exec,
 *   rename...). Rather than allowing that, the copy-back runs in a helper
 *   process forked before any filter or thread exists (sandbox_defer()).
 * - --stats reads /proc/self/status through an fd opened during setup
 *   (pread, no openat) and calls mincore over guest RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "arch.h"
#include "kvmini-features.h"
#include "log.h"
#include "sandbox.h"
#include "signals.h"
#include "term.h"
#include "vm.h"

#if KVMINI_HAVE_SECCOMP
#include <seccomp.h>
#else
/* built without libseccomp (-Dseccomp=disabled): the mode is always off, no filter exists */
typedef void *scmp_filter_ctx;
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Sanitizer runtimes make system calls of their own (shadow memory,
 * reports, the leak check at exit stops the world with ptrace from a
 * helper thread). Under a sanitizer the filters stay on, with a list of
 * those calls added to every class; release builds never see it.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

static enum seccomp_mode mode = SECCOMP_OFF;
/* the process the filters are built for, as it sees itself (1 in --jail) */
static pid_t self_pid;
static scmp_filter_ctx filters[2];

/* the device I/O classes (SANDBOX_IO_CLASS) and their filters */
#define MAX_IO_CLASSES	8
static const struct sandbox_io_class *io_classes[MAX_IO_CLASSES];
static scmp_filter_ctx io_filters[MAX_IO_CLASSES];
static unsigned int nr_io_classes;
static bool io_classes_overflow;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* sandbox_setup_done() / sandbox_abort(): releases early threads */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t setup_cond = PTHREAD_COND_INITIALIZER;
static bool setup_done, setup_aborted;

/* the main thread loads its filter once, even across restarts */
static __thread bool thread_filtered;
/* for seccomp_trap()'s message */
static __thread const char *thread_class;

static const char *const class_names[] = {
	[SANDBOX_MAIN] = "main",
	[SANDBOX_VCPU] = "vcpu",
};

#ifdef KVMINI_TEST_HOOKS
/*
 * KVMINI_TEST_SECCOMP=CLASS[:CALL]: right after loading its filter, a
 * thread of CLASS makes a call the filter must refuse. CLASS: main, vcpu,
 * a device I/O class (blk, net, uart), or io for any of those. CALL:
 * socket (the default), tgkill=PID (signal 0 to another process),
 * open=PATH (read-only), write=PATH (write-only, never creating or
 * truncating), or, on a bad fd, fallocate, writev or tun-ioctl
 * (TUNSETOFFLOAD).
 */
enum test_call {
	TEST_SOCKET, TEST_TGKILL, TEST_OPEN, TEST_WRITE, TEST_FALLOCATE, TEST_WRITEV,
	TEST_TUN_IOCTL,
};
static const char *test_class;	/* as given: a class name or io */
static size_t test_class_len;
static enum test_call test_call;
static const char *test_arg;	/* the PID or the PATH */
#endif

static int unlink_dirs[2] = { -1, -1 };

void sandbox_allow_unlink_in(int dirfd)
{
	unsigned int i;

	for (i = 0; dirfd >= 0 && i < ARRAY_LEN(unlink_dirs); i++) {
		if (unlink_dirs[i] < 0 || unlink_dirs[i] == dirfd) {
			unlink_dirs[i] = dirfd;
			return;
		}
	}
}

#if KVMINI_HAVE_SECCOMP
/* ---- the lists ---- */

/* Every class: memory, locks, time, signals, thread exit, messages. */
static const int base_syscalls[] = {
	SCMP_SYS(read),		/* eventfds, signalfd, timerfd, stdin */
	SCMP_SYS(write),	/* eventfds, guest console, messages */
	SCMP_SYS(close),	/* eventfds of a device being reset */
	SCMP_SYS(futex),	/* mutexes, condition variables, joins */
	SCMP_SYS(munmap),	/* free() of large blocks */
	SCMP_SYS(brk),		/* malloc */
	SCMP_SYS(mremap),	/* realloc of large blocks */
	SCMP_SYS(madvise),	/* malloc trimming, dead thread stacks */
	SCMP_SYS(clock_gettime),	/* vDSO fallback: ACPI PM timer, logs */
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigreturn),	/* the vCPU kick signal's handler returns */
	SCMP_SYS(rt_sigprocmask),	/* pthread internals, thread exit */
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(fstat),	/* stdio on its first message */
	SCMP_SYS(newfstatat),
	/* tgkill: kvmini's own thread group only, see allow_own_tgkill() */
	/* rt_sigaction: for any signal but SIGSYS, see add_base_rules() */
	SCMP_SYS(exit),		/* thread exit */
	SCMP_SYS(exit_group),
	SCMP_SYS(restart_syscall),
};

/* vCPU threads: KVM_RUN and what device emulation does on exits. */
static const int vcpu_syscalls[] = {
	SCMP_SYS(epoll_ctl),	/* a device's activate watches its doorbells */
	SCMP_SYS(eventfd2),	/* virtio-net activate: vhost call/kick eventfds */
};

/* The main thread: the event loop, then teardown after the guest stops. */
static const int main_syscalls[] = {
	SCMP_SYS(epoll_wait),	/* the event loop */
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),	/* console pause/resume, fds removed */
	SCMP_SYS(poll),		/* console: drain stdout before exit */
	SCMP_SYS(ppoll),
	SCMP_SYS(writev),	/* stdio */
	/* tgkill (kick vCPUs out of KVM_RUN) and rt_sigaction: every class */
	SCMP_SYS(wait4),	/* the sandbox_defer() helper */
	SCMP_SYS(eventfd2),	/* virtio-net reset (config writes reach main too) */
	SCMP_SYS(timerfd_settime),	/* the API's stop: the hard-stop deadline */
	SCMP_SYS(pread64),	/* the API's stats: KVM's binary statistics */
	/* the API's snapshot: into the files its client opened and passed */
	SCMP_SYS(pwrite64),
	SCMP_SYS(ftruncate),
	SCMP_SYS(fdatasync),
};

/* fcntl commands: OFD locks of disk images */
static const unsigned long main_fcntl_cmds[] = {
	F_GETFD, F_SETFD, F_OFD_SETLK, F_OFD_GETLK,
	F_GETFL,	/* snapshot-disk: the client's file is open read-write */
};

/*
 * Any thread: a fault (a crash in device code) or a seccomp trap restores
 * the terminal before kvmini dies (signals.c, seccomp_trap()), so that it
 * leaves no raw terminal behind. glibc's tcsetattr() reads the settings
 * around its TCSETS.
 */
static const unsigned long fatal_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF };

/* --stats, after each run: /proc/self/status (opened at setup), mincore over guest RAM. */
static const int stats_syscalls[] = {
	SCMP_SYS(pread64),
	SCMP_SYS(mincore),
};

/*
 * The API's snapshot-disk, on the main thread, besides the snapshot's
 * pwrite64/ftruncate/fdatasync: the old top's flush gives freed qcow2
 * clusters back (its fd and the new overlay's came from setup and the client).
 */
static const int snapshot_disk_syscalls[] = {
	SCMP_SYS(fallocate),
};

/* --on-reboot=restart: building the next VM on the filtered main thread. */
static const int restart_syscalls[] = {
	SCMP_SYS(eventfd2),	/* kick, irq, stop eventfds */
	SCMP_SYS(epoll_create1),	/* event loops */
	SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime),
	SCMP_SYS(signalfd4),
	SCMP_SYS(set_robust_list),	/* new threads, at their start */
	SCMP_SYS(rseq),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getrandom),	/* malloc in new threads */
};

/* ioctl requests (kernel: unsigned int); the arch adds its own (arch.h) */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,
	KVM_IRQ_LINE,		/* serial and other ISA interrupts */
	KVM_SIGNAL_MSI,		/* MSI-X without an irqfd */
	KVM_SET_GSI_ROUTING,	/* the guest programs MSI-X vectors */
	KVM_IRQFD,		/* ... and wires them to irqfds */
	KVM_IOEVENTFD,		/* a BAR moved: its doorbells move */
};

/* Interrupts from device I/O threads: every I/O class. */
static const unsigned long irq_ioctls[] = {
	KVM_IRQ_LINE,
	KVM_SIGNAL_MSI,
};

/* Teardown on the main thread: deassign irqfds, ioeventfds, routes. */
static const unsigned long main_ioctls[] = {
	KVM_IRQ_LINE,		/* console input raises the UART interrupt */
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
	KVM_IRQFD,
	KVM_IOEVENTFD,
	TCGETS,			/* isatty(), tcgetattr() */
	TCSETS,			/* the terminal restored on exit */
	TCSETSW,
	TCSETSF,
};

/* --on-reboot=restart: the next VM and its vCPUs (disks and taps stay open). */
static const unsigned long restart_ioctls[] = {
	KVM_CREATE_VM,
	KVM_CHECK_EXTENSION,
	KVM_GET_VCPU_MMAP_SIZE,
	KVM_SET_USER_MEMORY_REGION,
	KVM_CREATE_VCPU,
	KVM_GET_STATS_FD,	/* --stats: the new vCPUs' counters */
};

#ifdef SANITIZER_BUILD
static const int sanitizer_syscalls[] = {
	SCMP_SYS(mmap), SCMP_SYS(mprotect),	/* shadow memory, unrestricted */
	SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigaction), SCMP_SYS(prctl),
	SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(getdents), SCMP_SYS(getdents64), SCMP_SYS(lseek), SCMP_SYS(pread64), SCMP_SYS(uname),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid),
	SCMP_SYS(kill), SCMP_SYS(getppid), SCMP_SYS(writev),
	SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(fcntl),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(munmap),
	SCMP_SYS(getrusage), SCMP_SYS(mincore), SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(statfs), SCMP_SYS(stat),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
};
#endif

/* ---- building ---- */

static int allow(scmp_filter_ctx f, int nr)
{
	int ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);

	return ret == -EEXIST ? 0 : ret;
}

static int allow_all(scmp_filter_ctx f, const int *nrs, size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = allow(f, nrs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* One rule per value of argument @arg (compared as 32 bits: ioctl, fcntl). */
static int allow_arg_values(scmp_filter_ctx f, int nr, unsigned int arg,
			    const unsigned long *vals, size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp = {
			.arg = arg, .op = SCMP_CMP_MASKED_EQ,
			.datum_a = 0xffffffffUL, .datum_b = vals[i] & 0xffffffffUL,
		};

		ret = seccomp_rule_add_array(f, SCMP_ACT_ALLOW, nr, 1, &cmp);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx f, const unsigned long *reqs, size_t n)
{
	return allow_arg_values(f, SCMP_SYS(ioctl), 1, reqs, n);
}

/* mmap and mprotect without PROT_EXEC: no new code in kvmini's address space. */
static int allow_noexec_mappings(scmp_filter_ctx f)
{
	int ret;

	ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return ret == -EEXIST ? 0 : ret;
}

/*
 * tgkill toward kvmini's own thread group only: vCPU kicks (pthread_kill),
 * a fatal signal re-raised (term.c), abort(). Never another process.
 */
static int allow_own_tgkill(scmp_filter_ctx f)
{
	const unsigned long pid = (unsigned long)self_pid;

	return allow_arg_values(f, SCMP_SYS(tgkill), 0, &pid, 1);
}

static int allow_arch_ioctls(scmp_filter_ctx f, enum arch_ioctl_use use)
{
	size_t n;
	const unsigned long *reqs = arch_seccomp_ioctls(use, &n);

	return allow_ioctls(f, reqs, n);
}

/* clone for threads only: never a new process. */
static int allow_thread_clone(scmp_filter_ctx f)
{
	int ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				   SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));

	/* clone3 passes its flags in memory the filter cannot read: glibc then uses clone */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return ret == -EEXIST ? 0 : ret;
}

/*
 * The ioctls of every device I/O class: a device's activate and reset run
 * on the vCPU that wrote the status, or on the main thread (config writes
 * through the event loop, teardown), and (re)configure what its thread uses.
 */
static int add_device_ioctls(scmp_filter_ctx f)
{
	int ret = 0;

	for (unsigned int i = 0; !ret && i < nr_io_classes; i++)
		for (const struct sandbox_io_class *c = io_classes[i]; !ret && c; c = c->base)
			ret = allow_ioctls(f, c->ioctls, c->nr_ioctls);
	return ret;
}

/* A device I/O class: its calls and ioctls, its base's, and interrupts. */
static int add_io_class_rules(scmp_filter_ctx f, const struct sandbox_io_class *cls)
{
	int ret = allow_ioctls(f, irq_ioctls, ARRAY_LEN(irq_ioctls));

	for (const struct sandbox_io_class *c = cls; !ret && c; c = c->base) {
		for (const char *const *name = c->syscalls; !ret && name && *name; name++) {
			int nr = seccomp_syscall_resolve_name(*name);

			if (nr != __NR_SCMP_ERROR)	/* not on this arch */
				ret = allow(f, nr);
		}
		if (!ret)
			ret = allow_ioctls(f, c->ioctls, c->nr_ioctls);
	}
	return ret;
}

static int add_vcpu_rules(scmp_filter_ctx f)
{
	int ret = allow_all(f, vcpu_syscalls, ARRAY_LEN(vcpu_syscalls));

	if (!ret)
		ret = allow_ioctls(f, vcpu_ioctls, ARRAY_LEN(vcpu_ioctls));
	if (!ret)
		ret = allow_arch_ioctls(f, ARCH_IOCTLS_VCPU);
	if (!ret)
		ret = add_device_ioctls(f);
	return ret;
}

static int add_main_rules(scmp_filter_ctx f, const struct vm_config *cfg)
{
	int ret = allow_all(f, main_syscalls, ARRAY_LEN(main_syscalls));
	unsigned int i;

	/* at exit: the API socket and the pidfile, by name in their own directories */
	for (i = 0; !ret && i < ARRAY_LEN(unlink_dirs); i++)
		if (unlink_dirs[i] >= 0)
			ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 1,
					       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)unlink_dirs[i], 0));

	if (!ret)
		ret = allow_ioctls(f, main_ioctls, ARRAY_LEN(main_ioctls));
	if (!ret)
		ret = allow_arch_ioctls(f, ARCH_IOCTLS_SNAPSHOT);
	if (!ret)
		ret = add_device_ioctls(f);
	if (!ret)
		ret = allow_arg_values(f, SCMP_SYS(fcntl), 1, main_fcntl_cmds,
				       ARRAY_LEN(main_fcntl_cmds));
	if (!ret && (cfg->stats || cfg->report))
		ret = allow_all(f, stats_syscalls, ARRAY_LEN(stats_syscalls));
	if (!ret && KVMINI_HAVE_API &&
	    !(cfg->api_socket && !strcmp(cfg->api_socket, "none")))
		ret = allow_all(f, snapshot_disk_syscalls, ARRAY_LEN(snapshot_disk_syscalls));
	if (ret || cfg->on_reboot != ON_REBOOT_RESTART)
		return ret;

	/* no openat, no socket: disks, taps and vhost-net stay open from setup */
	ret = allow_all(f, restart_syscalls, ARRAY_LEN(restart_syscalls));
	if (!ret)
		ret = allow_ioctls(f, restart_ioctls, ARRAY_LEN(restart_ioctls));
	if (!ret)
		ret = allow_arch_ioctls(f, ARCH_IOCTLS_SETUP);
	if (!ret)
		ret = allow_thread_clone(f);
	/* threads started now inherit this filter, then stack their own on it */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, 0));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 1,
				       SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0));
	if (!ret)
		ret = add_vcpu_rules(f);
	for (unsigned int i = 0; !ret && i < nr_io_classes; i++)
		ret = add_io_class_rules(f, io_classes[i]);
	return ret;
}

/*
 * Every class. rt_sigaction for any signal but SIGSYS (a stop signal's
 * default action back before kvmini ends by it, abort()): so no code can
 * replace seccomp_trap() and outlive a forbidden call.
 */
static int add_base_rules(scmp_filter_ctx f)
{
	int ret = allow_all(f, base_syscalls, ARRAY_LEN(base_syscalls));

	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
				       SCMP_A0(SCMP_CMP_NE, SIGSYS, 0));
	if (ret == -EEXIST)
		ret = 0;
	if (!ret)
		ret = allow_noexec_mappings(f);
	if (!ret)
		ret = allow_ioctls(f, fatal_ioctls, ARRAY_LEN(fatal_ioctls));
	return ret;
}

/* The filter of @cls, or with @io set of that device I/O class. */
static scmp_filter_ctx build(enum sandbox_class cls, const struct sandbox_io_class *io,
			     const struct vm_config *cfg)
{
	uint32_t deny = mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	scmp_filter_ctx f = seccomp_init(deny);
	int ret;

	if (!f)
		return NULL;
	ret = add_base_rules(f);
	if (!ret)
		ret = allow_own_tgkill(f);
	if (!ret && io)
		ret = add_io_class_rules(f, io);
	else if (!ret && cls == SANDBOX_MAIN)
		ret = add_main_rules(f, cfg);
	else if (!ret)
		ret = add_vcpu_rules(f);
#ifdef SANITIZER_BUILD
	if (!ret)
		ret = allow_all(f, sanitizer_syscalls, ARRAY_LEN(sanitizer_syscalls));
	/* the runtime reads /proc (maps, the thread list): read-only opens only */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY));
#endif
	if (ret) {
		kv_err("cannot build the %s seccomp filter: %s; try --seccomp=off",
		       io ? io->name : class_names[cls], strerror(-ret));
		seccomp_release(f);
		return NULL;
	}
	return f;
}
#else
static scmp_filter_ctx build(enum sandbox_class cls, const struct sandbox_io_class *io,
			     const struct vm_config *cfg)
{
	(void)cls, (void)io, (void)cfg;
	return NULL;
}
#endif

#ifdef KVMINI_TEST_HOOKS
/* KVMINI_TEST_SECCOMP: see test_call above. 0, or -EINVAL after kv_err(). */
static int test_hook_parse(const char *t)
{
	static const char *const calls[] = {
		[TEST_SOCKET] = "socket", [TEST_TGKILL] = "tgkill=",
		[TEST_OPEN] = "open=", [TEST_WRITE] = "write=",
		[TEST_FALLOCATE] = "fallocate", [TEST_WRITEV] = "writev",
		[TEST_TUN_IOCTL] = "tun-ioctl",
	};
	const char *colon, *call;
	bool known = false;
	unsigned int i;
	size_t len;

	if (!t || !*t)
		return 0;
	colon = strchr(t, ':');
	len = colon ? (size_t)(colon - t) : strlen(t);
	known = (len == 2 && !strncmp(t, "io", 2));
	for (i = 0; i < ARRAY_LEN(class_names); i++)
		known |= strlen(class_names[i]) == len && !strncmp(t, class_names[i], len);
	for (i = 0; i < nr_io_classes; i++)
		known |= strlen(io_classes[i]->name) == len && !strncmp(t, io_classes[i]->name, len);
	call = colon ? colon + 1 : calls[TEST_SOCKET];
	for (i = 0; i < ARRAY_LEN(calls); i++) {
		size_t n = strlen(calls[i]);

		/* the calls that take an argument end in '=' */
		if (calls[i][n - 1] == '=' ? !strncmp(call, calls[i], n) : !strcmp(call, calls[i]))
			break;
	}
	if (!known || i == ARRAY_LEN(calls)) {
		kv_err("KVMINI_TEST_SECCOMP=%s: expected main, vcpu, io or a device's I/O "
		       "class (blk, net, uart), optionally followed by :socket, :tgkill=PID, "
		       ":open=PATH, :write=PATH, :fallocate, :writev or :tun-ioctl", t);
		return -EINVAL;
	}
	test_class = t;
	test_class_len = len;
	test_call = i;
	test_arg = call + strlen(calls[i]);
	return 0;
}
#endif

/* Append @s to @buf (size @size) at *@n. Async-signal-safe. */
static void append(char *buf, size_t size, size_t *n, const char *s)
{
	while (*s && *n + 1 < size)
		buf[(*n)++] = *s++;
}

static void append_uint(char *buf, size_t size, size_t *n, unsigned int v)
{
	char digits[12];
	int i = (int)sizeof(digits) - 1;

	digits[i] = 0;
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	append(buf, size, n, digits + i);
}

/*
 * --seccomp=on: a forbidden call lands here (SECCOMP_RET_TRAP) instead of
 * killing kvmini in the kernel, so that the terminal is restored first. The
 * call did not run. SA_RESETHAND made SIGSYS fatal again and no thread may
 * install another handler for it (add_base_rules()): kvmini dies by SIGSYS
 * as with SECCOMP_RET_KILL_PROCESS. In the --jail child, PID 1, the signal
 * it raises is ignored: it reports SIGSYS to the parent and exits instead.
 */
static void seccomp_trap(int sig, siginfo_t *si, void *uc)
{
	char msg[256];
	size_t n = 0;

	(void)sig;
	(void)uc;
	append(msg, sizeof(msg), &n, "kvmini: error: seccomp: system call ");
	append_uint(msg, sizeof(msg), &n, (unsigned int)si->si_syscall);
	append(msg, sizeof(msg), &n, " is not allowed on a ");
	if (thread_class)
		append(msg, sizeof(msg), &n, thread_class);
	append(msg, sizeof(msg), &n, " thread; kvmini stops (SIGSYS). Please report it; "
	       "--seccomp=log lets the call run\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nowhere to say it */
	}
	term_restore();
	signals_report(SIGSYS);
	raise(SIGSYS);
	_exit(EXIT_SIGNAL_BASE + SIGSYS);
}

static void install_trap_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigaction(SIGSYS, &sa, NULL);
}

int sandbox_configure(const struct vm_config *cfg)
{
	unsigned int cls;

	if (io_classes_overflow) {
		kv_err("more than %d device I/O classes for seccomp; raise MAX_IO_CLASSES "
		       "in vmm/hardening/sandbox.c", MAX_IO_CLASSES);
		return -EINVAL;
	}
	mode = cfg->seccomp;
	/* the threads that load the filters belong to this process: no fork in between */
	self_pid = getpid();
#ifdef KVMINI_TEST_HOOKS
	if (test_hook_parse(getenv("KVMINI_TEST_SECCOMP")))
		return -EINVAL;
#endif
	if (mode == SECCOMP_OFF)
		return 0;
	if (mode == SECCOMP_ON)
		install_trap_handler();
	for (cls = 0; cls < ARRAY_LEN(filters); cls++) {
		filters[cls] = build(cls, NULL, cfg);
		if (!filters[cls])
			return -EINVAL;
	}
	for (cls = 0; cls < nr_io_classes; cls++) {
		io_filters[cls] = build(SANDBOX_MAIN, io_classes[cls], cfg);
		if (!io_filters[cls])
			return -EINVAL;
	}
	return 0;
}

void sandbox_register_io_class(const struct sandbox_io_class *c)
{
	if (nr_io_classes < MAX_IO_CLASSES)
		io_classes[nr_io_classes++] = c;
	else
		io_classes_overflow = true;	/* sandbox_configure() says so */
}

#ifdef KVMINI_TEST_HOOKS
/* Does KVMINI_TEST_SECCOMP name the class @name (an I/O class if @io)? */
static bool test_targets(const char *name, bool io)
{
	if (!test_class)
		return false;
	if (io && test_class_len == 2 && !strncmp(test_class, "io", 2))
		return true;
	return strlen(name) == test_class_len && !strncmp(test_class, name, test_class_len);
}

/* A call the filter of the class must refuse; harmless where it is let through. */
static void test_violation(const char *name, bool io)
{
	int flags = (test_call == TEST_WRITE ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
	long pid = test_call == TEST_TGKILL ? strtol(test_arg, NULL, 10) : 0;
	struct iovec iov = { .iov_base = &pid, .iov_len = 1 };
	char what[PATH_MAX + 64];
	long ret;

	if (!test_targets(name, io))
		return;
	if (test_call == TEST_TGKILL)
		snprintf(what, sizeof(what), "tgkill(%ld, %ld, 0)", pid, pid);
	else if (test_call == TEST_OPEN || test_call == TEST_WRITE)
		snprintf(what, sizeof(what), "openat(%s, %s)", test_arg,
			 test_call == TEST_WRITE ? "O_WRONLY" : "O_RDONLY");
	else if (test_call == TEST_FALLOCATE)
		snprintf(what, sizeof(what), "fallocate(-1)");
	else if (test_call == TEST_WRITEV)
		snprintf(what, sizeof(what), "writev(-1)");
	else if (test_call == TEST_TUN_IOCTL)
		snprintf(what, sizeof(what), "ioctl(-1, TUNSETOFFLOAD)");
	else
		snprintf(what, sizeof(what), "socket()");
	/* the class as the test named it: "on a io thread" for any I/O class */
	kv_warn("test hook: calling %s on a %.*s thread (KVMINI_TEST_SECCOMP)", what,
		(int)test_class_len, test_class);
	switch (test_call) {
	case TEST_TGKILL:
		ret = syscall(SYS_tgkill, pid, pid, 0);
		break;
	case TEST_OPEN:
	case TEST_WRITE:
		ret = syscall(SYS_openat, AT_FDCWD, test_arg, flags);
		break;
	case TEST_FALLOCATE:
		ret = syscall(SYS_fallocate, -1, 0, 0L, 1L);
		break;
	case TEST_WRITEV:
		ret = syscall(SYS_writev, -1, &iov, 1);
		break;
	case TEST_TUN_IOCTL:
		ret = syscall(SYS_ioctl, -1, TUNSETOFFLOAD, 0UL);
		break;
	default:
		ret = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	}
	/* only reached where the filter let the call through (log, off) */
	kv_warn("test hook: %s returned %s", what, ret < 0 ? strerror(errno) : "success");
	if (ret >= 0 && (test_call == TEST_SOCKET || test_call == TEST_OPEN ||
			 test_call == TEST_WRITE))
		close((int)ret);
}
#endif

/* Early threads wait for the end of setup; false: torn down before it. */
static bool wait_setup_done(void)
{
	bool ok;

	pthread_mutex_lock(&setup_lock);
	while (!setup_done && !setup_aborted)
		pthread_cond_wait(&setup_cond, &setup_lock);
	ok = setup_done;
	pthread_mutex_unlock(&setup_lock);
	return ok;
}

/* Wait for the end of setup (unless @early), then load @f for the class @name. */
static int enter(scmp_filter_ctx f, const char *name, bool early, bool io)
{
	int ret;

	if (mode == SECCOMP_OFF || thread_filtered)
		return 0;
	if (!early && !wait_setup_done())
		return -ECANCELED;
	if (getpid() != self_pid) {
		/* the filter's tgkill rule names the process it was built in */
		kv_err("the %s thread's seccomp filter was built in another process; "
		       "try --seccomp=off", name);
		return -EINVAL;
	}
	/* seccomp_load() generates the program from the shared context */
	pthread_mutex_lock(&load_lock);
#if KVMINI_HAVE_SECCOMP
	ret = seccomp_load(f);
#else
	(void)f;
	ret = -ENOSYS;
#endif
	pthread_mutex_unlock(&load_lock);
	if (ret) {
		kv_err("cannot install the %s thread's seccomp filter: %s; "
		       "try --seccomp=off", name, strerror(-ret));
		return ret;
	}
	thread_filtered = true;
	thread_class = name;
#ifdef KVMINI_TEST_HOOKS
	test_violation(name, io);
#else
	(void)io;
#endif
	return 0;
}

int sandbox_enter(enum sandbox_class cls)
{
	return enter(filters[cls], class_names[cls], cls == SANDBOX_MAIN, false);
}

int sandbox_enter_io(const struct sandbox_io_class *c)
{
	unsigned int i;

	for (i = 0; i < nr_io_classes && io_classes[i] != c; i++)
		;
	if (i == nr_io_classes) {
		kv_err("the %s I/O thread's seccomp class was never registered "
		       "(SANDBOX_IO_CLASS); try --seccomp=off", c->name);
		return -EINVAL;
	}
	return enter(io_filters[i], c->name, false, true);
}

static void release_waiters(bool done)
{
	pthread_mutex_lock(&setup_lock);
	if (!setup_done && !setup_aborted) {
		setup_done = done;
		setup_aborted = !done;
		pthread_cond_broadcast(&setup_cond);
	}
	pthread_mutex_unlock(&setup_lock);
}

void sandbox_setup_done(void)
{
	release_waiters(true);
}

void sandbox_abort(void)
{
	release_waiters(false);
}

/* ---- the deferred-work helper process ---- */

static pid_t helper_pid = -1;
static int helper_req = -1, helper_resp = -1;	/* our pipe ends */
static int helper_closes[4] = { -1, -1, -1, -1 };

void sandbox_defer_close_fd(int fd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(helper_closes); i++) {
		if (helper_closes[i] < 0) {
			helper_closes[i] = fd;
			return;
		}
	}
}

static void helper_main(sandbox_deferred_fn fn, void *ctx, int req_fd, int resp_fd)
{
	int arg, ret;

	if (read(req_fd, &arg, sizeof(arg)) != sizeof(arg))
		arg = SANDBOX_DEFER_ABANDONED;	/* kvmini died or gave up */
	ret = fn(ctx, arg);
	if (write(resp_fd, &ret, sizeof(ret)) < 0) {
		/* nobody waits any more */
	}
	_exit(0);	/* no atexit handlers: they belong to kvmini */
}

int sandbox_defer(sandbox_deferred_fn fn, void *ctx)
{
	int req[2], resp[2];
	pid_t pid;

	if (mode == SECCOMP_OFF || helper_pid > 0)
		return 0;
	if (pipe2(req, O_CLOEXEC) < 0)
		goto err;
	if (pipe2(resp, O_CLOEXEC) < 0) {
		close(req[0]);
		close(req[1]);
		goto err;
	}
	pid = fork();
	if (pid == 0) {
		unsigned int i;

		close(req[1]);
		close(resp[0]);
		for (i = 0; i < ARRAY_LEN(helper_closes); i++)
			if (helper_closes[i] >= 0)
				close(helper_closes[i]);
		helper_main(fn, ctx, req[0], resp[1]);
	}
	close(req[0]);
	close(resp[1]);
	if (pid < 0) {
		close(req[1]);
		close(resp[0]);
		goto err;
	}
	helper_pid = pid;
	helper_req = req[1];
	helper_resp = resp[0];
	return 0;
err:
	kv_err("cannot start the helper process for work after the run: %s; "
	       "try --seccomp=off", strerror(errno));
	return -errno;
}

int sandbox_deferred(sandbox_deferred_fn fn, void *ctx, int arg)
{
	int ret = -EIO, status;

	if (helper_pid <= 0)
		return fn(ctx, arg);
	if (write(helper_req, &arg, sizeof(arg)) != sizeof(arg) ||
	    read(helper_resp, &ret, sizeof(ret)) != sizeof(ret))
		ret = -EIO;
	close(helper_req);
	close(helper_resp);
	while (waitpid(helper_pid, &status, 0) < 0 && errno == EINTR)
		;
	helper_pid = -1;
	return ret;
}

/* ---- the --volume unpacker (vmm/cli/unpack.c) ---- */

#if KVMINI_HAVE_SECCOMP
/* What reading an ext4 image and recreating its tree takes; nothing else. */
static const int unpacker_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(write), SCMP_SYS(lseek),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fcntl),
	SCMP_SYS(openat2), SCMP_SYS(openat), SCMP_SYS(mkdirat), SCMP_SYS(symlinkat),
	SCMP_SYS(linkat), SCMP_SYS(fchmod), SCMP_SYS(utimensat), SCMP_SYS(ftruncate),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync),	/* libext2fs flushes the image on close */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(clock_gettime), SCMP_SYS(getpid), SCMP_SYS(getrandom),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(exit_group),
	SCMP_SYS(exit),
};
#endif

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/*
 * Landlock: file system access only beneath the stage. Already open
 * descriptors (the image, the result pipe) are not affected. A kernel
 * without Landlock leaves seccomp and the uid as the confinement.
 */
static int confine_to_stage(int stage_fd)
{
	struct landlock_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr beneath = { 0 };
	int abi, rs, ret;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	beneath.parent_fd = stage_fd;
	beneath.allowed_access = attr.handled_access_fs &
		~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		  LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		  LANDLOCK_ACCESS_FS_MAKE_SOCK);
	rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return -1;
	ret = (int)syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0);
	if (!ret)
		ret = (int)syscall(SYS_landlock_restrict_self, rs, 0);
	close(rs);
	return ret;
}

void sandbox_set_mode(enum seccomp_mode m)
{
	mode = m;
}

int sandbox_enter_unpacker(int stage_fd)
{
#if KVMINI_HAVE_SECCOMP
	uint32_t deny = mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx f;
	int ret;
#endif

	if (confine_to_stage(stage_fd))
		return -1;
	if (mode == SECCOMP_OFF)
		return 0;
#if !KVMINI_HAVE_SECCOMP
	errno = ENOSYS;
	return -1;
#else
	f = seccomp_init(deny);
	if (!f)
		return -1;
	ret = allow_all(f, unpacker_syscalls, ARRAY_LEN(unpacker_syscalls));
	if (!ret)
		ret = allow_noexec_mappings(f);
	/* libext2fs's getenv() asks whether the process is set-id */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE, 0));
	/* an ioctl on the image (a block device probe) fails instead of killing */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 0);
#ifdef SANITIZER_BUILD
	if (!ret)
		ret = allow_all(f, sanitizer_syscalls, ARRAY_LEN(sanitizer_syscalls));
#endif
	if (!ret)
		ret = seccomp_load(f);
	seccomp_release(f);
	if (ret)
		errno = -ret;
	return ret ? -1 : 0;
#endif
}
