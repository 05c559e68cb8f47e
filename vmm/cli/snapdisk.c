/*
 * kvmini snapshot-disk --image FILE [--format raw|qcow2] --file NEW: the
 * offline mode, for an image no VM uses. NEW becomes a qcow2 overlay whose
 * backing file is FILE (its absolute path, and its format recorded), so
 * FILE stays as it is now while NEW takes the writes. A running VM's disk
 * is switched by blk_disk_snapshot(), through the API.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "config.h"
#include "errmsg.h"
#include "log.h"
#include "client.h"
#include "snapdisk.h"
#include "vm.h"

#define SNAPDISK_USAGE "use kvmini snapshot-disk NAME [--disk DISK] [--file NEW.qcow2] " \
		       "(a running VM) or kvmini snapshot-disk --image FILE [--format raw|qcow2] " \
		       "--file NEW.qcow2 (a stopped image)"

static int snapshot_offline(const char *image, const char *fmt, const char *file,
			    struct errmsg *e)
{
	struct qcow2_layer *base;
	char real[PATH_MAX];
	int fd, ret;

	if (!realpath(image, real))
		return errmsg_set(e, -errno, "--image %s: %s", image, strerror(errno));
	/* read-only and locked shared: refused while a VM or QEMU writes it */
	ret = qcow2_layer_open(&base, real, fmt, QCOW2_MAX_DEPTH, e);
	if (ret)
		return ret;
	if (base->size % 512 || !base->size) {
		ret = errmsg_set(e, -EINVAL, "--image %s: size %llu is 0 or not a multiple of "
				 "512 bytes", image, (unsigned long long)base->size);
		goto out;
	}
	fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = errmsg_set(e, -errno, "--file %s: cannot create it: %s%s", file,
				 strerror(errno), errno == EEXIST ? "; give a new file" : "");
		goto out;
	}
	ret = qcow2_create(fd, base->size, real, base->q ? "qcow2" : "raw", e);
	if (close(fd) < 0 && !ret)
		ret = errmsg_set(e, -errno, "--file %s: %s", file, strerror(errno));
	if (ret)
		unlink(file);
out:
	qcow2_layer_close(base);
	return ret;
}

int cmd_snapshot_disk(int argc, char **argv)
{
	const char *image = NULL, *file = NULL, *fmt = NULL, *name = NULL, *disk = NULL;
	struct errmsg e;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			if (name) {
				kv_err("snapshot-disk: %s: one VM name at most; " SNAPDISK_USAGE, a);
				return EXIT_ERROR;
			}
			name = a;
			continue;
		}
		if (!v || (strcmp(a, "--image") && strcmp(a, "--file") && strcmp(a, "--format") &&
			   strcmp(a, "--disk"))) {
			kv_err("snapshot-disk: %s %s; " SNAPDISK_USAGE, a,
			       v ? "is not an option" : "needs a value");
			return EXIT_ERROR;
		}
		i++;
		if (!strcmp(a, "--image"))
			image = v;
		else if (!strcmp(a, "--file"))
			file = v;
		else if (!strcmp(a, "--disk"))
			disk = v;
		else if (!strcmp(v, "raw") || !strcmp(v, "qcow2"))
			fmt = v;
		else {
			kv_err("snapshot-disk: --format %s: use raw or qcow2", v);
			return EXIT_ERROR;
		}
	}
	if (name) {
		if (image || fmt) {
			kv_err("snapshot-disk %s: %s is for a stopped image, not a running VM; "
			       SNAPDISK_USAGE, name, image ? "--image" : "--format");
			return EXIT_ERROR;
		}
		return client_snapshot_disk(name, disk, file);
	}
	if (disk) {
		kv_err("snapshot-disk: --disk picks a running VM's disk: give the VM's name; "
		       SNAPDISK_USAGE);
		return EXIT_ERROR;
	}
	if (!image || !file) {
		kv_err("snapshot-disk: %s missing; " SNAPDISK_USAGE, !image ? "--image or a VM name" :
		       "--file");
		return EXIT_ERROR;
	}
	if (snapshot_offline(image, fmt, file, &e)) {
		kv_err("snapshot-disk: %s", e.msg);
		return EXIT_ERROR;
	}
	printf("%s: a qcow2 overlay over %s; use it as --disk path=%s,format=qcow2\n", file,
	       image, file);
	return 0;
}
