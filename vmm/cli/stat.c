/*
 * `kvmini stat`: kvm_stat for microVMs. Samples each VM's counters (KVM's
 * binary statistics and kvmini's own, through the API's `stats`; for VMs
 * of other monitors, KVM's debugfs files) and shows them as kvm_stat does:
 * a refreshing table, one shot, or a log line per interval.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "client.h"
#include "config.h"
#include "instance.h"
#include "log.h"
#include "stat.h"

#define MAX_VMS 64
#define MAX_EVENTS 1024
#define DEBUGFS_KVM "/sys/kernel/debug/kvm"

struct event {
	char name[64];
	uint64_t total;			/* summed over the selected VMs */
	uint64_t base;			/* at the last reset (key r) */
	uint64_t prev;			/* at the previous sample */
	double rate;			/* per second over the last interval */
	unsigned int nr_vcpus;
	uint64_t per_vcpu[64];		/* the first 64 vCPUs, for --cpu */
	bool seen;			/* in the last sample */
};

struct target {
	char name[CONFIG_NAME_MAX + 1];	/* "" for a debugfs VM */
	int pid;
	char debugfs[PATH_MAX];		/* a VM of another monitor: its debugfs directory */
};

static struct {
	struct target vms[MAX_VMS];
	unsigned int nr_vms;
	struct event ev[MAX_EVENTS];
	unsigned int nr_ev;
	regex_t filter;
	bool filtered;
	bool cpu, json;
	double interval;
	struct timespec last;
	bool sampled;
} st;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct event *event_get(const char *name)
{
	unsigned int i;

	for (i = 0; i < st.nr_ev; i++)
		if (!strcmp(st.ev[i].name, name))
			return &st.ev[i];
	if (st.nr_ev == MAX_EVENTS)
		return NULL;
	memset(&st.ev[st.nr_ev], 0, sizeof(st.ev[0]));
	snprintf(st.ev[st.nr_ev].name, sizeof(st.ev[0].name), "%s", name);
	return &st.ev[st.nr_ev++];
}

/* A VM of another monitor: the numbers in its debugfs directory (kvm_stat -d). */
static int sample_debugfs(const struct target *t)
{
	DIR *d = opendir(t->debugfs);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300], buf[64];
		unsigned long long v;
		struct event *e;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->debugfs, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%llu", &v) == 1) {
			e = event_get(de->d_name);
			if (e) {
				e->total += v;
				e->seen = true;
			}
		}
		fclose(f);
	}
	closedir(d);
	return 0;
}

static int sample_api(const struct target *t)
{
	struct json_object *reply = NULL, *ret, *evs;
	size_t i, k;
	int r;

	r = client_request(t->name, "stats", &reply);
	if (r)
		return r;
	if (!json_object_object_get_ex(reply, "return", &ret) ||
	    !json_object_object_get_ex(ret, "events", &evs)) {
		json_object_put(reply);
		return -EPROTO;
	}
	for (i = 0; i < json_object_array_length(evs); i++) {
		struct json_object *o = json_object_array_get_idx(evs, i), *v, *pv;
		struct event *e;

		if (!json_object_object_get_ex(o, "name", &v))
			continue;
		e = event_get(json_object_get_string(v));
		if (!e)
			continue;
		if (json_object_object_get_ex(o, "total", &v))
			e->total += json_object_get_uint64(v);
		e->seen = true;
		if (json_object_object_get_ex(o, "per_vcpu", &pv)) {
			size_t n = json_object_array_length(pv);

			for (k = 0; k < n && k < 64; k++)
				e->per_vcpu[k] += json_object_get_uint64(json_object_array_get_idx(pv, k));
			if (n > e->nr_vcpus)
				e->nr_vcpus = n > 64 ? 64 : (unsigned int)n;
		}
	}
	json_object_put(reply);
	return 0;
}

/* Sample every target into st.ev; rates against the previous sample. 0, or -errno if all failed. */
static int sample(void)
{
	unsigned int i, ok = 0;
	double now = now_s(), prev_t = st.sampled ? (double)st.last.tv_sec +
			      (double)st.last.tv_nsec / 1e9 : now;
	struct timespec ts;

	for (i = 0; i < st.nr_ev; i++) {
		st.ev[i].prev = st.ev[i].total;
		st.ev[i].total = 0;
		st.ev[i].seen = false;
		memset(st.ev[i].per_vcpu, 0, sizeof(st.ev[i].per_vcpu));
	}
	for (i = 0; i < st.nr_vms; i++)
		if (!(st.vms[i].debugfs[0] ? sample_debugfs(&st.vms[i]) : sample_api(&st.vms[i])))
			ok++;
	for (i = 0; i < st.nr_ev; i++) {
		struct event *e = &st.ev[i];

		if (!st.sampled)
			e->prev = e->total;
		e->rate = now > prev_t && e->total >= e->prev ?
			  (double)(e->total - e->prev) / (now - prev_t) : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	st.last = ts;
	st.sampled = true;
	return ok ? 0 : -ENOENT;
}

static bool shown(const struct event *e)
{
	return e->seen && (!st.filtered || !regexec(&st.filter, e->name, 0, NULL, 0));
}

static int by_rate(const void *a, const void *b)
{
	const struct event *x = *(const struct event *const *)a;
	const struct event *y = *(const struct event *const *)b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (x->total - x->base != y->total - y->base)
		return x->total - x->base < y->total - y->base ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The events to show, busiest first; @zeros: also those that never counted. */
static unsigned int sorted(const struct event **out, bool zeros)
{
	unsigned int i, n = 0;

	for (i = 0; i < st.nr_ev; i++)
		if (shown(&st.ev[i]) && (zeros || st.ev[i].total != st.ev[i].base ||
					 st.ev[i].rate > 0))
			out[n++] = &st.ev[i];
	qsort(out, n, sizeof(out[0]), by_rate);
	return n;
}

/* A count of events, not a time (halt_wait_ns) or a size (pages_2m): it takes part in %Total. */
static bool is_event(const char *name)
{
	size_t n = strlen(name);

	return !(n > 3 && !strcmp(name + n - 3, "_ns")) && strncmp(name, "pages_", 6) &&
	       strncmp(name, "max_", 4);
}

static void print_table(FILE *f)
{
	static const struct event *list[MAX_EVENTS];
	unsigned int n = sorted(list, false), i, k;
	uint64_t sum = 0;

	for (i = 0; i < n; i++)
		if (is_event(list[i]->name))
			sum += list[i]->total - list[i]->base;
	fprintf(f, " %-40s %14s %7s %11s\n", "Event", "Total", "%Total", "CurAvg/s");
	for (i = 0; i < n; i++) {
		const struct event *e = list[i];
		uint64_t t = e->total - e->base;

		if (is_event(e->name))
			fprintf(f, " %-40s %14llu %7.1f %11.0f\n", e->name, (unsigned long long)t,
				sum ? 100.0 * (double)t / (double)sum : 0.0, e->rate);
		else
			fprintf(f, " %-40s %14llu %7s %11.0f\n", e->name, (unsigned long long)t, "",
				e->rate);
		for (k = 0; st.cpu && k < e->nr_vcpus; k++)
			fprintf(f, "   vcpu%-34u %14llu\n", k, (unsigned long long)e->per_vcpu[k]);
	}
}

static void print_json(FILE *f)
{
	static const struct event *list[MAX_EVENTS];
	struct json_object *o = json_object_new_object(), *vms = json_object_new_array();
	struct json_object *evs = json_object_new_array();
	unsigned int n = sorted(list, true), i, k;

	for (i = 0; i < st.nr_vms; i++) {
		struct json_object *v = json_object_new_object();

		json_object_object_add(v, "name", json_object_new_string(st.vms[i].name));
		json_object_object_add(v, "pid", json_object_new_int(st.vms[i].pid));
		json_object_object_add(v, "source", json_object_new_string(
			st.vms[i].debugfs[0] ? "debugfs" : "api"));
		json_object_array_add(vms, v);
	}
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "name", json_object_new_string(list[i]->name));
		json_object_object_add(e, "total", json_object_new_uint64(list[i]->total -
									    list[i]->base));
		json_object_object_add(e, "rate", json_object_new_uint64(
			(uint64_t)(list[i]->rate + 0.5)));
		if (st.cpu && list[i]->nr_vcpus) {
			struct json_object *pv = json_object_new_array();

			for (k = 0; k < list[i]->nr_vcpus; k++)
				json_object_array_add(pv, json_object_new_uint64(list[i]->per_vcpu[k]));
			json_object_object_add(e, "per_vcpu", pv);
		}
		json_object_array_add(evs, e);
	}
	json_object_object_add(o, "vms", vms);
	json_object_object_add(o, "events", evs);
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* --log: a header of the event names at first, then a line of per-interval counts. */
static void print_log(FILE *f, bool header)
{
	static const struct event *list[MAX_EVENTS];
	unsigned int n, i;

	for (n = 0, i = 0; i < st.nr_ev; i++)
		if (shown(&st.ev[i]))
			list[n++] = &st.ev[i];
	if (st.json) {
		struct json_object *o = json_object_new_object();

		for (i = 0; i < n; i++)
			json_object_object_add(o, list[i]->name,
					       json_object_new_uint64(list[i]->total - list[i]->prev));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		if (header) {
			for (i = 0; i < n; i++)
				fprintf(f, "%s%s", i ? " " : "", list[i]->name);
			fputc('\n', f);
		}
		for (i = 0; i < n; i++)
			fprintf(f, "%s%llu", i ? " " : "",
				(unsigned long long)(list[i]->total - list[i]->prev));
		fputc('\n', f);
	}
	fflush(f);
}

static int add_target_name(const char *name)
{
	struct json_object *info = NULL, *ret, *v;
	struct target *t;

	if (st.nr_vms == MAX_VMS)
		return 0;
	t = &st.vms[st.nr_vms];
	memset(t, 0, sizeof(*t));
	if (client_request(name, "info", &info))
		return CLIENT_NO_VM;
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (json_object_object_get_ex(info, "return", &ret) &&
	    json_object_object_get_ex(ret, "pid", &v))
		t->pid = json_object_get_int(v);
	json_object_put(info);
	st.nr_vms++;
	return 0;
}

/* Every VM of the user (the sockets in the runtime directory). */
static void add_all(void)
{
	char dir[PATH_MAX], err[PATH_MAX + 160];
	struct dirent *de;
	DIR *d;

	if (instance_runtime_dir(dir, sizeof(dir), false, err, sizeof(err)))
		return;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char name[CONFIG_NAME_MAX + 1];

		if (l <= 5 || l - 5 > CONFIG_NAME_MAX || strcmp(de->d_name + l - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, l - 5);
		name[l - 5] = '\0';
		if (config_name_valid(name))
			add_target_name(name);	/* a stale socket is skipped */
	}
	if (d)
		closedir(d);
}

/* A PID: one of the user's kvmini VMs, else a VM of another monitor in debugfs. */
static int add_target_pid(int pid)
{
	char dir[PATH_MAX], err[PATH_MAX + 160], prefix[32];
	unsigned int before = st.nr_vms, i, j;
	struct dirent *de;
	DIR *d;

	add_all();
	for (i = before, j = before; i < st.nr_vms; i++)
		if (st.vms[i].pid == pid)
			st.vms[j++] = st.vms[i];
	st.nr_vms = j;
	if (st.nr_vms > before)
		return 0;
	(void)dir;
	(void)err;
	snprintf(prefix, sizeof(prefix), "%d-", pid);
	d = opendir(DEBUGFS_KVM);
	while (d && (de = readdir(d)) && st.nr_vms < MAX_VMS) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		memset(&st.vms[st.nr_vms], 0, sizeof(st.vms[0]));
		st.vms[st.nr_vms].pid = pid;
		snprintf(st.vms[st.nr_vms].debugfs, sizeof(st.vms[0].debugfs), "%s/%s", DEBUGFS_KVM,
			 de->d_name);
		st.nr_vms++;
	}
	if (d)
		closedir(d);
	if (st.nr_vms > before)
		return 0;
	kv_err("no VM with PID %d: no kvmini VM of yours, and no %s/%d-* (mount debugfs, as "
	       "root, for VMs of other monitors)", pid, DEBUGFS_KVM, pid);
	return CLIENT_NO_VM;
}

static void usage(FILE *f)
{
	fputs("usage: kvmini stat [-1|--once] [-l|--log] [-L FILE] [-f REGEX] [-p PID] [-g NAME]\n"
	      "                   [-s SECONDS] [-c|--cpu] [--json] [NAME|PID...]\n"
	      "keys (interactive): q quit, r reset the totals, f filter (a regex), c per vCPU\n",
	      f);
}

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	fputs("\033[?25h", stdout);
}

static void read_filter(void)
{
	char buf[256];
	size_t n = 0;

	printf("\033[2J\033[H filter (regex, empty for none): ");
	fflush(stdout);
	for (;;) {
		char c;

		if (read(STDIN_FILENO, &c, 1) != 1 || c == '\r' || c == '\n')
			break;
		if ((c == 127 || c == 8) && n) {
			n--;
			fputs("\b \b", stdout);
		} else if (c >= ' ' && n < sizeof(buf) - 1) {
			buf[n++] = c;
			fputc(c, stdout);
		}
		fflush(stdout);
	}
	buf[n] = '\0';
	if (st.filtered)
		regfree(&st.filter);
	st.filtered = n && !regcomp(&st.filter, buf, REG_EXTENDED | REG_NOSUB);
}

static int interactive(void)
{
	struct termios raw;
	bool quit = false;
	unsigned int i;

	if (!tcgetattr(STDIN_FILENO, &saved_tio)) {
		tio_saved = true;
		raw = saved_tio;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	atexit(restore_tty);
	fputs("\033[?25l", stdout);
	while (!quit) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		double until = now_s() + st.interval;

		if (sample()) {
			restore_tty();
			kv_err("the VMs are gone");
			return CLIENT_OK;
		}
		printf("\033[2J\033[H kvmini stat: %u VM%s, every %gs (q quit, r reset, f filter, "
		       "c per vCPU)%s\n\n", st.nr_vms, st.nr_vms == 1 ? "" : "s", st.interval,
		       st.filtered ? ", filtered" : "");
		print_table(stdout);
		fflush(stdout);
		while (!quit && now_s() < until) {
			int ms = (int)((until - now_s()) * 1000) + 1;
			char c;

			if (poll(&p, 1, ms) <= 0 || read(STDIN_FILENO, &c, 1) != 1)
				continue;
			if (c == 'q' || c == 3) {
				quit = true;
			} else if (c == 'r') {
				for (i = 0; i < st.nr_ev; i++)
					st.ev[i].base = st.ev[i].total;
				break;
			} else if (c == 'f') {
				read_filter();
				break;
			} else if (c == 'c') {
				st.cpu = !st.cpu;
				break;
			}
		}
	}
	restore_tty();
	putchar('\n');
	return CLIENT_OK;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' }, { "log", no_argument, NULL, 'l' },
		{ "log-to-file", required_argument, NULL, 'L' },
		{ "fields", required_argument, NULL, 'f' }, { "pid", required_argument, NULL, 'p' },
		{ "guest", required_argument, NULL, 'g' }, { "set", required_argument, NULL, 's' },
		{ "cpu", no_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool once = false, log = false;
	const char *log_file = NULL;
	FILE *out = stdout;
	char *end;
	int c, ret, i;

	memset(&st, 0, sizeof(st));
	st.interval = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "1lL:f:p:g:s:ch", opts, NULL)) != -1) {
		switch (c) {
		case '1':
			once = true;
			break;
		case 'l':
			log = true;
			break;
		case 'L':
			log = true;
			log_file = optarg;
			break;
		case 'f':
			if (st.filtered)
				regfree(&st.filter);
			if (regcomp(&st.filter, optarg, REG_EXTENDED | REG_NOSUB)) {
				kv_err("-f %s: not a valid regular expression (POSIX extended)", optarg);
				return CLIENT_ERROR;
			}
			st.filtered = true;
			break;
		case 'p': {
			long pid = strtol(optarg, &end, 10);

			if (*end || pid <= 0 || pid > 1 << 22) {
				kv_err("-p %s: give a process ID", optarg);
				return CLIENT_ERROR;
			}
			ret = add_target_pid((int)pid);
			if (ret)
				return ret;
			break;
		}
		case 'g':
			ret = add_target_name(optarg);
			if (ret) {
				kv_err("no VM named '%s'; 'kvmini list' shows the running ones", optarg);
				return ret;
			}
			break;
		case 's':
			st.interval = strtod(optarg, &end);
			if (*end || !(st.interval >= 0.1) || st.interval > 3600) {
				kv_err("-s %s: give seconds between refreshes, 0.1 to 3600", optarg);
				return CLIENT_ERROR;
			}
			break;
		case 'c':
			st.cpu = true;
			break;
		case 'j':
			st.json = true;
			break;
		case 'h':
			usage(stdout);
			return CLIENT_OK;
		default:
			usage(stderr);
			return CLIENT_ERROR;
		}
	}
	for (i = optind; i < argc; i++) {
		long pid = strtol(argv[i], &end, 10);

		if (!*end && pid > 0)
			ret = add_target_pid((int)pid);
		else if ((ret = add_target_name(argv[i])))
			kv_err("no VM named '%s'; 'kvmini list' shows the running ones", argv[i]);
		if (ret)
			return ret;
	}
	if (optind == argc && !st.nr_vms)
		add_all();
	if (!st.nr_vms) {
		kv_err("no running VMs of yours; start one with kvmini run, or give -p PID for "
		       "another monitor's");
		return CLIENT_NO_VM;
	}
	if (st.interval < 0)
		st.interval = once ? 1 : log ? 1 : 3;
	if (log_file) {
		out = fopen(log_file, "a");
		if (!out) {
			kv_err("-L %s: %s", log_file, strerror(errno));
			return CLIENT_ERROR;
		}
	}
	if (!once && !log && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)))
		log = true;	/* no terminal to refresh: a line per interval */
	if (sample()) {
		kv_err("cannot read the VMs' counters");
		return CLIENT_ERROR;
	}
	if (once) {
		struct timespec ts = { (time_t)st.interval,
				       (long)((st.interval - (double)(time_t)st.interval) * 1e9) };

		nanosleep(&ts, NULL);
		sample();
		st.json ? print_json(out) : print_table(out);
		ret = CLIENT_OK;
	} else if (log) {
		bool header = true;

		for (;;) {
			struct timespec ts = { (time_t)st.interval,
					       (long)((st.interval - (double)(time_t)st.interval) *
						      1e9) };

			nanosleep(&ts, NULL);
			if (sample())
				break;	/* the VMs are gone */
			print_log(out, header);
			header = false;
		}
		ret = CLIENT_OK;
	} else {
		ret = interactive();
	}
	if (out != stdout)
		fclose(out);
	if (st.filtered)
		regfree(&st.filter);
	return ret;
}
