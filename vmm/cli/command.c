/*
 * `kvmini run -- CMD`. The guest's init (kvmini-mkguest) finds the command
 * as kvmini.exec=BASE64(shell words) on its command line, runs it with
 * stdout on ttyS0 and stderr on ttyS1 (COM2, which kvmini opens only in
 * this mode, onto its own stderr), then writes the exit status to the exit
 * device, which reports it unchanged in this mode. With --volume
 * (vmm/cli/volume.c) it also gets kvmini.volume=rw or kvmini.volume=ro: mount
 * the disk whose serial is kvmini-volume at /volume and run the command
 * there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "log.h"
#include "util.h"

/* Linux x86 takes 2048 bytes of command line; leave room for the rest. */
#define MAX_EXEC_B64 1536

#define EXEC_CMDLINE "quiet loglevel=1 8250.nr_uarts=2 kvmini.exec="

static char *default_guest_dir(void)
{
	const char *env = getenv("KVMINI_GUEST_DIR"), *cache = getenv("KVMINI_CACHE");
	const char *home = getenv("HOME");
	char *dir = NULL;
	int n;

	if (env && *env)
		return strdup(env);
	if (cache && *cache)
		n = asprintf(&dir, "%s/default", cache);
	else
		n = asprintf(&dir, "%s/.cache/kvmini/default", home ? home : "");
	return n < 0 ? NULL : dir;
}

static int guest_file(const char *dir, const char *name, const char *opt, char **out)
{
	if (asprintf(out, "%s/%s", dir, name) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	if (access(*out, R_OK) == 0)
		return 0;
	kv_err("no %s given and no default guest %s: run kvmini-mkguest to build it "
	       "(tools/mkguest in a source tree; or set KVMINI_GUEST_DIR, or give %s)",
	       opt, *out, opt);
	return -ENOENT;
}

int command_prepare(struct vm_config *cfg, struct command_state *st)
{
	char *words, *b64 = NULL;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!cfg->kernel || !cfg->nr_initrds) {
		st->guest_dir = default_guest_dir();
		if (!st->guest_dir)
			return -ENOMEM;
	}
	if (!cfg->kernel) {
		ret = guest_file(st->guest_dir, "vmlinuz", "--kernel", &st->kernel);
		if (ret)
			return ret;
		cfg->kernel = st->kernel;
	}
	if (!cfg->nr_initrds) {
		ret = guest_file(st->guest_dir, "initramfs.cpio", "--initrd", &st->initrd);
		if (ret)
			return ret;
		cfg->initrds[0] = st->initrd;
		cfg->nr_initrds = 1;
	}

	words = shell_join(cfg->cmd_argv, cfg->cmd_argc);
	if (words)
		b64 = base64_encode((const uint8_t *)words, strlen(words));
	free(words);
	if (!b64)
		return -ENOMEM;
	if (strlen(b64) > MAX_EXEC_B64) {
		kv_err("the command after -- is too long for the guest's command line "
		       "(%zu bytes encoded, at most %d); put it in a script inside the guest",
		       strlen(b64), MAX_EXEC_B64);
		free(b64);
		return -E2BIG;
	}
	ret = asprintf(&st->cmdline, "%s%s%s%s%s", EXEC_CMDLINE, b64,
		       !cfg->volume[0] ? "" : cfg->volume_ro ? " kvmini.volume=ro" :
		       " kvmini.volume=rw",
		       cfg->cmdline_extra ? " " : "",
		       cfg->cmdline_extra ? cfg->cmdline_extra : "");
	free(b64);
	if (ret < 0) {
		st->cmdline = NULL;
		return -ENOMEM;
	}
	cfg->cmdline_extra = st->cmdline;
	cfg->stderr_console = true;
	cfg->exit_raw = true;
	return 0;
}

void command_release(struct command_state *st)
{
	free(st->guest_dir);
	free(st->kernel);
	free(st->initrd);
	free(st->cmdline);
	memset(st, 0, sizeof(*st));
}
