/* `kvmini run -- CMD`: a VM that behaves like a process. */
#ifndef KVMINI_COMMAND_H
#define KVMINI_COMMAND_H

#include "config.h"

struct command_state {
	char *guest_dir;
	char *kernel;
	char *initrd;
	char *cmdline;
};

/*
 * For a run with a command after "--": pick the default guest of
 * tools/mkguest where --kernel/--initrd are absent, and put the command on
 * the guest's command line with the options its init understands. Fills
 * @cfg (pointing into @st). 0, or -errno after one kv_err() line.
 */
int command_prepare(struct vm_config *cfg, struct command_state *st);
void command_release(struct command_state *st);

#endif
