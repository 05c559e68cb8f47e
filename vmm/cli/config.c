/* `kvmini run` option parsing into struct vm_config. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conffile.h"
#include "config.h"
#include "keyval.h"
#include "kvmini-features.h"
#include "log.h"
#include "util.h"

#define MIN_MEMORY (2ULL << 20)
#define MAX_CPUS_PARSE 4096	/* the real cap is KVM's, checked at VM creation */

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_ON_REBOOT,
	OPT_VERBOSE,
	OPT_STATS,
	OPT_EXIT_PORT,
	OPT_TIMEOUT,
	OPT_TRANSPORT,
	OPT_VOLUME,
	OPT_VOLUME_LIMIT,
	OPT_SECCOMP,
	OPT_USER,
	OPT_GROUP,
	OPT_JAIL,
	OPT_JAIL_NETNS,
	OPT_NAME,
	OPT_PIDFILE,
	OPT_API_SOCKET,
	OPT_REPORT,
	OPT_RESTORE,
	OPT_HELP,
	OPT_DEVICE,	/* + the index of a device type among those with options */
};

static const struct option fixed_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "exit-port", required_argument, NULL, OPT_EXIT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "volume-limit", required_argument, NULL, OPT_VOLUME_LIMIT },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "jail", required_argument, NULL, OPT_JAIL },
	{ "jail-netns", required_argument, NULL, OPT_JAIL_NETNS },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* `kvmini help` for the options above, in their order; device types add theirs. */
static const struct {
	const char *name;
	const char *text;
} fixed_help[] = {
	{ "kernel", "  --kernel FILE        bzImage, ELF vmlinux (PVH or 64-bit entry), multiboot\n"
		    "                       kernel or firmware ELF\n" },
	{ "restore", "  --restore DIR        run the VM saved by kvmini snapshot NAME DIR instead of\n"
		     "                       booting a kernel (its vCPUs and RAM come from DIR)\n" },
	{ "initrd", "  --initrd FILE        initial ramdisk; repeat for multiboot modules\n" },
	{ "cmdline", "  --cmdline STR        appended to the default kernel command line\n" },
	{ "memory", "  --memory SIZE        guest RAM, e.g. 256M, 2G (default 256M); K, M, G, T\n"
		    "                       are binary units, a number without one is bytes\n" },
	{ "cpus", "  --cpus N             number of vCPUs (default 1)\n" },
	{ "on-reboot", "  --on-reboot ACTION   exit (default, status 4) or restart\n" },
	{ "verbose", "  --verbose            log VM setup and exits to stderr\n" },
	{ "stats", "  --stats              on exit, print exits by reason, the busiest devices,\n"
		   "                       halt polling and kvmini's memory use (stderr)\n" },
	{ "report", "  --report FILE        on exit, write a JSON report: timestamps, status,\n"
		    "                       counters, memory (for CI)\n" },
	{ "exit-port", "  --exit-port PORT     guest exit device port (default 0xf4), or none\n" },
	{ "timeout", "  --timeout SECONDS    stop the guest after this long (exit status 124)\n" },
	{ "transport", "  --transport KIND     virtio devices on pci (default) or mmio\n" },
	{ "volume", "  --volume DIR[:ro]    with -- CMD: DIR as the guest's /volume, where CMD\n"
		    "                       runs; changes are copied back to DIR on success\n" },
	{ "volume-limit", "  --volume-limit bytes=SIZE,entries=N,depth=N,time=SECONDS\n"
			  "                       what the copy-back may create (see kvmini(1))\n" },
	{ "seccomp", "  --seccomp MODE       system call filters: on (default), log or off\n" },
	{ "user", "  --user USER          after setup, run as USER (name or uid)\n" },
	{ "group", "  --group GROUP        after setup, run as GROUP (name or gid)\n" },
	{ "jail", "  --jail DIR           run in new namespaces with DIR as the root\n" },
	{ "jail-netns", "  --jail-netns NS      with --jail: new (an empty network namespace)\n"
			"                       or PATH of a namespace to join, e.g.\n"
			"                       /run/netns/vm1\n" },
	{ "name", "  --name NAME          the VM's name for kvmini list/info/stop (default\n"
		  "                       kvmini-PID); unique among the user's VMs\n" },
	{ "pidfile", "  --pidfile FILE       write kvmini's PID to FILE, removed at exit\n" },
	{ "api-socket", "  --api-socket PATH    the control socket (default $XDG_RUNTIME_DIR/kvmini/\n"
			"                       NAME.sock, root: /run/kvmini/NAME.sock), or none\n" },
	{ "config", "  --config FILE        options from FILE, one per line (kvmini.conf(5))\n" },
	{ "help", "  --help               this text\n" },
};

void config_usage(FILE *f)
{
	const struct device_type *t;
	unsigned int i;

	fputs("usage: kvmini run --kernel FILE [options]\n"
	      "       kvmini run [options] -- CMD [ARGS...]\n"
	      "       kvmini unpack [--volume-limit KEY=VALUE,...] IMAGE DEST\n"
	      "       kvmini list [--json]\n"
	      "       kvmini info|pause|resume [--json] NAME\n"
	      "       kvmini stop [--force] [--timeout SECONDS] [--json] NAME\n"
	      "       kvmini qemu [QEMU options]   (see kvmini-qemu(1))\n"
	      "       kvmini snapshot-disk --image FILE [--format raw|qcow2] --file NEW.qcow2\n"
	      "       kvmini check\n"
	      "       kvmini help | version\n"
	      "\n"
	      "run options:\n", f);
	for (i = 0; i < ARRAY_SIZE(fixed_help); i++) {
		fputs(fixed_help[i].text, f);
		for (t = device_type_next_user(NULL); t; t = device_type_next_user(t))
			if (t->help && t->help_after && !strcmp(t->help_after, fixed_help[i].name))
				fputs(t->help, f);
	}
	fputs("\n"
	      "exit status: 0 power-off or Ctrl-A x, 2 error, 4 reboot, 6 triple fault,\n"
	      "             8 KVM failure, 10 --volume tree refused,\n"
	      "             124 --timeout expired, odd: (V << 1) | 1\n"
	      "             after the guest wrote V to the exit port. A stop signal\n"
	      "             (SIGTERM, SIGINT, SIGHUP, ...) ends kvmini by that signal,\n"
	      "             after restoring the terminal. See kvmini(1).\n", f);
}

#define MAX_USER_TYPES 16

/* The fixed options, then one --NAME per device type with options. */
static struct option run_options[ARRAY_SIZE(fixed_options) + MAX_USER_TYPES];
static const struct device_type *user_types[MAX_USER_TYPES];

static void build_options(void)
{
	const struct device_type *t;
	unsigned int n = ARRAY_SIZE(fixed_options) - 1, i = 0;

	memcpy(run_options, fixed_options, sizeof(fixed_options));
	for (t = device_type_next_user(NULL); t && i < MAX_USER_TYPES;
	     t = device_type_next_user(t), i++) {
		user_types[i] = t;
		run_options[n++] = (struct option){ t->name, required_argument, NULL,
						    OPT_DEVICE + (int)i };
	}
	run_options[n] = (struct option){ NULL, 0, NULL, 0 };
}

#define SEE_HELP "'kvmini help' lists the options"

/* "--memory" for getopt's value of a long option; @typed if there is none. */
static const char *option_name(int val, const char *typed)
{
	static char name[32];
	const struct option *o;

	for (o = run_options; o->name; o++) {
		if (o->val == val) {
			snprintf(name, sizeof(name), "--%s", o->name);
			return name;
		}
	}
	return typed;
}

/* How many options start with the @len characters at @s. */
static unsigned int options_with_prefix(const char *s, size_t len)
{
	const struct option *o;
	unsigned int n = 0;

	for (o = run_options; o->name; o++)
		n += !strncmp(o->name, s, len);
	return n;
}

/* getopt returned '?' for @typed (argv[optind - 1]): say which mistake it is. */
static void report_bad_option(const char *typed)
{
	if (optopt >= OPT_KERNEL) {
		/* a known long option that takes no value was given one */
		kv_err("%s takes no value; " SEE_HELP, option_name(optopt, typed));
	} else if (optopt) {
		/* kv_err() escapes it if it is a control character */
		kv_err("unknown option '-%c'; " SEE_HELP, optopt);
	} else if (!strncmp(typed, "--", 2) &&
		   options_with_prefix(typed + 2, strcspn(typed + 2, "=")) > 1) {
		kv_err("'%s' is ambiguous: it starts several options; " SEE_HELP, typed);
	} else if (!KVMINI_HAVE_NET && !strncmp(typed, "--net", 5) &&
		   (!typed[5] || typed[5] == '=')) {
		kv_err("--net: this kvmini is built without networking (-Dnet=disabled); "
		       SEE_HELP);
	} else {
		kv_err("unknown option '%s'; " SEE_HELP, typed);
	}
}

static int bad_size(const char *opt, const char *val, int err)
{
	if (err == -ERANGE)
		kv_err("%s %s: size too large", opt, val);
	else
		kv_err("%s %s: not a size; use a positive number with an optional "
		       "K, M, G or T suffix, e.g. 256M", opt, val);
	return -EINVAL;
}

#define MAX_TIMEOUT_S (366ULL * 24 * 3600)

/* Seconds, with an optional fraction: "30", "2.5". */
static int parse_timeout(const char *s, uint64_t *ms)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (!isdigit((unsigned char)s[0]) || *end || errno || !(v > 0) || v > MAX_TIMEOUT_S) {
		kv_err("--timeout %s: use a number of seconds greater than 0, e.g. 30 or 2.5", s);
		return -EINVAL;
	}
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

static int parse_exit_port(const char *s, int *port)
{
	unsigned long v;
	char *end;

	if (!strcmp(s, "none")) {
		*port = -1;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (!isdigit((unsigned char)s[0]) || *end || errno || v > 0xfffc) {
		kv_err("--exit-port %s: use none or an I/O port number such as 0xf4", s);
		return -EINVAL;
	}
	*port = (int)v;
	return 0;
}

#define VOLUME_LIMIT_SYNTAX "use --volume-limit bytes=SIZE,entries=N,depth=N,time=SECONDS " \
	"(any of them)"
#define MAX_VOLUME_DEPTH 1000

static const char *const volume_limit_keys[] = { "bytes", "entries", "depth", "time" };

/* --volume-limit key @k (an index into volume_limit_keys) set to @v. */
static int set_volume_limit(void *obj, const char *arg, unsigned int k, const char *v,
			    size_t vlen, struct errmsg *err)
{
	struct vm_config *cfg = obj;
	char val[64];
	uint64_t n;

	if (!vlen || !keyval_copy(val, sizeof(val), v, vlen))
		goto bad;
	switch (k) {
	case 0:
		if (parse_size(val, &n))
			goto bad;
		cfg->volume_limits.bytes = n;
		break;
	case 1:
		if (parse_uint(val, 1, UINT32_MAX, &n))
			goto bad;
		cfg->volume_limits.entries = n;
		break;
	case 2:
		if (parse_uint(val, 1, MAX_VOLUME_DEPTH, &n))
			goto bad;
		cfg->volume_limits.depth = (unsigned int)n;
		break;
	case 3: {
		char *end;
		double sec;

		errno = 0;
		sec = strtod(val, &end);
		if (!isdigit((unsigned char)val[0]) || *end || errno || !(sec > 0) ||
		    sec > MAX_TIMEOUT_S)
			goto bad;
		cfg->volume_limits.time_ms = (uint64_t)(sec * 1000.0 + 0.5) ?: 1;
		break;
	}
	}
	return 0;
bad:
	return errmsg_set(err, -EINVAL, "%s: %s=%.*s: bytes takes a size such as 8G, entries a "
			  "number, depth a number from 1 to %d, time seconds", arg,
			  volume_limit_keys[k], (int)vlen, v, MAX_VOLUME_DEPTH);
}

bool config_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n > CONFIG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int config_parse_volume_limit(struct unpack_limits *lim, const char *arg)
{
	struct vm_config cfg;
	struct errmsg err;

	cfg.volume_limits = *lim;
	if (keyval_parse(arg, volume_limit_keys, ARRAY_SIZE(volume_limit_keys),
			 VOLUME_LIMIT_SYNTAX, set_volume_limit, &cfg, &err) < 0) {
		kv_err("--volume-limit %s", err.msg);
		return -EINVAL;
	}
	*lim = cfg.volume_limits;
	return 0;
}

/* --volume DIR[:ro|:rw]: DIR must be an existing directory. */
static int parse_volume(struct vm_config *cfg, const char *arg)
{
	size_t len = strlen(arg);
	struct stat st;

	if (cfg->volume[0]) {
		kv_err("--volume %s: kvmini takes one --volume; put the files in one directory",
		       arg);
		return -EINVAL;
	}
	cfg->volume_ro = false;
	if (len >= 3 && (!strcmp(arg + len - 3, ":ro") || !strcmp(arg + len - 3, ":rw"))) {
		cfg->volume_ro = arg[len - 2] == 'r' && arg[len - 1] == 'o';
		len -= 3;
	}
	if (!len) {
		kv_err("--volume: no directory given; use --volume DIR or --volume DIR:ro");
		return -EINVAL;
	}
	if (!keyval_copy(cfg->volume, sizeof(cfg->volume), arg, len)) {
		kv_err("--volume %s: path too long", arg);
		return -EINVAL;
	}
	if (stat(cfg->volume, &st)) {
		kv_err("--volume %s: %s: %s; give an existing directory", arg, cfg->volume,
		       strerror(errno));
		cfg->volume[0] = 0;
		return -EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		kv_err("--volume %s: %s is not a directory; --volume takes a directory",
		       arg, cfg->volume);
		cfg->volume[0] = 0;
		return -EINVAL;
	}
	return 0;
}

int config_check_device(const struct vm_config *cfg, const char *type, const char *opts,
			struct errmsg *err)
{
	struct device_opt o = { type, opts };

	err->type = type;
	if (cfg->nr_devices == MAX_DEVICE_OPTS)
		return errmsg_set(err, -ENOSPC, "%s: kvmini takes at most %d device options",
				  opts, MAX_DEVICE_OPTS);
	return device_opt_check(cfg->devices, cfg->nr_devices, &o, err);
}

int config_add_device(struct vm_config *cfg, const char *type, const char *opts,
		      struct errmsg *err)
{
	int ret = config_check_device(cfg, type, opts, err);

	if (ret)
		return ret;
	cfg->devices[cfg->nr_devices++] = (struct device_opt){ type, opts };
	return 0;
}

void config_report(const struct errmsg *err)
{
	char label[40], line[ERRMSG_MAX + 256];

	if (!err->msg[0])
		return;		/* said already */
	if (err->type)
		snprintf(label, sizeof(label), "--%s", err->type);
	errmsg_render(err, err->type ? label : NULL, line, sizeof(line));
	kv_err("%s", line);
}

/* --user/--group NAME or number: checked for shape here, resolved at setup. */
static int parse_id_name(const char *opt, const char *s)
{
	const char *p;

	if (!*s) {
		kv_err("%s: empty name; give a name or a number", opt);
		return -EINVAL;
	}
	for (p = s; *p; p++)
		if (*p == ':' || *p == '/' || isspace((unsigned char)*p)) {
			kv_err("%s %s: not a valid name; give a name or a number", opt, s);
			return -EINVAL;
		}
	return 0;
}

int config_parse_run(struct vm_config *cfg, int argc, char **argv)
{
	uint64_t v;
	int c, ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->seccomp = KVMINI_HAVE_SECCOMP ? SECCOMP_ON : SECCOMP_OFF;
	cfg->memory = DEFAULT_MEMORY;
	cfg->memory_text = DEFAULT_MEMORY_TEXT;
	cfg->cpus = 1;
	cfg->on_reboot = ON_REBOOT_EXIT;
	cfg->exit_port = DEFAULT_EXIT_PORT;

	/* --config FILE: its lines stand where it was given (kvmini.conf(5)) */
	ret = conffile_expand(&argc, &argv);
	if (ret)
		return ret;
	build_options();
	/* 0, not 1: also drops what an earlier call left half-parsed ("-hv") */
	optind = 0;
	opterr = 0;
	/* leading ':': a missing value is reported as such, not as an unknown option */
	while ((c = getopt_long(argc, argv, "+:h", run_options, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL:
			cfg->kernel = optarg;
			break;
		case OPT_RESTORE:
			cfg->restore = optarg;
			break;
		case OPT_INITRD:
			if (cfg->nr_initrds == MAX_INITRDS) {
				kv_err("--initrd %s: kvmini takes at most %d --initrd files; pack some into one",
				       optarg, MAX_INITRDS);
				return -EINVAL;
			}
			cfg->initrds[cfg->nr_initrds++] = optarg;
			break;
		case OPT_CMDLINE:
			cfg->cmdline_extra = optarg;
			break;
		case OPT_MEMORY:
			ret = parse_size(optarg, &v);
			if (ret)
				return bad_size("--memory", optarg, ret);
			if (v < MIN_MEMORY && isdigit((unsigned char)optarg[strlen(optarg) - 1])) {
				kv_err("--memory %s: a number without a suffix is bytes, too few "
				       "for a guest (at least 2M); write %sM for %s MiB", optarg,
				       optarg, optarg);
				return -EINVAL;
			}
			if (v < MIN_MEMORY) {
				kv_err("--memory %s: too small; kvmini needs at least 2M", optarg);
				return -EINVAL;
			}
			if (v & 0xfff) {
				kv_err("--memory %s: not a multiple of 4K; use e.g. 256M", optarg);
				return -EINVAL;
			}
			cfg->memory = v;
			cfg->memory_text = optarg;
			break;
		case OPT_CPUS:
			ret = parse_uint(optarg, 1, MAX_CPUS_PARSE, &v);
			if (ret) {
				kv_err("--cpus %s: need a whole number from 1 to the host's KVM "
				       "maximum (see kvmini check)", optarg);
				return -EINVAL;
			}
			cfg->cpus = (unsigned int)v;
			break;
		case OPT_ON_REBOOT:
			if (!strcmp(optarg, "exit")) {
				cfg->on_reboot = ON_REBOOT_EXIT;
			} else if (!strcmp(optarg, "restart")) {
				cfg->on_reboot = ON_REBOOT_RESTART;
			} else {
				kv_err("--on-reboot %s: use exit or restart", optarg);
				return -EINVAL;
			}
			break;
		case OPT_VERBOSE:
			cfg->verbose = true;
			break;
		case OPT_STATS:
			cfg->stats = true;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &cfg->timeout_ms))
				return -EINVAL;
			break;
		case OPT_EXIT_PORT:
			if (parse_exit_port(optarg, &cfg->exit_port))
				return -EINVAL;
			break;
		case OPT_VOLUME:
			if (parse_volume(cfg, optarg))
				return -EINVAL;
			break;
		case OPT_VOLUME_LIMIT:
			if (config_parse_volume_limit(&cfg->volume_limits, optarg))
				return -EINVAL;
			break;
		case OPT_SECCOMP:
			if (!KVMINI_HAVE_SECCOMP && strcmp(optarg, "off")) {
				kv_err("--seccomp %s: this kvmini is built without seccomp "
				       "(-Dseccomp=disabled); only --seccomp off works", optarg);
				return -EINVAL;
			}
			if (!strcmp(optarg, "on")) {
				cfg->seccomp = SECCOMP_ON;
			} else if (!strcmp(optarg, "log")) {
				cfg->seccomp = SECCOMP_LOG;
			} else if (!strcmp(optarg, "off")) {
				cfg->seccomp = SECCOMP_OFF;
			} else {
				kv_err("--seccomp %s: use on, log or off", optarg);
				return -EINVAL;
			}
			break;
		case OPT_USER:
			if (parse_id_name("--user", optarg))
				return -EINVAL;
			cfg->user = optarg;
			break;
		case OPT_GROUP:
			if (parse_id_name("--group", optarg))
				return -EINVAL;
			cfg->group = optarg;
			break;
		case OPT_JAIL:
			if (!*optarg) {
				kv_err("--jail: empty path; give the directory to use as the root");
				return -EINVAL;
			}
			cfg->jail = optarg;
			break;
		case OPT_JAIL_NETNS:
			if (!*optarg) {
				kv_err("--jail-netns: use new, or the path of a network namespace");
				return -EINVAL;
			}
			cfg->jail_netns = optarg;
			break;
		case OPT_NAME:
			if (!config_name_valid(optarg)) {
				kv_err("--name '%s': use 1 to %d letters, digits, '.', '_' or '-', "
				       "not starting with '.' or '-'", optarg, CONFIG_NAME_MAX);
				return -EINVAL;
			}
			cfg->name = optarg;
			break;
		case OPT_PIDFILE:
			if (!*optarg) {
				kv_err("--pidfile: empty path; give the file to write the PID to");
				return -EINVAL;
			}
			cfg->pidfile = optarg;
			break;
		case OPT_REPORT:
			if (!KVMINI_HAVE_API) {
				kv_err("--report: kvmini is built without json-c (-Dapi=disabled); "
				       "use --stats");
				return -EINVAL;
			}
			if (!*optarg) {
				kv_err("--report: empty path; give the JSON file to write");
				return -EINVAL;
			}
			cfg->report = optarg;
			break;
		case OPT_API_SOCKET:
			if (!KVMINI_HAVE_API && strcmp(optarg, "none")) {
				kv_err("--api-socket %s: kvmini is built without the control plane "
				       "(-Dapi=disabled)", optarg);
				return -EINVAL;
			}
			if (!*optarg) {
				kv_err("--api-socket: empty path; give a socket path, or none");
				return -EINVAL;
			}
			cfg->api_socket = optarg;
			break;
		case OPT_TRANSPORT:
			if (!strcmp(optarg, "pci")) {
				cfg->transport = TRANSPORT_PCI;
			} else if (!strcmp(optarg, "mmio")) {
				cfg->transport = TRANSPORT_MMIO;
			} else {
				kv_err("--transport %s: use pci or mmio (mmio needs a guest kernel "
				       "with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_DEVICE ... OPT_DEVICE + MAX_USER_TYPES - 1: {
			struct errmsg err;

			if (config_add_device(cfg, user_types[c - OPT_DEVICE]->name, optarg, &err)) {
				config_report(&err);
				return -EINVAL;
			}
			break;
		}
		case OPT_HELP:
		case 'h':
			config_usage(stdout);
			return 1;
		case ':':
			kv_err("%s needs a value; " SEE_HELP, option_name(optopt, argv[optind - 1]));
			return -EINVAL;
		default:
			report_bad_option(argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc && optind > 0 && !strcmp(argv[optind - 1], "--")) {
		cfg->cmd_argv = &argv[optind];
		cfg->cmd_argc = argc - optind;
	} else if (optind < argc) {
		kv_err("unexpected argument '%s'; a command to run in the guest goes after --",
		       argv[optind]);
		return -EINVAL;
	}
	if (optind == argc && optind > 0 && !strcmp(argv[optind - 1], "--")) {
		kv_err("nothing after --; give the command to run in the guest");
		return -EINVAL;
	}
	if (cfg->restore && (cfg->kernel || cfg->nr_initrds || cfg->cmdline_extra ||
			     cfg->cmd_argv || cfg->on_reboot == ON_REBOOT_RESTART)) {
		kv_err("--restore %s: the snapshot holds the guest; drop %s", cfg->restore,
		       cfg->kernel ? "--kernel" : cfg->nr_initrds ? "--initrd" :
		       cfg->cmdline_extra ? "--cmdline" : cfg->cmd_argv ? "the command after --" :
		       "--on-reboot restart");
		return -EINVAL;
	}
	if (!cfg->kernel && !cfg->cmd_argv && !cfg->restore) {
		kv_err("no kernel given; use --kernel FILE, or -- CMD for the default guest; "
		       SEE_HELP);
		return -EINVAL;
	}
	if (cfg->jail_netns && !cfg->jail) {
		kv_err("--jail-netns %s works only with --jail DIR", cfg->jail_netns);
		return -EINVAL;
	}
	if (cfg->volume[0] && !cfg->cmd_argv) {
		kv_err("--volume %s works only with a command: kvmini run --volume DIR -- CMD",
		       cfg->volume);
		return -EINVAL;
	}
	return 0;
}
