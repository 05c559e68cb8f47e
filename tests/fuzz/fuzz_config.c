/*
 * libFuzzer harness for `kvmini run` option parsing (vmm/cli/config.c): the
 * input, split at NUL bytes, is the argument list after "run".
 */
#include <stdbool.h>

#include "config.h"
#include "fuzz.h"
#include "virtio/blk.h"
#include "virtio/net.h"

#define MAX_ARGS	64

/* What a parse decided, with strings copied out: compared between two parses. */
struct outcome {
	int ret;
	struct vm_config cfg;	/* pointers cleared */
	char kernel[64], cmd0[64], memory_text[64], name[80], pidfile[64], api_socket[64];
	char report[64], restore[64];
	char devices[MAX_DEVICE_OPTS][64];	/* the device options' text */
};

static void copy_str(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "(null)");
}

/* Checks on a successful parse; pointers into @argv are then cleared. */
static void check_config(struct vm_config *cfg, char **argv, int argc)
{
	unsigned int i, nr_disks = 0, nr_nets = 0;
	struct disk_config d;
	struct net_config n;
	int k;

	FUZZ_CHECK(cfg->kernel || cfg->cmd_argv || cfg->restore);
	FUZZ_CHECK(cfg->memory >= (2ULL << 20) && !(cfg->memory & 0xfff));
	FUZZ_CHECK(cfg->cpus >= 1);
	FUZZ_CHECK(cfg->exit_port >= -1 && cfg->exit_port <= 0xffff);
	for (i = 0; i < cfg->nr_devices; i++) {
		const struct device_opt *o = &cfg->devices[i];

		if (!strcmp(o->type, "disk")) {
			FUZZ_CHECK(device_opt_parse(o, &d, NULL) == 0);
			FUZZ_CHECK(d.path[0]);
			FUZZ_CHECK(strlen(d.id) <= DISK_ID_MAX);
			nr_disks++;
		} else if (!strcmp(o->type, "device")) {
			FUZZ_CHECK(!strcmp(o->opts, "pc-testdev") || !strcmp(o->opts, "pci-testdev"));
		} else {
			FUZZ_CHECK(!strcmp(o->type, "net"));
			FUZZ_CHECK(device_opt_parse(o, &n, NULL) == 0);
			FUZZ_CHECK(n.tap[0] && strlen(n.tap) <= NET_IFNAME_MAX);
			nr_nets++;
		}
	}
	FUZZ_CHECK(cfg->nr_initrds <= MAX_INITRDS && nr_disks <= MAX_DISKS &&
		   nr_nets <= MAX_NETS);
	if (cfg->cmd_argv) {
		FUZZ_CHECK(cfg->cmd_argc > 0 && cfg->cmd_argv + cfg->cmd_argc == argv + argc);
		for (k = 0; k < cfg->cmd_argc; k++)
			FUZZ_CHECK(cfg->cmd_argv[k] != NULL);
	}
}

/*
 * Parse the input as a fresh argument vector @argv (freed by the caller,
 * so that a later parse could still read it); @o gets the outcome.
 * Returns argc.
 */
static int parse_once(const uint8_t *data, size_t size, char **argv, struct outcome *o)
{
	size_t pos = 0;
	int argc = 1;

	/* each argument its own allocation, so over-reads are caught */
	argv[0] = strdup("run");
	FUZZ_CHECK(argv[0]);
	while (pos < size && argc <= MAX_ARGS) {
		const uint8_t *nul = memchr(data + pos, 0, size - pos);
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;

		argv[argc] = malloc(len + 1);
		FUZZ_CHECK(argv[argc]);
		memcpy(argv[argc], data + pos, len);
		argv[argc][len] = 0;
		argc++;
		pos += len + 1;
	}
	argv[argc] = NULL;

	memset(o, 0, sizeof(*o));
	o->ret = config_parse_run(&o->cfg, argc, argv);
	FUZZ_CHECK(o->ret == 0 || o->ret == 1 || o->ret < 0);
	if (o->ret == 0)
		check_config(&o->cfg, argv, argc);
	/* keep what can be compared; the strings die with argv */
	copy_str(o->kernel, sizeof(o->kernel), o->cfg.kernel);
	copy_str(o->memory_text, sizeof(o->memory_text), o->cfg.memory_text);
	copy_str(o->cmd0, sizeof(o->cmd0), o->cfg.cmd_argv ? o->cfg.cmd_argv[0] : NULL);
	copy_str(o->name, sizeof(o->name), o->cfg.name);
	copy_str(o->pidfile, sizeof(o->pidfile), o->cfg.pidfile);
	copy_str(o->api_socket, sizeof(o->api_socket), o->cfg.api_socket);
	copy_str(o->report, sizeof(o->report), o->cfg.report);
	o->cfg.report = NULL;
	copy_str(o->restore, sizeof(o->restore), o->cfg.restore);
	o->cfg.restore = NULL;
	if (o->ret == 0 && o->cfg.name)
		FUZZ_CHECK(config_name_valid(o->cfg.name) && !strchr(o->cfg.name, '/'));
	o->cfg.name = o->cfg.pidfile = o->cfg.api_socket = NULL;
	memset(o->cfg.initrds, 0, sizeof(o->cfg.initrds));
	for (unsigned int i = 0; i < o->cfg.nr_devices; i++) {
		copy_str(o->devices[i], sizeof(o->devices[i]), o->cfg.devices[i].opts);
		o->cfg.devices[i].opts = NULL;
	}
	o->cfg.kernel = o->cfg.cmdline_extra = o->cfg.memory_text = NULL;
	o->cfg.user = o->cfg.group = o->cfg.jail = o->cfg.jail_netns = NULL;
	o->cfg.cmd_argv = NULL;
	return argc;
}

static void free_args(char **argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome first, second;	/* large (PATH_MAX per disk) */
	char *argv1[MAX_ARGS + 2], *argv2[MAX_ARGS + 2];
	int argc1, argc2;

	/* parsing must not depend on what an earlier parse left behind */
	argc1 = parse_once(data, size, argv1, &first);
	argc2 = parse_once(data, size, argv2, &second);
	free_args(argv1, argc1);
	free_args(argv2, argc2);
	FUZZ_CHECK(first.ret == second.ret);
	FUZZ_CHECK(!strcmp(first.kernel, second.kernel) && !strcmp(first.cmd0, second.cmd0));
	FUZZ_CHECK(!strcmp(first.memory_text, second.memory_text));
	FUZZ_CHECK(!strcmp(first.name, second.name) && !strcmp(first.pidfile, second.pidfile) &&
		   !strcmp(first.api_socket, second.api_socket) &&
		   !strcmp(first.report, second.report) &&
		   !strcmp(first.restore, second.restore));
	FUZZ_CHECK(!memcmp(&first.cfg, &second.cfg, sizeof(first.cfg)));
	FUZZ_CHECK(!memcmp(first.devices, second.devices, sizeof(first.devices)));
	return 0;
}
