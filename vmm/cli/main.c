/* kvmini: a small KVM virtual machine monitor. Subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "kvmini-features.h"
#include "log.h"
#include "qemu.h"
#include "run.h"
#include "snapdisk.h"
#include "stat.h"
#include "vm.h"
#include "volume.h"

#ifndef KVMINI_VERSION
#define KVMINI_VERSION "0.1.0"
#endif

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (qemu_invoked_as(argv[0]))
		return cmd_qemu(argc, argv);
	if (!cmd) {
		kv_err("no command given; use kvmini run, kvmini check, or 'kvmini help'");
		return EXIT_ERROR;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "qemu"))
		return cmd_qemu(argc - 1, argv + 1);
	if (!strcmp(cmd, "unpack"))
		return cmd_unpack(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot-disk"))
		return cmd_snapshot_disk(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "stat"))
		return cmd_stat(argc - 1, argv + 1);
	if (!strcmp(cmd, "info") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume") ||
	    !strcmp(cmd, "stop"))
		return cmd_control(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		config_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("kvmini %s\n", KVMINI_VERSION);
		printf("built with: %s\n", KVMINI_FEATURES_ON[0] ? KVMINI_FEATURES_ON : "-");
		printf("built without: %s\n", KVMINI_FEATURES_OFF[0] ? KVMINI_FEATURES_OFF : "-");
		return 0;
	}
	kv_err("unknown command '%s'; the commands are run, qemu, list, info, pause, resume, "
	       "stop, stat, snapshot, snapshot-disk, check, unpack, help and version", cmd);
	return EXIT_ERROR;
}
