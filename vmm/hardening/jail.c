/*
 * --jail DIR: unshare the namespaces and fork; the parent only waits,
 * forwards the stop signals and ends as the child did, the child (PID 1 of
 * the new PID namespace) opens what the VM needs, then makes DIR its root
 * with pivot_root and lowers its resource limits before privs_drop() clears
 * its privileges.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "jail.h"
#include "log.h"
#include "signals.h"
#include "vm.h"

#define JAIL_HOSTNAME "kvmini"
/* fds the VM opens after the lock-down: per vCPU, plus room for libraries */
#define FDS_PER_VCPU 2
#define FDS_SPARE 64

static char jail_root[PATH_MAX];	/* DIR, resolved */
static bool locked;

static bool no_leak_check;

/*
 * LeakSanitizer's check at exit needs /proc, which the jail hides from the
 * child, and a new thread, which the parent cannot create once the PID
 * namespace has ended: sanitizer builds skip it there (runs without --jail
 * still check the same code). A weak hook of the sanitizer runtime.
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return no_leak_check;
}

static int check_options(const struct vm_config *cfg)
{
	struct stat st;

	if (cfg->on_reboot == ON_REBOOT_RESTART) {
		kv_err("--on-reboot restart cannot be used with --jail: a restart reopens disks "
		       "and taps by path, which the jail hides; use --on-reboot exit");
		return -EINVAL;
	}
	if (cfg->volume[0]) {
		kv_err("--volume cannot be used with --jail: kvmini runs mkfs.ext4 and debugfs "
		       "around the guest, which the jail hides; leave out --jail");
		return -EINVAL;
	}
	if (stat(cfg->jail, &st) < 0) {
		kv_err("--jail %s: %s; create an empty directory for the jail (mkdir)",
		       cfg->jail, strerror(errno));
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		kv_err("--jail %s: not a directory; give an empty directory", cfg->jail);
		return -ENOTDIR;
	}
	if (!realpath(cfg->jail, jail_root)) {
		kv_err("--jail %s: %s", cfg->jail, strerror(errno));
		return -ENOENT;
	}
	if (!strcmp(jail_root, "/")) {
		kv_err("--jail %s: the jail cannot be the host's root directory; "
		       "give an empty directory such as /var/lib/kvmini/jail", cfg->jail);
		return -EINVAL;
	}
	return 0;
}

static int join_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0) {
		ret = -errno;
		kv_err("--jail-netns %s: %s; give new, or a network namespace such as "
		       "/run/netns/NAME (ip netns add NAME)", path, strerror(errno));
		return ret;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		if (errno == EINVAL)
			kv_err("--jail-netns %s is not a network namespace; give new, or a file "
			       "such as /run/netns/NAME (ip netns add NAME)", path);
		else
			kv_err("--jail-netns %s: cannot enter it: %s; joining a network namespace "
			       "needs root", path, strerror(errno));
	}
	close(fd);
	return ret;
}

static int create_namespaces(const struct vm_config *cfg)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	int ret;

	if (cfg->jail_netns && !strcmp(cfg->jail_netns, "new"))
		flags |= CLONE_NEWNET;
	else if (cfg->jail_netns && (ret = join_netns(cfg->jail_netns)))
		return ret;
	if (unshare(flags) < 0) {
		ret = -errno;
		if (errno == EPERM)
			kv_err("--jail needs root: creating namespaces needs CAP_SYS_ADMIN (kvmini "
			       "runs as uid %u); start kvmini as root and add --user to drop "
			       "privileges", (unsigned int)geteuid());
		else
			kv_err("--jail: cannot create namespaces: %s", strerror(errno));
		return ret;
	}
	return 0;
}

/*
 * The last signal the child reported (signals_report()) before it ended,
 * or 0. The child is gone: its end of the pipe is closed.
 */
static int reported_signal(int fd)
{
	int sig = 0, v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		sig = v;
	return sig;
}

/*
 * The parent: forward the stop signals, reap the child, restore the
 * terminal in case the child could not (SIGKILL). Then end as the child
 * did: by its signal, or with its exit status (returned). The child, PID 1
 * of its namespace, cannot raise a signal on itself: it reports it on
 * @report_fd.
 */
static int wait_child(pid_t child, const sigset_t *waitset, const struct termios *tio,
		      int report_fd)
{
	struct rlimit no_core = { 0, 0 };
	int wstatus = EXIT_ERROR << 8, sig;
	pid_t r;

	for (;;) {
		sig = sigwaitinfo(waitset, NULL);
		if (sig < 0)
			continue;	/* EINTR */
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		r = waitpid(child, &wstatus, WNOHANG);
		if (r == child)
			break;
		if (r < 0 && errno == ECHILD) {
			kv_err("--jail: lost the jailed kvmini (pid %d)", (int)child);
			break;
		}
	}
	if (tio)
		tcsetattr(STDIN_FILENO, TCSANOW, tio);
	sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : reported_signal(report_fd);
	if (sig) {
		/* any core worth having is the child's */
		setrlimit(RLIMIT_CORE, &no_core);
		signals_end_by(sig);
	}
	return WEXITSTATUS(wstatus);
}

/* The child, PID 1: die with the parent; a private /proc and mount tree. */
static int setup_child(int parent_alive_fd)
{
	struct pollfd pfd = { .fd = parent_alive_fd, .events = POLLIN };

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* the parent may have died before the line above: its pipe end is closed */
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLIN)))
		_exit(EXIT_ERROR);
	close(parent_alive_fd);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		kv_err("--jail: cannot make the mounts private: %s", strerror(errno));
		return -EPERM;
	}
	/* this PID namespace's /proc: privs_drop() lists kvmini's threads there */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		kv_err("--jail: cannot mount /proc for the new PID namespace: %s",
		       strerror(errno));
		return -EPERM;
	}
	if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0) {
		kv_err("--jail: cannot set the host name: %s", strerror(errno));
		return -EPERM;
	}
	return 0;
}

int jail_enter(const struct vm_config *cfg, int *status)
{
	sigset_t waitset, old;
	struct termios tio;
	int alive[2], report[2], ret;
	bool have_tio;
	pid_t child;

	if (!cfg->jail)
		return 0;
	ret = check_options(cfg);
	if (ret)
		return ret;
	ret = create_namespaces(cfg);
	if (ret)
		return ret;
	if (pipe2(alive, O_CLOEXEC) < 0) {
		kv_err("--jail: pipe failed: %s", strerror(errno));
		return -EIO;
	}
	if (pipe2(report, O_CLOEXEC | O_NONBLOCK) < 0) {
		kv_err("--jail: pipe failed: %s", strerror(errno));
		close(alive[0]);
		close(alive[1]);
		return -EIO;
	}
	/* before the child can make it raw */
	have_tio = tcgetattr(STDIN_FILENO, &tio) == 0;
	/*
	 * The stop signals are blocked already (signals_init()): the parent
	 * takes them with sigwaitinfo, the child queues them for run.c's
	 * signalfd (PID 1 would drop them as unhandled otherwise).
	 */
	signals_stop_set(&waitset);
	sigaddset(&waitset, SIGCHLD);
	sigprocmask(SIG_BLOCK, &waitset, &old);
	child = fork();
	if (child < 0) {
		ret = -errno;
		kv_err("--jail: fork failed: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(alive[0]);
		close(alive[1]);
		close(report[0]);
		close(report[1]);
		return ret;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(alive[1]);
		close(report[0]);
		signals_report_to(report[1]);
		return setup_child(alive[0]);
	}
	close(alive[0]);
	close(report[1]);
	no_leak_check = true;
	*status = wait_child(child, &waitset, have_tio ? &tio : NULL, report[0]);
	close(report[0]);
	close(alive[1]);
	return 1;
}

/* The highest open fd of this process, from /proc (before the pivot). */
static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int max = 2;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd > max)
			max = fd;
	}
	closedir(d);
	return max;
}

static int set_limits(const struct vm_config *cfg, int max_fd)
{
	struct rlimit nofile, core = { 0, 0 };
	rlim_t want = (rlim_t)max_fd + 1 + FDS_PER_VCPU * cfg->cpus + FDS_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0) {
		kv_err("--jail: getrlimit failed: %s", strerror(errno));
		return -EPERM;
	}
	if (want < nofile.rlim_max)
		nofile.rlim_max = want;
	nofile.rlim_cur = nofile.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0) {
		kv_err("--jail: cannot set resource limits: %s", strerror(errno));
		return -EPERM;
	}
	return 0;
}

int jail_lock_down(const struct vm_config *cfg)
{
	unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	int max_fd;

	if (!cfg->jail || locked)
		return 0;
	max_fd = highest_fd();
	if (max_fd < 0) {
		kv_err("--jail: cannot list open files in /proc/self/fd: %s", strerror(errno));
		return -EIO;
	}
	/* pivot_root wants a mount point; read-only: kvmini writes nothing there */
	if (mount(jail_root, jail_root, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, jail_root, NULL, ro, NULL) < 0) {
		kv_err("--jail %s: cannot bind-mount it: %s", jail_root, strerror(errno));
		return -EPERM;
	}
	/* pivot_root(".", ".") stacks the old root on DIR; detaching it leaves DIR */
	if (chdir(jail_root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		kv_err("--jail %s: cannot make it the root directory: %s", jail_root,
		       strerror(errno));
		return -EPERM;
	}
	if (set_limits(cfg, max_fd))
		return -EPERM;
	locked = true;
	no_leak_check = true;
	kv_debug("jailed in %s: pivot_root done, fds below %d", jail_root,
		 max_fd + 1 + FDS_PER_VCPU * (int)cfg->cpus + FDS_SPARE);
	return 0;
}
