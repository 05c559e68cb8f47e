/*
 * --volume and `kvmini unpack` in a build without them (-Dvolume=disabled):
 * the options still parse, so a command line means the same everywhere, but
 * using them says what this build lacks.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "vm.h"
#include "volume.h"

#define VOLUME_MISSING "this kvmini is built without --volume (-Dvolume=disabled)"

int volume_prepare(struct vm_config *cfg, struct volume_state *vs)
{
	memset(vs, 0, sizeof(*vs));
	vs->image_fd = -1;
	if (!cfg->volume[0])
		return 0;
	kv_err("--volume %s: " VOLUME_MISSING, cfg->volume);
	return -ENOTSUP;
}

void volume_close_fd(struct volume_state *vs)
{
	(void)vs;
}

int volume_finish(struct volume_state *vs, bool ran, bool reported)
{
	(void)vs, (void)ran, (void)reported;
	return 0;
}

int cmd_unpack(int argc, char **argv)
{
	(void)argc, (void)argv;
	kv_err("unpack: " VOLUME_MISSING);
	return EXIT_ERROR;
}
