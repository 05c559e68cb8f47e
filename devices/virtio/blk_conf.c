/* The disk type's options: path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=NAME]. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "blk.h"
#include "keyval.h"
#include "util.h"

#define DISK_SYNTAX "use path=FILE[,format=raw|qcow2][,readonly=on][,snapshot=on][,id=NAME]"

static bool valid_disk_id(const char *id)
{
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && !strchr("._-", *id))
			return false;
	return true;
}

static const char *const disk_keys[] = { "path", "readonly", "id", "format", "snapshot" };

static int set_on_off(bool *b, const char *arg, const char *key, const char *v, size_t vlen,
		      struct errmsg *err)
{
	if (keyval_is(v, vlen, "on"))
		*b = true;
	else if (keyval_is(v, vlen, "off"))
		*b = false;
	else
		return errmsg_set(err, -EINVAL, "%s: %s=%.*s: use %s=on or %s=off", arg, key,
				  (int)vlen, v, key, key);
	return 0;
}

/* Key @k (an index into disk_keys) set to the @vlen bytes at @v. */
static int set_disk_key(void *obj, const char *arg, unsigned int k, const char *v, size_t vlen,
			struct errmsg *err)
{
	struct disk_config *d = obj;

	switch (k) {
	case 0:
		if (!vlen)
			return errmsg_set(err, -EINVAL, "%s: empty path; " DISK_SYNTAX, arg);
		if (!keyval_copy(d->path, sizeof(d->path), v, vlen))
			return errmsg_set(err, -EINVAL, "%s: path too long", arg);
		break;
	case 1:
		return set_on_off(&d->readonly, arg, "readonly", v, vlen, err);
	case 2:
		if (!vlen || !keyval_copy(d->id, sizeof(d->id), v, vlen) || !valid_disk_id(d->id))
			return errmsg_set(err, -EINVAL, "%s: id=%.*s: use 1 to %d letters, digits, "
					  "'.', '_' or '-'", arg, (int)vlen, v, DISK_ID_MAX);
		break;
	case 3:
		if (keyval_is(v, vlen, "raw"))
			d->format = DISK_FORMAT_RAW;
		else if (keyval_is(v, vlen, "qcow2"))
			d->format = DISK_FORMAT_QCOW2;
		else
			return errmsg_set(err, -EINVAL, "%s: format=%.*s: use format=raw or "
					  "format=qcow2", arg, (int)vlen, v);
		break;
	case 4:
		return set_on_off(&d->snapshot, arg, "snapshot", v, vlen, err);
	}
	return 0;
}

int disk_config_parse(void *conf, const char *opts, struct errmsg *err)
{
	int ret;

	if (!*opts)
		return errmsg_set(err, -EINVAL, ": no image given; " DISK_SYNTAX);
	ret = keyval_parse(opts, disk_keys, ARRAY_SIZE(disk_keys), DISK_SYNTAX, set_disk_key,
			   conf, err);
	if (ret < 0)
		return ret;
	if (!(ret & 1))
		return errmsg_set(err, -EINVAL, "%s: no image given; " DISK_SYNTAX, opts);
	return 0;
}

/*
 * Whether two paths name one file: the same string, or the same
 * st_dev/st_ino (disk.img and ./disk.img, links). Else the second open
 * would fail on the first one's lock, as if another process held it.
 */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	if (stat(a, &sa) || stat(b, &sb))
		return false;	/* a missing image gets its own message when opened */
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int disk_config_conflicts(const void *prev, const void *conf, const char *opts,
			  struct errmsg *err)
{
	const struct disk_config *p = prev, *d = conf;

	if (same_file(p->path, d->path))
		return errmsg_set(err, -EEXIST, "path=%s and " ERRMSG_TYPE " path=%s are the same "
				  "file; one image can be one disk only: give it once",
				  p->path, d->path);
	if (d->id[0] && !strcmp(p->id, d->id))
		return errmsg_set(err, -EEXIST, "%s: id=%s is already taken by another "
				  ERRMSG_TYPE, opts, d->id);
	return 0;
}
