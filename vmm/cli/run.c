/* `kvmini run`: read the inputs, build the VM, run it, and map how it stopped to a status. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "api.h"
#include "arch.h"
#include "check.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "device.h"
#include "evloop.h"
#include "instance.h"
#include "jail.h"
#include "kvmini-features.h"
#if KVMINI_HAVE_API
#include <json-c/json.h>
#endif
#include "log.h"
#include "privs.h"
#include "proto.h"
#include "run.h"
#include "sandbox.h"
#include "signals.h"
#include "snapshot.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "volume.h"

#define MAX_KERNEL_SIZE (512ULL << 20)

/* fds 0-2 closed by a parent would be reused by /dev/kvm and friends. */
static void ensure_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

static int load_input(const char *what, const char *opt, const char *path,
		      uint64_t max, uint8_t **buf, size_t *len)
{
	int ret = read_file(path, max, buf, len);

	switch (ret) {
	case 0:
		if (*len == 0) {
			kv_err("%s '%s' is empty; check %s", what, path, opt);
			free(*buf);
			*buf = NULL;
			return -EINVAL;
		}
		return 0;
	case -EISDIR:
		kv_err("%s '%s' is a directory; %s needs a file", what, path, opt);
		break;
	case -EFBIG:
		kv_err("%s '%s' is larger than %llu MiB; check %s", what, path,
		       (unsigned long long)(max >> 20), opt);
		break;
	case -EINVAL:
		kv_err("%s '%s' is not a regular file; check %s", what, path, opt);
		break;
	default:
		kv_err("cannot read %s '%s': %s; check %s", what, path, strerror(-ret), opt);
		break;
	}
	return ret;
}

/* The fix depends on who may open the node: its group, or nobody but root. */
static void kvm_denied(void)
{
	char hint[CHECK_TEXT_MAX];
	struct check_node node;

	check_probe_kvm_node(&node);
	check_kvm_access_hint(&node, hint, sizeof(hint));
	kv_err("no permission to open /dev/kvm; %s", hint);
}

/*
 * Linux on software-only KVM: say it once, before the guest first runs (and
 * only for a kernel that loaded), then run anyway: small guests work there.
 */
static void warn_software_kvm(const char *kernel, const uint8_t *image, size_t len)
{
	static bool warned;
	struct check_probe p;
	char msg[2 * CHECK_TEXT_MAX];

	if (warned || !arch_kernel_is_linux(image, len))
		return;
	warned = true;
	memset(&p, 0, sizeof(p));
	check_probe_virt(&p);
	if (check_linux_warning(&p, kernel, msg, sizeof(msg)))
		kv_warn("%s", msg);
}

static int open_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		if (errno == ENOENT)
			kv_err("/dev/kvm does not exist; load KVM (modprobe kvm_intel or "
			       "kvm_amd) and enable virtualization in the firmware; "
			       "'kvmini check' tells more");
		else if (errno == EACCES || errno == EPERM)
			kvm_denied();
		else
			kv_err("cannot open /dev/kvm: %s; run 'kvmini check'", strerror(errno));
		return -1;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		kv_err("/dev/kvm speaks KVM API %d, kvmini needs %d", version, KVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

static int check_host_memory(const struct vm_config *cfg)
{
	struct sysinfo si;
	uint64_t host;

	if (sysinfo(&si) < 0)
		return 0;
	host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
	if (cfg->memory > host) {
		kv_err("--memory %s is more than this host's %llu MiB of RAM and swap; "
		       "lower --memory", cfg->memory_text, (unsigned long long)(host >> 20));
		return -ENOMEM;
	}
	return 0;
}

/*
 * A stop signal (signals.h) ends kvmini, even if it lands while the guest
 * is rebooting: after the cleanup, by that same signal.
 */
static int stop_signal;

static void on_signal(int fd, uint32_t events, void *opaque)
{
	struct signalfd_siginfo si;
	struct vm *vm = opaque;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	kv_debug("stopping on signal %u", si.ssi_signo);
	if (stop_signal)
		return;	/* the first one counts */
	stop_signal = (int)si.ssi_signo;
	vm_request_stop(vm, STOP_SIGNAL, EXIT_SIGNAL_BASE + stop_signal);
}

/* "SIGTERM", "SIGRTMIN+3": for messages. */
static const char *signal_name(int sig)
{
	static char name[16];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(name, sizeof(name), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(name, sizeof(name), "signal %d", sig);
	return name;
}

/*
 * A stop signal still pending at the end, or 0. From @sig_fd once it
 * exists (the main thread's filter allows read, not sigtimedwait).
 */
static int pending_stop_signal(int sig_fd)
{
	static const struct timespec now = { 0, 0 };
	struct signalfd_siginfo si;
	sigset_t stops;
	int sig;

	if (sig_fd >= 0)
		return read(sig_fd, &si, sizeof(si)) == sizeof(si) ? (int)si.ssi_signo : 0;
	signals_stop_set(&stops);
	sig = sigtimedwait(&stops, NULL, &now);
	return sig > 0 ? sig : 0;
}

/* --timeout: one deadline for the whole run, restarts included. */
static struct timespec deadline;

static void on_timeout(int fd, uint32_t events, void *opaque)
{
	struct vm *vm = opaque;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	kv_err("the guest did not finish within --timeout %.3g seconds; stopped it",
	       (double)vm->cfg->timeout_ms / 1000.0);
	vm_request_stop(vm, STOP_TIMEOUT, EXIT_TIMEOUT);
}

static int arm_timeout(struct vm *vm)
{
	struct itimerspec its = { .it_value = deadline };
	int fd, ret;

	if (!vm->cfg->timeout_ms)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		kv_err("timerfd_create for --timeout failed: %s", strerror(errno));
		return -2;
	}
	ret = timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
	if (!ret)
		ret = evloop_add(vm->loop, fd, EPOLLIN, on_timeout, vm);
	if (ret) {
		kv_err("cannot arm --timeout: %s", strerror(errno));
		close(fd);
		return -2;
	}
	return fd;
}

/* --stats and --report: what the last VM counted, and when things happened. */
static struct {
	uint64_t exec_ns, ready_ns, first_output_ns, command_start_ns, stop_ns;	/* monotonic */
	struct timespec exec_real;
	struct control_stats stats;
	bool have_stats;
	unsigned long peak_kib, rss_kib, guest_kib;
	enum stop_reason reason;
} run_record;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The counters named @prefix*, nonzero, busiest first (at most @max), as " name=N". */
static void print_group(const struct control_stats *st, const char *title, const char *prefix,
			unsigned int max)
{
	const struct control_stat *best[16];
	size_t plen = strlen(prefix);
	unsigned int i, j, n = 0;

	if (max > 16)
		max = 16;
	for (i = 0; i < st->n; i++) {
		const struct control_stat *e = &st->v[i];

		if (strncmp(e->name, prefix, plen) || !e->total)
			continue;
		for (j = n; j > 0 && best[j - 1]->total < e->total; j--)
			if (j < max)
				best[j] = best[j - 1];
		if (j < max) {
			best[j] = e;
			if (n < max)
				n++;
		}
	}
	if (!n)
		return;
	fprintf(stderr, "kvmini: stats: %s:", title);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s=%llu", best[i]->name + plen, (unsigned long long)best[i]->total);
	fputc('\n', stderr);
}

/* --stats at exit: memory, KVM's exits, then kvmini's view (kvmini(1)). */
static void report_run_stats(struct vm *vm)
{
	static const char *const halt[] = {
		"halt_exits", "halt_attempted_poll", "halt_successful_poll", "halt_poll_invalid",
		"halt_wakeup", "halt_poll_success_ns", "halt_poll_fail_ns", "halt_wait_ns",
	};
	const struct control_stats *st = &run_record.stats;
	unsigned int i;

	vm_report_stats(vm);
	if (!run_record.have_stats)
		return;
	print_group(st, "exits by reason", "kvmini.exits.", 16);
	print_group(st, "busiest devices (port I/O)", "kvmini.pio.", 5);
	print_group(st, "busiest devices (MMIO)", "kvmini.mmio.", 5);
	if (control_stat_find(st, "halt_exits")) {
		fprintf(stderr, "kvmini: stats: halt polling:");
		for (i = 0; i < ARRAY_SIZE(halt); i++) {
			const struct control_stat *e = control_stat_find(st, halt[i]);

			if (e)
				fprintf(stderr, " %s=%llu", halt[i], (unsigned long long)e->total);
		}
		fputc('\n', stderr);
	}
}

/* Record the end of one VM: its counters, memory and times. */
static void record_run(struct vm *vm, const struct vm_config *cfg)
{
	if (!cfg->stats && !cfg->report)
		return;
	run_record.stop_ns = mono_ns();
	run_record.first_output_ns = __atomic_load_n(&vm->first_output_ns, __ATOMIC_RELAXED);
	run_record.command_start_ns = __atomic_load_n(&vm->command_start_ns, __ATOMIC_RELAXED);
	if (run_record.have_stats)
		control_stats_free(&run_record.stats);
	run_record.have_stats = !control_collect_stats(vm, &run_record.stats);
	vm_memory_kib(vm, &run_record.peak_kib, &run_record.rss_kib, &run_record.guest_kib);
}

#if KVMINI_HAVE_API
static double ms_since_exec(uint64_t ns)
{
	return ns ? (double)(ns - run_record.exec_ns) / 1e6 : -1;
}

static void add_ms(struct json_object *o, const char *key, uint64_t ns)
{
	json_object_object_add(o, key, ns ? json_object_new_double(
		(double)(uint64_t)(ms_since_exec(ns) * 1000) / 1000) : NULL);
}

/* --report FILE: one JSON object (kvmini(1) lists the members). */
static void write_report(int fd, const struct vm_config *cfg, int status)
{
	struct json_object *o = json_object_new_object(), *t = json_object_new_object();
	struct json_object *c = json_object_new_object(), *m = json_object_new_object();
	const char *s;
	unsigned int i;
	size_t len;

	json_object_object_add(o, "kvmini", json_object_new_string(KVMINI_VERSION_STRING));
	json_object_object_add(o, "name", json_object_new_string(control_name()));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "stop_reason",
			       json_object_new_string(stop_reason_name(run_record.reason)));
	json_object_object_add(t, "exec_unix", json_object_new_double(
		(double)run_record.exec_real.tv_sec + (double)run_record.exec_real.tv_nsec / 1e9));
	add_ms(t, "exec_ms", run_record.exec_ns);
	add_ms(t, "vm_ready_ms", run_record.ready_ns);
	add_ms(t, "first_output_ms", run_record.first_output_ns);
	add_ms(t, "command_start_ms", run_record.command_start_ns);
	add_ms(t, "command_end_ms", cfg->cmd_argv && run_record.reason == STOP_GUEST_EXIT ?
				    run_record.stop_ns : 0);
	add_ms(t, "stop_ms", run_record.stop_ns);
	json_object_object_add(o, "timestamps", t);
	for (i = 0; run_record.have_stats && i < run_record.stats.n; i++)
		json_object_object_add(c, run_record.stats.v[i].name,
				       json_object_new_uint64(run_record.stats.v[i].total));
	json_object_object_add(o, "counters", c);
	json_object_object_add(m, "peak_rss_kib", json_object_new_uint64(run_record.peak_kib));
	json_object_object_add(m, "guest_touched_kib", json_object_new_uint64(run_record.guest_kib));
	json_object_object_add(m, "vmm_overhead_kib", json_object_new_uint64(
		run_record.rss_kib > run_record.guest_kib ? run_record.rss_kib - run_record.guest_kib : 0));
	json_object_object_add(o, "memory", m);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	if (write(fd, s, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		kv_err("--report %s: cannot write: %s", cfg->report, strerror(errno));
	json_object_put(o);
}
#else
static void write_report(int fd, const struct vm_config *cfg, int status)
{
	(void)fd, (void)cfg, (void)status;	/* config.c refuses --report without json-c */
}
#endif

/* The kernel and initrd file contents, owned by cmd_run. */
struct inputs {
	uint8_t *kernel;
	uint8_t *initrds[MAX_INITRDS];
};

static void inputs_free(struct inputs *in)
{
	unsigned int i;

	free(in->kernel);
	in->kernel = NULL;
	for (i = 0; i < MAX_INITRDS; i++) {
		free(in->initrds[i]);
		in->initrds[i] = NULL;
	}
}

/*
 * One boot of the guest; returns the stop reason, status in *status.
 * @drop: inputs to free once they are in guest memory (NULL: a restart
 * will need them again), so kvmini does not hold a second copy. The
 * command line is arch_vm_load()'s, from the devices' inventory.
 */
static enum stop_reason run_once(const struct vm_config *cfg, int kvm_fd, int sig_fd,
				 const struct kernel_blobs *blobs, struct inputs *drop,
				 const struct device_specs *specs,
				 const struct device_env *env, const struct snapshot_in *snap,
				 int *status)
{
	struct errmsg err;
	enum stop_reason reason = STOP_ERROR;
	struct kernel_blobs k = *blobs;
	int timer_fd = -1;
	struct vm *vm;
	int ret;

	*status = EXIT_ERROR;
	vm = vm_create(cfg, kvm_fd, snap ? snap->mem_fd : -1);
	if (!vm)
		return STOP_ERROR;
	/* devices first: the firmware tables and command line describe them */
	if (devices_create(vm, specs, env, &err)) {
		config_report(&err);
		goto out_devices;
	}
	if (devices_describe(vm, &vm->inventory)) {
		kv_err("out of memory");
		goto out_devices;
	}
	if (!snap) {
		ret = arch_vm_load(vm, &k, &vm->inventory);
		if (ret)
			goto out_devices;
		warn_software_kvm(k.kernel_path, k.kernel, k.kernel_len);
	}
	if (drop)
		inputs_free(drop);
	if (evloop_add(vm->loop, sig_fd, EPOLLIN, on_signal, vm))
		goto out_devices;
	timer_fd = arm_timeout(vm);
	if (timer_fd == -2)
		goto out_devices;
	if (control_attach(vm))
		goto out_devices;
	/* everything is open: leave the host's file system, then the privileges */
	if (jail_lock_down(cfg) || privs_drop(cfg))
		goto out_devices;
	if (vm_create_vcpus(vm))
		goto out_devices;
	/* the saved state over what the build set up; nothing has run yet */
	if (snap && snapshot_restore(vm, snap))
		goto out_devices;
	sandbox_setup_done();	/* I/O threads load their filters now */
	if (vm_start_vcpus(vm)) {
		vm_stop_vcpus(vm);
		goto out_devices;
	}
	if (!run_record.ready_ns)
		run_record.ready_ns = mono_ns();
	if (sandbox_enter(SANDBOX_MAIN))
		vm_request_stop(vm, STOP_ERROR, EXIT_ERROR);
	control_started(vm);
	evloop_run(vm->loop);
	vm_stop_vcpus(vm);
	devices_quiesce(vm);
	run_record.reason = vm->stop_reason;
	record_run(vm, cfg);
	if (cfg->stats)
		report_run_stats(vm);
	reason = vm->stop_reason;
	*status = vm->exit_status;
out_devices:
	control_detach(vm);
	sandbox_abort();	/* I/O threads still waiting for setup: give up */
	devices_destroy(vm);
	vm_destroy(vm);
	if (timer_fd >= 0)
		close(timer_fd);
	return reason;
}

/* What is left after the run; in sandbox_defer()'s helper when filters are on. */
struct exit_work {
	struct volume_state *volume;
	struct instance *instance;
};

/* The --volume copy-back, then the API socket and pidfile go. */
static int exit_work_run(void *ctx, int how)
{
	struct exit_work *w = ctx;
	int ret;

	if (how == SANDBOX_DEFER_ABANDONED)	/* kvmini died during the run */
		ret = volume_finish(w->volume, true, false);
	else
		ret = volume_finish(w->volume, how & 1, how & 2);
	instance_remove(w->instance);
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct kernel_blobs blobs = { 0 };
	struct command_state cmd_state = { 0 };
	struct volume_state volume = { 0 };
	struct instance inst;
	struct exit_work work = { &volume, &inst };
	bool ran = false, reported = false;
	struct file_blob initrds[MAX_INITRDS];
	struct inputs inputs = { 0 };
	struct device_specs specs = { 0 };
	struct device_env env = { 0 };
	struct snapshot_in snap = { .mem_fd = -1 };
	char memory_text[32];
	char netns[PATH_MAX + 16];
	struct vm_config cfg;
	struct errmsg err;
	unsigned int i;
	enum stop_reason reason = STOP_ERROR;
	int status = EXIT_ERROR;
	int kvm_fd = -1, sig_fd = -1, report_fd = -1;
	sigset_t sigs;
	int ret;

	ensure_std_fds();
	/*
	 * One malloc arena for every thread: glibc shrinks a thread arena's
	 * heap only after reading /proc/sys/vm/overcommit_memory, an open that
	 * no thread's filter allows (the API thread frees often). The main
	 * arena shrinks with brk. kvmini's threads allocate little.
	 */
	mallopt(M_ARENA_MAX, 1);
	api_json_init();	/* before any filter: json-c draws its hash seed */
	run_record.exec_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &run_record.exec_real);
	ret = config_parse_run(&cfg, argc, argv);
	if (ret > 0)
		return 0;	/* --help */
	if (ret < 0)
		return EXIT_ERROR;
	kv_verbose = cfg.verbose || getenv("KVMINI_DEBUG");
	/* stop signals blocked from here on, in every thread and in the jail's child */
	signals_init();
	if (cfg.report) {
		report_fd = open(cfg.report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (report_fd < 0) {
			kv_err("--report %s: %s; give a writable path", cfg.report, strerror(errno));
			return EXIT_ERROR;
		}
	}
	/* name, pidfile, API socket: in the host's view, before a jail */
	if (instance_setup(&inst, &cfg)) {
		instance_close(&inst);
		instance_remove(&inst);
		return EXIT_ERROR;
	}
	instance_set_title(inst.name);
	if (control_init(&cfg, inst.name, inst.pid)) {
		instance_close(&inst);
		instance_remove(&inst);
		return EXIT_ERROR;
	}
	/* before anything is opened or any thread exists; the parent returns here */
	ret = jail_enter(&cfg, &status);
	if (ret) {
		instance_close(&inst);
		instance_remove(&inst);
		return ret > 0 ? status : EXIT_ERROR;
	}
	if (privs_prepare(&cfg))
		goto out;
	sandbox_allow_unlink_in(inst.sock.dir_fd);
	sandbox_allow_unlink_in(inst.pidfile.dir_fd);
	if (sandbox_configure(&cfg))
		goto out;
	if (cfg.cmd_argv && command_prepare(&cfg, &cmd_state))
		goto out;

	if (cfg.restore) {
		/* the record says what VM to build: its vCPUs and RAM */
		if (snapshot_open(cfg.restore, &snap))
			goto out;
		cfg.cpus = snap.img.h.nr_vcpus;
		cfg.memory = snap.img.h.ram_size;
		snprintf(memory_text, sizeof(memory_text), "%lluM",
			 (unsigned long long)(cfg.memory >> 20));
		cfg.memory_text = memory_text;
	} else if (load_input("kernel", "--kernel", cfg.kernel, MAX_KERNEL_SIZE, &inputs.kernel,
			      &blobs.kernel_len)) {
		goto out;
	}
	for (i = 0; i < cfg.nr_initrds; i++) {
		initrds[i].path = cfg.initrds[i];
		if (load_input("initrd", "--initrd", cfg.initrds[i], cfg.memory,
			       &inputs.initrds[i], &initrds[i].len))
			goto out;
		initrds[i].data = inputs.initrds[i];
	}
	if (check_host_memory(&cfg))
		goto out;
	blobs.kernel_path = cfg.kernel;
	blobs.kernel = inputs.kernel;
	blobs.initrds = initrds;
	blobs.nr_initrds = cfg.nr_initrds;
	blobs.cmdline_user = cfg.cmdline_extra;
	blobs.memory_text = cfg.memory_text;

	if (cfg.timeout_ms) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)(cfg.timeout_ms / 1000);
		deadline.tv_nsec += (long)(cfg.timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	kvm_fd = open_kvm();
	if (kvm_fd < 0)
		goto out;

	/* stop signals go to the event loop; signals_init() blocked them */
	signals_stop_set(&sigs);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		kv_err("signalfd failed: %s", strerror(errno));
		goto out;
	}

	/* last before the run: nothing to clean up in DIR if an input was bad */
	if (inst.sock_fd >= 0)
		sandbox_defer_close_fd(inst.sock_fd);
	/*
	 * The helper costs startup time (the parent's later writes to its
	 * pages fault, copy on write): only --volume, and a socket or pidfile
	 * that a dropped uid could not remove, need it. Otherwise the main
	 * thread removes them at exit, its filter allowing unlinkat in their
	 * directories only; a kill -9 leaves a stale socket, replaced at the
	 * next start.
	 */
	if (volume_prepare(&cfg, &volume) ||
	    ((volume.active || ((inst.sock.dir_fd >= 0 || inst.pidfile.dir_fd >= 0) &&
				(cfg.user || cfg.group))) &&
	     sandbox_defer(exit_work_run, &work)))
		goto out;
	/* what is used after setup is opened now, after the helper's fork */
	env.transport = cfg.transport;
	env.exit_port = cfg.exit_port;
	env.exit_raw = cfg.exit_raw;
	env.stderr_console = cfg.stderr_console;
	if (cfg.jail_netns) {
		snprintf(netns, sizeof(netns), "--jail-netns %s", cfg.jail_netns);
		env.netns = netns;
	}
	if (device_specs_open(&specs, cfg.devices, cfg.nr_devices, &env, &err)) {
		config_report(&err);
		goto out;
	}
	if (volume.active)
		volume_close_fd(&volume);	/* its disk holds the image open now */
	/* after the helper's fork: threads may start; the API serves every VM of a restart */
	if (inst.sock_fd >= 0 && api_start(inst.sock_fd, inst.owner, inst.name))
		goto out;
	if (cfg.stats || cfg.report)
		vm_stats_open();
	ran = true;
	do {
		reason = run_once(&cfg, kvm_fd, sig_fd, &blobs,
				  cfg.on_reboot == ON_REBOOT_RESTART ? NULL : &inputs, &specs, &env,
				  cfg.restore ? &snap : NULL, &status);
		if (stop_signal) {
			reason = STOP_SIGNAL;
			status = EXIT_SIGNAL_BASE + stop_signal;
		} else if (reason == STOP_REBOOT && cfg.on_reboot == ON_REBOOT_RESTART) {
			kv_debug("guest rebooted: restarting");
		}
	} while (reason == STOP_REBOOT && cfg.on_reboot == ON_REBOOT_RESTART);
	if (reason == STOP_SIGNAL)
		kv_warn("stopped by signal %d (%s)", stop_signal, signal_name(stop_signal));
	reported = reason == STOP_GUEST_EXIT;
out:
	control_finish(status, stop_reason_name(ran ? reason : STOP_ERROR));
	api_stop();
	instance_close(&inst);
	device_specs_close(&specs);	/* images unlocked before the volume comes back */
	/*
	 * The command's status stands, but a lost result must not look like
	 * success, and a refused tree has a status of its own.
	 */
	ret = sandbox_deferred(exit_work_run, &work, ran | reported << 1);
	if (ret == VOLUME_REFUSED)
		status = EXIT_VOLUME;
	else if (ret && status == 0)
		status = EXIT_ERROR;
	/* a stop signal that came during setup or teardown ends kvmini too */
	if (!stop_signal)
		stop_signal = pending_stop_signal(sig_fd);
	if (report_fd >= 0) {
		if (!ran)
			run_record.reason = STOP_ERROR;
		write_report(report_fd, &cfg, stop_signal ? EXIT_SIGNAL_BASE + stop_signal : status);
		close(report_fd);
	}
	if (run_record.have_stats)
		control_stats_free(&run_record.stats);
	vm_stats_close();
	if (sig_fd >= 0)
		close(sig_fd);
	if (kvm_fd >= 0)
		close(kvm_fd);
	inputs_free(&inputs);
	snapshot_close(&snap);
	command_release(&cmd_state);
	if (stop_signal)
		signals_end_by(stop_signal);
	return status;
}
