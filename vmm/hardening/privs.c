/*
 * Privilege drop with libcap-ng. Credentials are per thread, and the
 * virtio I/O threads already run when kvmini drops: glibc broadcasts the
 * id changes to every thread, but not no_new_privs, the bounding set or a
 * capability clear when the uid stays 0, so a signal carries those to the
 * other threads (see signal_other_threads).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "kvmini-features.h"
#include "log.h"

#if KVMINI_HAVE_CAPNG
#include <cap-ng.h>
#endif
#include "privs.h"
#include "signals.h"

#define PRIVS_SIGNAL SIGNAL_PRIVS
#define MAX_CAP 63		/* PR_CAPBSET_READ tells the kernel's last one */
#define THREAD_WAIT_MS 5000

enum thread_step {
	STEP_LOCK,	/* no_new_privs, empty bounding set: needs CAP_SETPCAP, so first */
	STEP_CLEAR,	/* empty capability sets: after the id change, which needs caps */
};

static struct {
	bool active;		/* --user, --group or --jail */
	bool done;
	bool set_uid, set_gid;	/* switch ids (else only clear capabilities) */
	bool can_setid;		/* holds CAP_SETUID and CAP_SETGID */
	bool can_setpcap;	/* holds CAP_SETPCAP: may shrink the bounding set */
	uid_t uid;
	gid_t gid;
	int task_dir;		/* /proc/self/task, opened before any pivot_root */
} pv = { .task_dir = -1 };

static _Atomic int thread_step, thread_acks, thread_fails;
static _Atomic bool thread_drop_bounds;

/* Numeric --user/--group: all digits, below (id_t)-1 which means "unchanged". */
static bool parse_id(const char *s, unsigned int *id)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v >= 0xffffffffUL)
		return false;
	*id = (unsigned int)v;
	return true;
}

static int resolve_ids(const struct vm_config *cfg)
{
	struct passwd *pw = NULL;
	struct group *gr;
	unsigned int id;

	if (cfg->user) {
		if (parse_id(cfg->user, &id)) {
			pv.uid = id;
			pw = getpwuid(pv.uid);
		} else {
			pw = getpwnam(cfg->user);
			if (!pw) {
				kv_err("--user %s: no such user; give an existing user name or a uid",
				       cfg->user);
				return -ENOENT;
			}
			pv.uid = pw->pw_uid;
		}
		pv.set_uid = true;
	}
	if (cfg->group) {
		if (parse_id(cfg->group, &id)) {
			pv.gid = id;
		} else {
			gr = getgrnam(cfg->group);
			if (!gr) {
				kv_err("--group %s: no such group; give an existing group name or a gid",
				       cfg->group);
				return -ENOENT;
			}
			pv.gid = gr->gr_gid;
		}
		pv.set_gid = true;
	} else if (cfg->user) {
		if (!pw) {
			kv_err("--user %s is not in the user database, so it has no primary group; "
			       "add --group GROUP", cfg->user);
			return -ENOENT;
		}
		pv.gid = pw->pw_gid;
		pv.set_gid = true;
	}
	return 0;
}

#if KVMINI_HAVE_CAPNG
/* Whether this process holds @cap in its effective set. */
static bool have_cap(unsigned int cap)
{
	return capng_get_caps_process() == 0 &&
	       capng_have_capability(CAPNG_EFFECTIVE, cap) == 1;
}
#else
static bool have_cap(unsigned int cap)
{
	(void)cap;
	return false;
}
#endif

static int check_can_switch(const struct vm_config *cfg)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	if (pv.set_uid && (pv.uid != ru || pv.uid != eu || pv.uid != su) &&
	    !have_cap(CAP_SETUID)) {
		kv_err("--user %s: switching to another user needs root (kvmini runs as uid %u); "
		       "start kvmini as root, or leave out --user", cfg->user, (unsigned int)eu);
		return -EPERM;
	}
	if (pv.set_gid && (pv.gid != rg || pv.gid != eg || pv.gid != sg) &&
	    !have_cap(CAP_SETGID)) {
		kv_err("%s %s: switching to another group needs root (kvmini runs as gid %u); "
		       "start kvmini as root, or leave out %s",
		       cfg->group ? "--group" : "--user", cfg->group ? cfg->group : cfg->user,
		       (unsigned int)eg, cfg->group ? "--group" : "--user");
		return -EPERM;
	}
	return 0;
}

int privs_prepare(const struct vm_config *cfg)
{
	int ret;

	pv.active = cfg->user || cfg->group || cfg->jail;
	if (!pv.active)
		return 0;
	if (!KVMINI_HAVE_CAPNG) {
		kv_err("%s: this kvmini is built without libcap-ng (-Dcapng=disabled), which "
		       "dropping privileges needs", cfg->user ? "--user" : cfg->group ?
		       "--group" : "--jail");
		return -ENOTSUP;
	}
	if (cfg->volume[0] && (cfg->user || cfg->group)) {
		kv_err("--volume cannot be used with %s: kvmini unpacks the volume after the "
		       "guest ends, with the dropped privileges; run kvmini as that user instead",
		       cfg->user ? "--user" : "--group");
		return -EINVAL;
	}
	ret = resolve_ids(cfg);
	if (ret)
		return ret;
	ret = check_can_switch(cfg);
	if (ret)
		return ret;
	/* asked now: libcap-ng reads /proc, which a jail hides by drop time */
	pv.can_setid = have_cap(CAP_SETUID) && have_cap(CAP_SETGID);
	pv.can_setpcap = have_cap(CAP_SETPCAP);
	/* the thread list, readable after a pivot_root has hidden /proc */
	pv.task_dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pv.task_dir < 0) {
		ret = -errno;
		kv_err("cannot open /proc/self/task: %s; dropping privileges needs /proc to "
		       "reach every thread", strerror(errno));
		return ret;
	}
	return 0;
}

/* Runs in each other thread: only system calls, so async-signal-safe. */
static void on_privs_signal(int sig)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	int saved_errno = errno, cap;
	bool ok = true;

	(void)sig;
	if (atomic_load(&thread_step) == STEP_LOCK) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			ok = false;
		for (cap = 0; atomic_load(&thread_drop_bounds) && cap <= MAX_CAP; cap++) {
			if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
				break;	/* past the kernel's last capability */
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
				ok = false;
		}
	} else if (syscall(SYS_capset, &hdr, data)) {
		ok = false;
	}
	atomic_fetch_add(ok ? &thread_acks : &thread_fails, 1);
	errno = saved_errno;
}

/*
 * Threads the kernel runs in kvmini's thread group (vhost workers, io_uring
 * workers) never return to user space, so they take no signal handler; they
 * act only through the fds kvmini gave them.
 */
#define PF_IO_WORKER_FLAG	0x00000010
#define PF_USER_WORKER_FLAG	0x00004000
#define PF_KTHREAD_FLAG		0x00200000

static bool is_kernel_worker(const char *tid)
{
	char path[300], buf[512], *p;
	unsigned long flags = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "%s/stat", tid);
	fd = openat(pv.task_dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* "tid (comm) state ppid pgrp session tty tpgid flags ...": comm may hold spaces */
	p = strrchr(buf, ')');
	for (field = 0; p && field < 7; field++)
		p = strchr(p + 1, ' ');
	if (p)
		flags = strtoul(p + 1, NULL, 10);
	return flags & (PF_IO_WORKER_FLAG | PF_USER_WORKER_FLAG | PF_KTHREAD_FLAG);
}

/*
 * Make every thread but this one run @step, and wait until all have.
 * kvmini creates no thread meanwhile. 0, or -errno after kv_err().
 */
static int signal_other_threads(enum thread_step step)
{
	struct timespec pause = { .tv_nsec = 1000000 };
	struct sigaction sa;
	pid_t self = gettid(), pid = getpid();
	int sent = 0, waited_ms, dfd, ret = 0;
	struct dirent *de;
	DIR *dir;

	dfd = dup(pv.task_dir);
	if (dfd < 0 || lseek(dfd, 0, SEEK_SET) < 0 || !(dir = fdopendir(dfd))) {
		ret = -errno;
		kv_err("cannot list kvmini's threads to drop their privileges: %s",
		       strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return ret;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_privs_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(PRIVS_SIGNAL, &sa, NULL);
	atomic_store(&thread_step, step);
	atomic_store(&thread_acks, 0);
	atomic_store(&thread_fails, 0);
	while ((de = readdir(dir))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid <= 0 || tid == self || is_kernel_worker(de->d_name))
			continue;
		if (syscall(SYS_tgkill, pid, tid, PRIVS_SIGNAL) == 0)
			sent++;
		else if (errno != ESRCH)	/* ESRCH: the thread has just ended */
			ret = -errno;
	}
	closedir(dir);
	for (waited_ms = 0; atomic_load(&thread_acks) + atomic_load(&thread_fails) < sent &&
	     waited_ms < THREAD_WAIT_MS; waited_ms++)
		nanosleep(&pause, NULL);
	/* ignored, not the default action: a late one must not end kvmini */
	sa.sa_handler = SIG_IGN;
	sigaction(PRIVS_SIGNAL, &sa, NULL);
	if (!ret && atomic_load(&thread_acks) < sent)
		ret = -EPERM;
	if (ret)
		kv_err("could not drop the privileges of all of kvmini's threads (%d of %d did): %s",
		       atomic_load(&thread_acks), sent, strerror(-ret));
	return ret;
}

/* The capability sets of the calling thread are all empty. */
static bool caps_cleared(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int cap;

	if (syscall(SYS_capget, &hdr, data))
		return false;
	if (data[0].effective | data[0].permitted | data[0].inheritable |
	    data[1].effective | data[1].permitted | data[1].inheritable)
		return false;
	for (cap = 0; cap <= MAX_CAP; cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			return false;
	return true;
}

#if KVMINI_HAVE_CAPNG
static int change_ids(const struct vm_config *cfg, bool drop_bounds)
{
	int flags = CAPNG_DROP_SUPP_GRP | (drop_bounds ? CAPNG_CLEAR_BOUNDING : 0);
	int ret;

	capng_clear(CAPNG_SELECT_BOTH);
	/* without the capabilities, the ids are already the wanted ones (prepare checked) */
	if ((pv.set_uid || pv.set_gid) && pv.can_setid) {
		errno = 0;
		ret = capng_change_id(pv.set_uid ? (int)pv.uid : -1, pv.set_gid ? (int)pv.gid : -1,
				      flags);
		if (ret) {
			int err = errno ? errno : EPERM;

			kv_err("cannot switch to uid %d, gid %d (%s %s): libcap-ng's "
			       "capng_change_id failed at step %d: %s",
			       pv.set_uid ? (int)pv.uid : -1, pv.set_gid ? (int)pv.gid : -1,
			       cfg->user ? "--user" : "--group", cfg->user ? cfg->user : cfg->group,
			       -ret, strerror(err));
			return -err;
		}
		return 0;
	}
	/* --jail alone: stay uid 0, but without root's supplementary groups */
	if (pv.can_setid && setgroups(0, NULL) < 0) {
		kv_err("cannot drop supplementary groups: %s", strerror(errno));
		return -EPERM;
	}
	if (capng_apply(drop_bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS)) {
		kv_err("cannot clear kvmini's capabilities: %s", strerror(errno));
		return errno ? -errno : -EPERM;
	}
	return 0;
}
#else
static int change_ids(const struct vm_config *cfg, bool drop_bounds)
{
	(void)cfg, (void)drop_bounds;
	return -ENOTSUP;	/* privs_prepare() refused already */
}
#endif

int privs_drop(const struct vm_config *cfg)
{
	int pdeath = 0, ret;
	bool drop_bounds;

	if (!pv.active || pv.done)
		return 0;
	/* unprivileged, kvmini cannot shrink the bounding set; no_new_privs covers it */
	drop_bounds = pv.can_setpcap;
	atomic_store(&thread_drop_bounds, drop_bounds);
	/* a credential change clears the parent-death signal (set by the jail) */
	prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		kv_err("cannot set no_new_privs: %s", strerror(errno));
		return ret;
	}
	ret = signal_other_threads(STEP_LOCK);
	if (ret)
		return ret;
	ret = change_ids(cfg, drop_bounds);
	if (ret)
		return ret;
	ret = signal_other_threads(STEP_CLEAR);
	if (ret)
		return ret;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (pdeath)
		prctl(PR_SET_PDEATHSIG, pdeath, 0, 0, 0);
	if (!caps_cleared()) {
		kv_err("kvmini still holds capabilities after dropping them; stopping");
		return -EPERM;
	}
	close(pv.task_dir);
	pv.task_dir = -1;
	pv.done = true;
	kv_debug("privileges dropped: uid %u, gid %u, no capabilities, no_new_privs",
		 (unsigned int)geteuid(), (unsigned int)getegid());
	return 0;
}
