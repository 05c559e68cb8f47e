/* `kvmini run --volume DIR[:ro] -- CMD`: a host directory as the guest's /volume. */
#ifndef KVMINI_VOLUME_H
#define KVMINI_VOLUME_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "config.h"
#include "unpack.h"

#define VOLUME_DISK_ID "kvmini-volume"

struct volume_state {
	bool active;
	bool readonly;
	bool had_lost_found;	/* DIR had a lost+found of its own */
	char dir[PATH_MAX];	/* DIR, resolved */
	struct stat dir_st;	/* DIR's mode and owner, restored on the new copy */
	char image[PATH_MAX];	/* the ext4 image in $TMPDIR */
	int image_fd;		/* open while the disk's path is /proc/self/fd/N, else -1 */
	char disk_opts[PATH_MAX + 64];	/* the disk it becomes: path=IMAGE,... */
	struct unpack_limits limits;	/* for the copy-back */
};

/*
 * Pack cfg->volume into a fresh ext4 image and append it to cfg's device
 * options as one more disk (serial kvmini-volume). No-op without --volume. 0, or -errno after one
 * kv_err() line.
 */
int volume_prepare(struct vm_config *cfg, struct volume_state *vs);
/* The image's descriptor is no longer needed: the disk has opened the image. */
void volume_close_fd(struct volume_state *vs);

/*
 * After the run. @ran: the guest was started; @reported: it reported the
 * command's status through the exit device (a normal end). Copies a
 * read-write volume back into DIR only then, atomically swapping the
 * directories; otherwise leaves DIR as it was, keeps the image and says
 * where it is. Returns 0; VOLUME_REFUSED when the guest's tree crossed a
 * --volume-limit or held an entry kvmini will not create; -1 when the
 * changes could not be copied back for another reason (after saying so).
 */
#define VOLUME_REFUSED 1
int volume_finish(struct volume_state *vs, bool ran, bool reported);

/* `kvmini unpack [--volume-limit ...] IMAGE DEST`; returns the exit status. */
int cmd_unpack(int argc, char **argv);

#endif
