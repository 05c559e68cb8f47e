/*
 * `kvmini qemu ARGS` (also kvmini started as qemu-kvm or kvm): QEMU's
 * command line for what kvmini has, translated into one `kvmini run`
 * argv so both share config_parse_run() and cmd_run(). What kvmini lacks,
 * including an option value, is refused in one line, with QEMU's status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmini-features.h"
#include "log.h"
#include "qemu.h"
#include "run.h"
#include "util.h"
#include "vm.h"

#define QEMU_COMPAT_VERSION "7.2.0"	/* Debian 12's QEMU, whose options these are */

#define QEMU_EXIT_USAGE 1		/* QEMU's status for a bad command line */
#define QEMU_DEFAULT_MEMORY (128ULL << 20)
#define QEMU_MAX_ARGS 160
#define QEMU_MAX_DRIVES 16
#define QEMU_MAX_NETS 16
#define QEMU_MAX_DEVICES 32
#define QEMU_MAX_CHARDEVS 8
#define QKV_MAX 16
#define QKV_VAL_MAX PATH_MAX

/*
 * kvmini run options that came from other branches: a QEMU option that
 * needs one was refused until it was merged (.ready). All are in now;
 * tests/unit/vmm/test_qemu.c checks the words each one gives.
 */
enum pending_feature { PEND_NAME, PEND_PIDFILE, PEND_SNAPSHOT, PEND_QCOW2 };

static const struct {
	const char *qemu;	/* what QEMU takes */
	const char *kvmini;	/* what it becomes */
	bool ready;
} pending[] = {
	[PEND_NAME] = { "-name NAME", "--name NAME", true },
	[PEND_PIDFILE] = { "-pidfile FILE", "--pidfile FILE", true },
	[PEND_SNAPSHOT] = { "-snapshot, -drive snapshot=on", "--disk ...,snapshot=on", true },
	[PEND_QCOW2] = { "-drive format=qcow2", "--disk ...,format=qcow2", true },
};

/* One KEY=VALUE of a QEMU option list; ",," in a value is a comma. */
struct qkv {
	char key[32];
	char val[QKV_VAL_MAX];
};

struct qemu_drive {
	char *id;		/* NULL: none */
	char *file;
	bool virtio;		/* if=virtio: a disk of its own; else if=none, for a -device */
	bool readonly, snapshot, qcow2, raw, used;
	char *what;		/* "-drive ARG", for messages */
};

struct qemu_netdev {
	char *id;
	char *ifname;
	bool vhost;
	bool used;
};

enum qdev_kind { QDEV_BLK, QDEV_NET };

/* A -device or -nic that becomes a --disk or --net, in command-line order. */
struct qemu_device {
	enum qdev_kind kind;
	char *ref;		/* drive= or netdev= (NULL: the -nic's own netdev) */
	char *serial;		/* virtio-blk serial= */
	char *mac;
	int nic_netdev;		/* -nic: index into netdevs, else -1 */
	char *what;
};

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NULL };

/* -chardev BACKEND,id=ID,...: what -serial chardev:ID and -mon chardev=ID name. */
struct qemu_chardev {
	char *id;
	enum serial_mode mode;
	char *path;		/* file */
};

struct qemu {
	const char *kernel, *initrd, *append;
	uint64_t memory;
	unsigned int cpus;
	bool no_reboot, nodefaults, print;
	bool serial_given;	/* a -serial that gives the guest COM1 */
	bool serial_none;	/* -serial none: none from that one */
	enum serial_mode serial;
	const char *serial_file;
	char *serial_chardev;	/* -serial chardev:ID, resolved in translate() */
	char *mon_chardev;	/* -mon chardev=ID: must exist */
	struct qemu_chardev chardevs[QEMU_MAX_CHARDEVS];
	unsigned int nr_chardevs;
	bool mmio_machine;	/* -M microvm: virtio-mmio, as QEMU's microvm */
	const char *transport_by;	/* the option that chose a transport, or NULL */
	bool transport_mmio;
	int exit_port;		/* -1: no isa-debug-exit */
	bool pc_testdev, pci_testdev;
	char *name;
	const char *pidfile;
	bool snapshot;
	struct qemu_drive drives[QEMU_MAX_DRIVES];
	unsigned int nr_drives;
	struct qemu_netdev nets[QEMU_MAX_NETS];
	unsigned int nr_nets;
	struct qemu_device devs[QEMU_MAX_DEVICES];
	unsigned int nr_devs;
	/* the kvmini run argv being built; every string is ours */
	char *argv[QEMU_MAX_ARGS + 1];
	int argc;
};

/* The one line for whatever kvmini does not implement. */
static int not_implemented(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int not_implemented(const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	kv_err("%s: kvmini does not implement this; kvmini-qemu(1) lists what it does", what);
	return -1;
}

static int pending_check(enum pending_feature f, const char *what)
{
#ifdef KVMINI_QEMU_TEST_PENDING_READY
	(void)f;
	return 0;	/* tests/unit/vmm/test_qemu.c: the translations once merged */
#endif
	if (pending[f].ready)
		return 0;
	return not_implemented("%s", what);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		kv_err("out of memory");
		exit(EXIT_ERROR);
	}
	return d;
}

static int emit(struct qemu *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int emit(struct qemu *q, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (q->argc >= QEMU_MAX_ARGS) {
		kv_err("the QEMU command line is too long for kvmini (%d words at most)",
		       QEMU_MAX_ARGS);
		return -1;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		kv_err("out of memory");
		return -1;
	}
	q->argv[q->argc++] = s;
	q->argv[q->argc] = NULL;
	return 0;
}

/*
 * Split @s, QEMU's list "[IMPLIED,]KEY=VALUE,...", into @kv. A first item
 * without '=' gets the key "" when @implied; later ones mean KEY=on.
 * Returns the number of items, or -1 after a message naming @opt.
 */
static int qkv_split(const char *opt, const char *s, bool implied, struct qkv *kv)
{
	unsigned int n = 0;
	const char *p = s;

	for (;;) {
		char item[QKV_VAL_MAX + 40], *eq;
		size_t len = 0;

		while (*p) {
			if (*p == ',' && p[1] == ',') {
				p++;	/* an escaped comma */
			} else if (*p == ',') {
				break;
			}
			if (len + 1 >= sizeof(item)) {
				kv_err("%s %s: an item is too long", opt, s);
				return -1;
			}
			item[len++] = *p++;
		}
		item[len] = 0;
		if (n == QKV_MAX) {
			kv_err("%s %s: too many items (%d at most)", opt, s, QKV_MAX);
			return -1;
		}
		eq = strchr(item, '=');
		if (!eq && n == 0 && implied) {
			kv[n].key[0] = 0;
			snprintf(kv[n].val, sizeof(kv[n].val), "%s", item);
		} else if (!eq) {
			if (!item[0] || strlen(item) >= sizeof(kv[n].key)) {
				kv_err("%s %s: '%s' is not KEY=VALUE", opt, s, item);
				return -1;
			}
			snprintf(kv[n].key, sizeof(kv[n].key), "%s", item);
			snprintf(kv[n].val, sizeof(kv[n].val), "on");
		} else {
			*eq = 0;
			if (!item[0] || strlen(item) >= sizeof(kv[n].key)) {
				kv_err("%s %s: '%s' is not a key", opt, s, item);
				return -1;
			}
			snprintf(kv[n].key, sizeof(kv[n].key), "%s", item);
			snprintf(kv[n].val, sizeof(kv[n].val), "%s", eq + 1);
		}
		n++;
		if (!*p)
			return (int)n;
		p++;	/* the separating comma */
	}
}

static bool is_on(const char *v)
{
	return !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true");
}

static bool is_off(const char *v)
{
	return !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false");
}

/* An on/off value of @key in @opt; -1 after a message. */
static int parse_bool(const char *opt, const char *key, const char *v, bool *out)
{
	if (is_on(v)) {
		*out = true;
		return 0;
	}
	if (is_off(v)) {
		*out = false;
		return 0;
	}
	kv_err("%s %s=%s: use %s=on or %s=off", opt, key, v, key, key);
	return -1;
}

/* QEMU sizes: a bare number is MiB; K, M, G, T (either case), B for bytes; a fraction. */
static int qemu_size(const char *s, uint64_t *out)
{
	unsigned int shift = 20;
	long double v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtold(s, &end);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 0: break;
	case 'b': case 'B': shift = 0; end++; break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end)
		return -1;
	v *= (long double)(1ULL << shift);
	if (!(v >= 1) || v > (long double)(1ULL << 52))
		return -1;
	/* QEMU rounds RAM up to 8 KiB */
	*out = ALIGN_UP((uint64_t)(v + 0.5L), 8192);
	return 0;
}

static int opt_memory(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!kv[i].key[0] || !strcmp(kv[i].key, "size")) {
			if (qemu_size(kv[i].val, &q->memory)) {
				kv_err("%s %s: not a size; use e.g. 256 (MiB), 512M or 2G", opt, arg);
				return -1;
			}
		} else {
			return not_implemented("%s %s=%s", opt, kv[i].key, kv[i].val);
		}
	}
	return 0;
}

static int opt_smp(struct qemu *q, const char *opt, const char *arg)
{
	uint64_t cpus = 0, sockets = 0, cores = 1, threads = 1, maxcpus = 0, v;
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *k = kv[i].key;

		if (parse_uint(kv[i].val, 1, 4096, &v)) {
			kv_err("%s %s: %s%s%s is not a number of CPUs from 1 to 4096", opt, arg,
			       k, k[0] ? "=" : "", kv[i].val);
			return -1;
		}
		if (!k[0] || !strcmp(k, "cpus"))
			cpus = v;
		else if (!strcmp(k, "sockets"))
			sockets = v;
		else if (!strcmp(k, "cores"))
			cores = v;
		else if (!strcmp(k, "threads"))
			threads = v;
		else if (!strcmp(k, "maxcpus"))
			maxcpus = v;
		else
			return not_implemented("%s %s=%s", opt, k, kv[i].val);
	}
	/* kvmini's vCPUs are one core each, in a socket each */
	if (cores != 1 || threads != 1)
		return not_implemented("%s %s (cores or threads per socket above 1)", opt, arg);
	if (!cpus)
		cpus = sockets ? sockets : 1;
	if (sockets && sockets != cpus) {
		kv_err("%s %s: sockets=%llu does not match cpus=%llu", opt, arg,
		       (unsigned long long)sockets, (unsigned long long)cpus);
		return -1;
	}
	if (maxcpus && maxcpus != cpus)
		return not_implemented("%s %s (maxcpus above cpus: CPU hotplug)", opt, arg);
	q->cpus = (unsigned int)cpus;
	return 0;
}

static int opt_cpu(struct qemu *q, const char *opt, const char *arg)
{
	(void)q;
	/* with KVM both give the guest what KVM supports, as kvmini does */
	if (!strcmp(arg, "host") || !strcmp(arg, "max"))
		return 0;
	return not_implemented("%s %s", opt, arg);
}

/* "kvm:tcg" is KVM first, and KVM is all kvmini has */
static bool accel_is_kvm(const char *v)
{
	return !strcmp(v, "kvm") || !strncmp(v, "kvm:", 4);
}

static int opt_accel(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, true, kv);

	(void)q;
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (kv[i].key[0])
			return not_implemented("%s %s=%s", opt, kv[i].key, kv[i].val);
		if (!accel_is_kvm(kv[i].val))
			return not_implemented("%s %s", opt, kv[i].val);
	}
	return 0;
}

static int set_transport(struct qemu *q, bool mmio, const char *by)
{
	if (q->transport_by && q->transport_mmio != mmio)
		return not_implemented("%s with %s (virtio-pci and virtio-mmio devices in one VM)",
				       by, q->transport_by);
	q->transport_by = by;
	q->transport_mmio = mmio;
	return 0;
}

static int opt_machine(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;

		if (!k[0] || !strcmp(k, "type")) {
			/* the guest gets kvmini's board whichever PC QEMU would build */
			if (!strcmp(v, "microvm"))
				q->mmio_machine = true;
			else if (strcmp(v, "q35") && strcmp(v, "pc"))
				return not_implemented("%s %s", opt, v);
		} else if (!strcmp(k, "accel")) {
			if (!accel_is_kvm(v))
				return not_implemented("%s accel=%s", opt, v);
		} else {
			return not_implemented("%s %s=%s", opt, k, v);
		}
	}
	return 0;
}

/* -display, -vga, -vnc, -parallel, -net, -monitor: only "none", which kvmini is anyway. */
static int opt_none_only(struct qemu *q, const char *opt, const char *arg)
{
	(void)q;
	if (!strcmp(arg, "none"))
		return 0;
	return not_implemented("%s %s", opt, arg);
}

static int opt_serial(struct qemu *q, const char *opt, const char *arg)
{
	if (!strcmp(arg, "none")) {
		/* this -serial adds no port (virtme-ng's first one); a guest with none is refused */
		q->serial_none = true;
		return 0;
	}
	if (q->serial_given)
		return not_implemented("a second %s (%s): kvmini's guest has one serial console",
				       opt, arg);
	q->serial_given = true;
	if (!strncmp(arg, "chardev:", 8) && arg[8]) {
		q->serial_chardev = xstrdup(arg + 8);
	} else if (!strcmp(arg, "stdio") || !strcmp(arg, "mon:stdio")) {
		q->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "null")) {
		q->serial = SERIAL_NULL;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		q->serial = SERIAL_FILE;
		q->serial_file = arg + 5;
	} else {
		return not_implemented("%s %s", opt, arg);
	}
	return 0;
}

static struct qemu_chardev *find_chardev(struct qemu *q, const char *id)
{
	unsigned int i;

	for (i = 0; i < q->nr_chardevs; i++)
		if (!strcmp(q->chardevs[i].id, id))
			return &q->chardevs[i];
	return NULL;
}

/* -chardev stdio|file|null,id=ID[,path=][,signal=][,mux=] for the serial console. */
static int opt_chardev(struct qemu *q, const char *opt, const char *arg)
{
	struct qemu_chardev c = { 0 };
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, true, kv);
	bool b;

	if (n < 0)
		return -1;
	if (q->nr_chardevs == QEMU_MAX_CHARDEVS) {
		kv_err("%s %s: kvmini takes at most %d -chardev options", opt, arg,
		       QEMU_MAX_CHARDEVS);
		return -1;
	}
	if (!strcmp(kv[0].val, "stdio"))
		c.mode = SERIAL_STDIO;
	else if (!strcmp(kv[0].val, "file"))
		c.mode = SERIAL_FILE;
	else if (!strcmp(kv[0].val, "null"))
		c.mode = SERIAL_NULL;
	else
		return not_implemented("%s %s", opt, kv[0].val);
	for (i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;

		if (!strcmp(k, "id") && v[0] && !c.id) {
			c.id = xstrdup(v);
		} else if (!strcmp(k, "path") && c.mode == SERIAL_FILE && v[0] && !c.path) {
			c.path = xstrdup(v);
		} else if (!strcmp(k, "signal") || !strcmp(k, "mux")) {
			/* host side: kvmini passes ^C to the guest and multiplexes nothing */
			if (parse_bool(opt, k, v, &b))
				goto err;
		} else {
			not_implemented("%s %s,%s=%s", opt, kv[0].val, k, v);
			goto err;
		}
	}
	if (!c.id || (c.mode == SERIAL_FILE && !c.path)) {
		kv_err("%s %s: give id=%s", opt, arg, c.mode == SERIAL_FILE ? " and path=" : "");
		goto err;
	}
	if (find_chardev(q, c.id)) {
		kv_err("%s %s: id=%s is taken by another -chardev", opt, arg, c.id);
		goto err;
	}
	q->chardevs[q->nr_chardevs++] = c;
	return 0;
err:
	free(c.id);
	free(c.path);
	return -1;
}

/* -mon chardev=ID: kvmini has no monitor; Ctrl-A x still ends it. */
static int opt_mon(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, false, kv);

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!strcmp(kv[i].key, "chardev") && !q->mon_chardev) {
			q->mon_chardev = xstrdup(kv[i].val);
		} else if (!strcmp(kv[i].key, "mode") &&
			   (!strcmp(kv[i].val, "readline") || !strcmp(kv[i].val, "control"))) {
			continue;
		} else {
			return not_implemented("%s %s=%s", opt, kv[i].key, kv[i].val);
		}
	}
	if (!q->mon_chardev) {
		kv_err("%s %s: no chardev=", opt, arg);
		return -1;
	}
	return 0;
}

/* -echr: kvmini's escape character is Ctrl-A (1), QEMU's default too. */
static int opt_echr(struct qemu *q, const char *opt, const char *arg)
{
	(void)q;
	if (!strcmp(arg, "1") || !strcmp(arg, "0x01") || !strcmp(arg, "0x1"))
		return 0;
	return not_implemented("%s %s (kvmini's console escape is Ctrl-A, -echr 1)", opt, arg);
}

static int opt_drive(struct qemu *q, const char *opt, const char *arg)
{
	const char *iface = NULL;
	struct qemu_drive d = { 0 };
	struct qkv kv[QKV_MAX];
	int i, n = qkv_split(opt, arg, false, kv);

	if (n < 0)
		return -1;
	if (q->nr_drives == QEMU_MAX_DRIVES) {
		kv_err("%s %s: kvmini takes at most %d -drive options", opt, arg, QEMU_MAX_DRIVES);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;

		if (!strcmp(k, "file")) {
			if (!v[0] || strchr(v, ',')) {
				not_implemented("%s file=%s (an empty name, or a comma in it)", opt, v);
				goto err;
			}
			free(d.file);	/* the last one counts, as in QEMU */
			d.file = xstrdup(v);
		} else if (!strcmp(k, "if")) {
			iface = kv[i].val;
			if (strcmp(iface, "virtio") && strcmp(iface, "none"))
				goto refuse;
			d.virtio = !strcmp(iface, "virtio");
		} else if (!strcmp(k, "format")) {
			if (!strcmp(v, "qcow2"))
				d.qcow2 = true;
			else if (!strcmp(v, "raw"))
				d.raw = true;	/* raw even with a qcow2 header: said, not probed */
			else
				goto refuse;
		} else if (!strcmp(k, "id")) {
			free(d.id);
			d.id = xstrdup(v);
		} else if (!strcmp(k, "readonly")) {
			if (parse_bool(opt, k, v, &d.readonly))
				goto err;
		} else if (!strcmp(k, "snapshot")) {
			if (parse_bool(opt, k, v, &d.snapshot))
				goto err;
		} else if (!strcmp(k, "media")) {
			if (strcmp(v, "disk"))
				goto refuse;
		} else if (!strcmp(k, "cache")) {
			/*
			 * Host caching only: the guest sees a write cache and its
			 * flushes reach the disk. writethrough and directsync
			 * would show it none.
			 */
			if (strcmp(v, "none") && strcmp(v, "writeback") && strcmp(v, "unsafe"))
				goto refuse;
		} else if (!strcmp(k, "aio")) {
			if (strcmp(v, "threads") && strcmp(v, "native") && strcmp(v, "io_uring"))
				goto refuse;
		} else {
			goto refuse;
		}
		continue;
refuse:
		not_implemented("%s %s=%s", opt, k, v);
		goto err;
	}
	if (!d.file) {
		kv_err("%s %s: no file=; kvmini needs an image file for each drive", opt, arg);
		goto err;
	}
	if (!iface) {
		not_implemented("%s %s (if=ide, QEMU's default; use if=virtio)", opt, arg);
		goto err;
	}
	/*
	 * Without format=, QEMU probes; so does kvmini run, more safely: a
	 * probed qcow2 that names a backing file is refused. Never turn a probe
	 * into format=qcow2, which would trust the backing file.
	 */
	if (d.qcow2 && pending_check(PEND_QCOW2, "-drive format=qcow2"))
		goto err;
	if (d.snapshot && pending_check(PEND_SNAPSHOT, "-drive snapshot=on"))
		goto err;
	d.what = xstrdup(arg);
	q->drives[q->nr_drives++] = d;
	return 0;
err:
	free(d.file);
	free(d.id);
	return -1;
}

/* tap options shared by -netdev tap and -nic tap; @kv[0] is the type. */
static int parse_tap(struct qemu *q, const char *opt, const char *arg, struct qkv *kv, int n,
		     char **id, char **mac, bool nic)
{
	struct qemu_netdev d = { 0 };
	bool script_off = false, downscript_off = false, model = false;
	int i;

	if (q->nr_nets == QEMU_MAX_NETS) {
		kv_err("%s %s: kvmini takes at most %d network backends", opt, arg, QEMU_MAX_NETS);
		return -1;
	}
	if (strcmp(kv[0].val, "tap"))
		return not_implemented("%s %s", opt, kv[0].val);
	for (i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;

		if (!strcmp(k, "id")) {
			free(*id);
			*id = xstrdup(v);
		} else if (!strcmp(k, "ifname")) {
			free(d.ifname);
			d.ifname = xstrdup(v);
		} else if (!strcmp(k, "script")) {
			script_off = !strcmp(v, "no");
		} else if (!strcmp(k, "downscript")) {
			downscript_off = !strcmp(v, "no");
		} else if (!strcmp(k, "vhost")) {
			if (parse_bool(opt, k, v, &d.vhost))
				goto err;
		} else if (nic && !strcmp(k, "mac")) {
			free(*mac);
			*mac = xstrdup(v);
		} else if (nic && !strcmp(k, "model")) {
			if (strcmp(v, "virtio") && strcmp(v, "virtio-net-pci")) {
				not_implemented("%s model=%s", opt, v);
				goto err;
			}
			model = true;
		} else {
			not_implemented("%s %s=%s", opt, k, v);
			goto err;
		}
	}
	if (nic && !model) {
		not_implemented("%s %s (model=e1000, QEMU's default; use model=virtio)", opt, arg);
		goto err;
	}
	if (!d.ifname) {
		not_implemented("%s %s without ifname= (a tap QEMU would create); create one "
				"with kvmini-ifup and give ifname=", opt, arg);
		goto err;
	}
	if (!script_off || !downscript_off) {
		not_implemented("%s %s (running /etc/qemu-ifup or -ifdown; give script=no,"
				"downscript=no)", opt, arg);
		goto err;
	}
	d.id = *id ? xstrdup(*id) : NULL;
	q->nets[q->nr_nets++] = d;
	return 0;
err:
	free(d.ifname);
	return -1;
}

static int opt_netdev(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	char *id = NULL, *mac = NULL;
	int ret, n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	ret = parse_tap(q, opt, arg, kv, n, &id, &mac, false);
	if (!ret && !id) {
		kv_err("%s %s: no id=; a -device finds its backend by netdev=ID", opt, arg);
		free(q->nets[--q->nr_nets].ifname);
		ret = -1;
	}
	free(id);
	return ret;
}

static int add_device(struct qemu *q, const char *what, struct qemu_device *d)
{
	if (q->nr_devs == QEMU_MAX_DEVICES) {
		kv_err("%s: kvmini takes at most %d devices", what, QEMU_MAX_DEVICES);
		return -1;
	}
	d->what = xstrdup(what);
	q->devs[q->nr_devs++] = *d;
	return 0;
}

static int opt_nic(struct qemu *q, const char *opt, const char *arg)
{
	struct qemu_device d = { .kind = QDEV_NET };
	struct qkv kv[QKV_MAX];
	char *id = NULL, *mac = NULL;
	char what[PATH_MAX];
	int n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	if (n == 1 && !strcmp(kv[0].val, "none"))
		return 0;	/* no NIC: kvmini has none by default */
	if (parse_tap(q, opt, arg, kv, n, &id, &mac, true)) {
		free(id);
		free(mac);
		return -1;
	}
	free(id);
	d.nic_netdev = (int)q->nr_nets - 1;
	d.mac = mac;
	snprintf(what, sizeof(what), "%s %s", opt, arg);
	return add_device(q, what, &d);
}

static int parse_exit_device(struct qemu *q, const char *opt, const char *arg,
			     struct qkv *kv, int n)
{
	unsigned long iobase = 0x501, iosize = 2;	/* QEMU's defaults */
	char *end;
	int i;

	for (i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;
		unsigned long *dst = !strcmp(k, "iobase") ? &iobase :
				     !strcmp(k, "iosize") ? &iosize : NULL;

		if (!strcmp(k, "id"))
			continue;
		if (!dst)
			return not_implemented("%s isa-debug-exit,%s=%s", opt, k, v);
		errno = 0;
		*dst = strtoul(v, &end, 0);
		if (!v[0] || *end || errno || *dst > 0xffff) {
			kv_err("%s %s: %s=%s is not a port number or size", opt, arg, k, v);
			return -1;
		}
	}
	/* kvmini's exit device decodes 4 bytes */
	if (iosize != 4)
		return not_implemented("%s %s (iosize=%lu%s; kvmini's exit device is iosize=4)",
				       opt, arg, iosize, iosize == 2 ? ", QEMU's default" : "");
	if (iobase > 0xfffc) {
		kv_err("%s %s: iobase=0x%lx leaves no room for 4 bytes", opt, arg, iobase);
		return -1;
	}
	if (q->exit_port >= 0)
		return not_implemented("a second %s isa-debug-exit", opt);
	q->exit_port = (int)iobase;
	return 0;
}

/* kvm-unit-tests' test devices: --device MODEL, one of each. */
static int parse_testdev(struct qemu *q, const char *opt, const char *model, struct qkv *kv,
			 int n)
{
	bool *have = !strcmp(model, "pc-testdev") ? &q->pc_testdev : &q->pci_testdev;
	int i;

	for (i = 1; i < n; i++)
		if (strcmp(kv[i].key, "id"))
			return not_implemented("%s %s,%s=%s", opt, model, kv[i].key, kv[i].val);
	if (*have)
		return not_implemented("a second %s %s", opt, model);
	*have = true;
	return 0;
}

static const char *const device_help[] = {
	"name \"isa-debug-exit\", bus ISA",
	"name \"pc-testdev\", bus ISA",
	"name \"pci-testdev\", bus PCI, desc \"PCI Test Device\"",
	"name \"virtio-blk-device\", bus virtio-bus",
	"name \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"",
	"name \"virtio-net-device\", bus virtio-bus",
	"name \"virtio-net-pci\", bus PCI, alias \"virtio-net\"",
};

static int opt_device(struct qemu *q, const char *opt, const char *arg)
{
	struct qemu_device d = { .nic_netdev = -1 };
	struct qkv kv[QKV_MAX];
	const char *model;
	char what[PATH_MAX];
	bool mmio;
	int i, n;

	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		printf("kvmini's devices for -device (see kvmini-qemu(1)):\n");
		for (i = 0; i < (int)ARRAY_SIZE(device_help); i++)
			printf("%s\n", device_help[i]);
		return 1;
	}
	n = qkv_split(opt, arg, true, kv);
	if (n < 0)
		return -1;
	model = kv[0].val;
	if (!strcmp(model, "isa-debug-exit"))
		return parse_exit_device(q, opt, arg, kv, n);
	if (!strcmp(model, "pc-testdev") || !strcmp(model, "pci-testdev"))
		return parse_testdev(q, opt, model, kv, n);
	if (!strcmp(model, "virtio-blk-pci") || !strcmp(model, "virtio-blk") ||
	    !strcmp(model, "virtio-blk-device"))
		d.kind = QDEV_BLK;
	else if (!strcmp(model, "virtio-net-pci") || !strcmp(model, "virtio-net") ||
		 !strcmp(model, "virtio-net-device"))
		d.kind = QDEV_NET;
	else
		return not_implemented("%s %s", opt, model);
	mmio = strstr(model, "-device") != NULL;
	for (i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].val;

		if (!strcmp(k, "id"))
			continue;	/* QEMU's own name for it: the guest never sees it */
		if (d.kind == QDEV_BLK && !strcmp(k, "drive") && !d.ref)
			d.ref = xstrdup(v);
		else if (d.kind == QDEV_BLK && !strcmp(k, "serial") && !d.serial)
			d.serial = xstrdup(v);
		else if (d.kind == QDEV_NET && !strcmp(k, "netdev") && !d.ref)
			d.ref = xstrdup(v);
		else if (d.kind == QDEV_NET && !strcmp(k, "mac") && !d.mac)
			d.mac = xstrdup(v);
		else {
			not_implemented("%s %s,%s=%s", opt, model, k, v);
			goto err;
		}
	}
	if (!d.ref) {
		kv_err("%s %s: no %s=; name the %s it serves", opt, arg,
		       d.kind == QDEV_BLK ? "drive" : "netdev",
		       d.kind == QDEV_BLK ? "-drive id" : "-netdev id");
		goto err;
	}
	if (set_transport(q, mmio, d.kind == QDEV_BLK ?
			  (mmio ? "-device virtio-blk-device" : "-device virtio-blk-pci") :
			  (mmio ? "-device virtio-net-device" : "-device virtio-net-pci")))
		goto err;
	snprintf(what, sizeof(what), "%s %s", opt, arg);
	return add_device(q, what, &d);
err:
	free(d.ref);
	free(d.serial);
	free(d.mac);
	return -1;
}

static int opt_name(struct qemu *q, const char *opt, const char *arg)
{
	struct qkv kv[QKV_MAX];
	char what[PATH_MAX];
	int i, n = qkv_split(opt, arg, true, kv);

	if (n < 0)
		return -1;
	snprintf(what, sizeof(what), "%s %s", opt, arg);
	if (pending_check(PEND_NAME, what))
		return -1;
	for (i = 0; i < n; i++) {
		if (kv[i].key[0] && strcmp(kv[i].key, "guest"))
			return not_implemented("%s %s=%s", opt, kv[i].key, kv[i].val);
		if (!kv[i].val[0] || strchr(kv[i].val, ',')) {
			kv_err("%s %s: give one name without commas", opt, arg);
			return -1;
		}
		free(q->name);
		q->name = xstrdup(kv[i].val);
	}
	return 0;
}

static int opt_pidfile(struct qemu *q, const char *opt, const char *arg)
{
	char what[PATH_MAX];

	snprintf(what, sizeof(what), "%s %s", opt, arg);
	if (pending_check(PEND_PIDFILE, what))
		return -1;
	q->pidfile = arg;
	return 0;
}

static int opt_snapshot(struct qemu *q, const char *opt, const char *arg)
{
	(void)arg;
	if (pending_check(PEND_SNAPSHOT, opt))
		return -1;
	q->snapshot = true;
	return 0;
}

static int opt_kernel(struct qemu *q, const char *opt, const char *arg)
{
	(void)opt;
	q->kernel = arg;
	return 0;
}

static int opt_initrd(struct qemu *q, const char *opt, const char *arg)
{
	/* for a multiboot kernel QEMU splits modules at commas; kvmini takes one file */
	if (strchr(arg, ','))
		return not_implemented("%s %s (several multiboot modules)", opt, arg);
	q->initrd = arg;
	return 0;
}

static int opt_append(struct qemu *q, const char *opt, const char *arg)
{
	(void)opt;
	q->append = arg;
	return 0;
}

static int opt_flag(struct qemu *q, const char *opt, const char *arg)
{
	(void)arg;
	if (!strcmp(opt, "-no-reboot"))
		q->no_reboot = true;
	else if (!strcmp(opt, "-nodefaults"))
		q->nodefaults = true;
	else if (!strcmp(opt, "-kvmini-print"))
		q->print = true;
	/* -enable-kvm, -nographic, -no-user-config: what kvmini does anyway */
	return 0;
}

static void qemu_usage(FILE *f)
{
	fputs("usage: kvmini qemu [QEMU options]   (or qemu-kvm, kvm: a link to kvmini)\n"
	      "QEMU's command line for what kvmini has; the rest is refused.\n"
	      "  -kernel FILE -initrd FILE -append STR\n"
	      "  -m SIZE  -smp N  -cpu host|max  -enable-kvm  -accel kvm\n"
	      "  -machine|-M q35|pc|microvm[,accel=kvm]\n"
	      "  -nographic  -display none  -vga none  -vnc none  -nodefaults  -no-reboot\n"
	      "  -serial stdio|mon:stdio|file:PATH|null|chardev:ID  -chardev stdio|file|null,id=ID\n"
	      "  -mon chardev=ID  -echr 1\n"
	      "  -drive file=F,if=virtio|none[,format=raw,id=ID,readonly=on,cache=,aio=]\n"
	      "  -device virtio-blk-pci|virtio-blk-device,drive=ID[,serial=S]\n"
	      "  -netdev tap,id=ID,ifname=TAP,script=no,downscript=no[,vhost=on|off]\n"
	      "  -device virtio-net-pci|virtio-net-device,netdev=ID[,mac=MAC]\n"
	      "  -nic tap,ifname=TAP,script=no,downscript=no,model=virtio[,mac=MAC]\n"
	      "  -device isa-debug-exit,iobase=PORT,iosize=4  -device pc-testdev|pci-testdev\n"
	      "  -version  -help  -device help\n"
	      "  -kvmini-print   print the kvmini run command instead of running it\n"
	      "See kvmini-qemu(1) for each option's status.\n", f);
}

static int opt_help(struct qemu *q, const char *opt, const char *arg)
{
	(void)q;
	(void)opt;
	(void)arg;
	qemu_usage(stdout);
	return 1;
}

static int opt_version(struct qemu *q, const char *opt, const char *arg)
{
	(void)q;
	(void)opt;
	(void)arg;
	printf("QEMU emulator version " QEMU_COMPAT_VERSION " (kvmini " KVMINI_VERSION
	       " compatibility)\n");
	return 1;
}

/*
 * The options kvmini-qemu(1) lists. A handler returns 0, 1 when the run
 * is done (-help, -version), or -1 after one message.
 */
static const struct qemu_option {
	const char *name;
	bool has_arg;
	int (*handle)(struct qemu *q, const char *opt, const char *arg);
} qemu_options[] = {
	{ "kernel", true, opt_kernel },
	{ "initrd", true, opt_initrd },
	{ "append", true, opt_append },
	{ "m", true, opt_memory },
	{ "smp", true, opt_smp },
	{ "cpu", true, opt_cpu },
	{ "enable-kvm", false, opt_flag },
	{ "accel", true, opt_accel },
	{ "machine", true, opt_machine },
	{ "M", true, opt_machine },
	{ "nographic", false, opt_flag },
	{ "no-user-config", false, opt_flag },
	{ "display", true, opt_none_only },
	{ "vga", true, opt_none_only },
	{ "vnc", true, opt_none_only },
	{ "parallel", true, opt_none_only },
	{ "monitor", true, opt_none_only },
	{ "net", true, opt_none_only },
	{ "nodefaults", false, opt_flag },
	{ "no-reboot", false, opt_flag },
	{ "serial", true, opt_serial },
	{ "chardev", true, opt_chardev },
	{ "mon", true, opt_mon },
	{ "echr", true, opt_echr },
	{ "drive", true, opt_drive },
	{ "netdev", true, opt_netdev },
	{ "nic", true, opt_nic },
	{ "device", true, opt_device },
	{ "name", true, opt_name },
	{ "pidfile", true, opt_pidfile },
	{ "snapshot", false, opt_snapshot },
	{ "version", false, opt_version },
	{ "help", false, opt_help },
	{ "h", false, opt_help },
	{ "kvmini-print", false, opt_flag },
};

static const struct qemu_option *find_option(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(qemu_options); i++)
		if (!strcmp(qemu_options[i].name, name))
			return &qemu_options[i];
	return NULL;
}

static struct qemu_drive *find_drive(struct qemu *q, const char *id)
{
	unsigned int i;

	for (i = 0; i < q->nr_drives; i++)
		if (q->drives[i].id && !strcmp(q->drives[i].id, id))
			return &q->drives[i];
	return NULL;
}

static int find_netdev(struct qemu *q, const char *id)
{
	unsigned int i;

	for (i = 0; i < q->nr_nets; i++)
		if (q->nets[i].id && !strcmp(q->nets[i].id, id))
			return (int)i;
	return -1;
}

static int emit_disk(struct qemu *q, struct qemu_drive *d, const char *serial)
{
	if (serial && strchr(serial, ','))
		return not_implemented("serial=%s (a comma in a disk serial)", serial);
	return emit(q, "--disk") ?:
	       emit(q, "path=%s%s%s%s%s%s", d->file, d->readonly ? ",readonly=on" : "",
		    serial ? ",id=" : "", serial ? serial : "",
		    d->qcow2 ? ",format=qcow2" : d->raw ? ",format=raw" : "",
		    d->snapshot || q->snapshot ? ",snapshot=on" : "");
}

static int emit_nic(struct qemu *q, struct qemu_netdev *n, const char *mac, unsigned int index)
{
	if (mac && strchr(mac, ',')) {
		kv_err("mac=%s: not a MAC address", mac);
		return -1;
	}
	if (emit(q, "--net"))
		return -1;
	/* QEMU's default MACs, and its default of no vhost */
	if (mac)
		return emit(q, "tap=%s,mac=%s,vhost=%s", n->ifname, mac, n->vhost ? "on" : "off");
	return emit(q, "tap=%s,mac=52:54:00:12:34:%02x,vhost=%s", n->ifname,
		    (0x56 + index) & 0xff, n->vhost ? "on" : "off");
}

/* The kvmini run argv for what the options collected. */
static int translate(struct qemu *q)
{
	unsigned int i, nics = 0;
	bool no_serial;

	if (!q->kernel)
		return not_implemented("booting without -kernel (firmware and a boot disk)");
	if (q->serial_chardev) {
		const struct qemu_chardev *c = find_chardev(q, q->serial_chardev);

		if (!c) {
			kv_err("-serial chardev:%s: no -chardev has id=%s", q->serial_chardev,
			       q->serial_chardev);
			return -1;
		}
		q->serial = c->mode;
		q->serial_file = c->path;
	}
	if (q->mon_chardev && !find_chardev(q, q->mon_chardev)) {
		kv_err("-mon chardev=%s: no -chardev has id=%s", q->mon_chardev, q->mon_chardev);
		return -1;
	}
	/* -serial none, or -nodefaults without -serial: a guest without a serial port */
	no_serial = !q->serial_given && (q->serial_none || q->nodefaults);
	if (q->mmio_machine && set_transport(q, true, "-M microvm"))
		return -1;
	if (emit(q, "run") || emit(q, "--kernel") || emit(q, "%s", q->kernel))
		return -1;
	if (q->initrd && (emit(q, "--initrd") || emit(q, "%s", q->initrd)))
		return -1;
	if (q->append && (emit(q, "--cmdline") || emit(q, "%s", q->append)))
		return -1;
	if (emit(q, "--memory"))
		return -1;
	if (!(q->memory & ((1ULL << 20) - 1))) {
		if (emit(q, "%lluM", (unsigned long long)(q->memory >> 20)))
			return -1;
	} else if (emit(q, "%lluK", (unsigned long long)(q->memory >> 10))) {
		return -1;
	}
	if (emit(q, "--cpus") || emit(q, "%u", q->cpus))
		return -1;
	if (emit(q, "--on-reboot") || emit(q, "%s", q->no_reboot ? "exit" : "restart"))
		return -1;
	if (emit(q, "--exit-port"))
		return -1;
	if (q->exit_port < 0 ? emit(q, "none") : emit(q, "0x%x", q->exit_port))
		return -1;
	if (q->transport_by && q->transport_mmio &&
	    (emit(q, "--transport") || emit(q, "mmio")))
		return -1;
	if (q->pc_testdev && (emit(q, "--device") || emit(q, "pc-testdev")))
		return -1;
	if (q->pci_testdev && (emit(q, "--device") || emit(q, "pci-testdev")))
		return -1;
	if (q->name && (emit(q, "--name") || emit(q, "%s", q->name)))
		return -1;
	if (q->pidfile && (emit(q, "--pidfile") || emit(q, "%s", q->pidfile)))
		return -1;
	if (no_serial && (emit(q, "--serial") || emit(q, "none")))
		return -1;
	for (i = 0; i < q->nr_drives; i++) {
		if (q->drives[i].virtio) {
			q->drives[i].used = true;
			if (emit_disk(q, &q->drives[i], NULL))
				return -1;
		}
	}
	for (i = 0; i < q->nr_devs; i++) {
		struct qemu_device *d = &q->devs[i];

		if (d->kind == QDEV_BLK) {
			struct qemu_drive *dr = find_drive(q, d->ref);

			if (!dr) {
				kv_err("%s: no -drive has id=%s", d->what, d->ref);
				return -1;
			}
			if (dr->used || dr->virtio) {
				kv_err("%s: drive %s is already in use by another device", d->what,
				       d->ref);
				return -1;
			}
			dr->used = true;
			if (emit_disk(q, dr, d->serial))
				return -1;
		} else {
			int n = d->nic_netdev >= 0 ? d->nic_netdev : find_netdev(q, d->ref);

			if (n < 0) {
				kv_err("%s: no -netdev has id=%s", d->what, d->ref);
				return -1;
			}
			if (q->nets[n].used) {
				kv_err("%s: netdev %s is already in use by another device",
				       d->what, d->ref);
				return -1;
			}
			q->nets[n].used = true;
			if (emit_nic(q, &q->nets[n], d->mac, nics++))
				return -1;
		}
	}
	return 0;
}

static void qemu_free(struct qemu *q)
{
	unsigned int i;
	int a;

	for (i = 0; i < q->nr_drives; i++) {
		free(q->drives[i].id);
		free(q->drives[i].file);
		free(q->drives[i].what);
	}
	for (i = 0; i < q->nr_nets; i++) {
		free(q->nets[i].id);
		free(q->nets[i].ifname);
	}
	for (i = 0; i < q->nr_devs; i++) {
		free(q->devs[i].ref);
		free(q->devs[i].serial);
		free(q->devs[i].mac);
		free(q->devs[i].what);
	}
	for (a = 0; a < q->argc; a++)
		free(q->argv[a]);
	free(q->name);
	free(q->serial_chardev);
	free(q->mon_chardev);
	for (i = 0; i < q->nr_chardevs; i++) {
		free(q->chardevs[i].id);
		free(q->chardevs[i].path);
	}
}

static int qemu_translate(struct qemu *q, int argc, char **argv)
{
	int i, ret;

	memset(q, 0, sizeof(*q));
	q->memory = QEMU_DEFAULT_MEMORY;
	q->cpus = 1;
	q->exit_port = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name = a + 1;
		const struct qemu_option *o;

		if (a[0] != '-' || !a[1]) {
			/* QEMU takes a lone word as a disk image (-hda) */
			return not_implemented("'%s' (a disk image without -drive)", a);
		}
		if (name[0] == '-')
			name++;	/* QEMU takes --opt as -opt */
		o = find_option(name);
		if (!o)
			return not_implemented("-%s", name);
		if (o->has_arg && i + 1 == argc) {
			kv_err("-%s needs a value; see kvmini-qemu(1)", name);
			return -1;
		}
		ret = o->handle(q, a[1] == '-' ? a + 1 : a, o->has_arg ? argv[++i] : NULL);
		if (ret)
			return ret;
	}
	return translate(q);
}

/* -serial file:/null: the console's output goes there, and it reads nothing. */
static int redirect_serial(const struct qemu *q)
{
	int in, out;

	if (q->serial == SERIAL_STDIO)
		return 0;
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = q->serial == SERIAL_NULL ? open("/dev/null", O_WRONLY | O_CLOEXEC) :
	      open(q->serial_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (in < 0 || out < 0) {
		kv_err("-serial file:%s: %s", q->serial_file, strerror(errno));
		if (in >= 0)
			close(in);
		return -1;
	}
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0) {
		kv_err("-serial: %s", strerror(errno));
		close(in);
		close(out);
		return -1;
	}
	close(in);
	close(out);
	return 0;
}

int cmd_qemu(int argc, char **argv)
{
	struct qemu *q = calloc(1, sizeof(*q));
	int ret;

	if (!q) {
		kv_err("out of memory");
		return EXIT_ERROR;
	}
	ret = qemu_translate(q, argc, argv);
	if (ret) {
		ret = ret > 0 ? 0 : QEMU_EXIT_USAGE;
	} else if (q->print) {
		char *file = (char *)q->serial_file;
		char *line = shell_join(q->argv, q->argc);
		char *out = file ? shell_join(&file, 1) : NULL;

		if (!line || (file && !out)) {
			kv_err("out of memory");
			ret = EXIT_ERROR;
		} else {
			printf("kvmini %s%s%s\n", line,
			       q->serial == SERIAL_NULL ? " </dev/null >/dev/null" :
			       q->serial == SERIAL_FILE ? " </dev/null >" : "",
			       q->serial == SERIAL_FILE ? out : "");
		}
		free(line);
		free(out);
	} else if (redirect_serial(q)) {
		ret = EXIT_ERROR;
	} else {
		fflush(stdout);
		ret = cmd_run(q->argc, q->argv);
	}
	qemu_free(q);
	free(q);
	return ret;
}

int qemu_translate_args(int argc, char **argv, char ***out, int *outc)
{
	struct qemu *q = calloc(1, sizeof(*q));
	int ret;

	*out = NULL;
	*outc = 0;
	if (!q) {
		kv_err("out of memory");
		return -1;
	}
	ret = qemu_translate(q, argc, argv);
	if (!ret) {
		*out = calloc((size_t)q->argc + 1, sizeof(char *));
		if (*out) {
			memcpy(*out, q->argv, (size_t)q->argc * sizeof(char *));
			*outc = q->argc;
			q->argc = 0;	/* the words are the caller's now */
		} else {
			kv_err("out of memory");
			ret = -1;
		}
	}
	qemu_free(q);
	free(q);
	return ret;
}

void qemu_args_free(char **args)
{
	char **a;

	if (!args)
		return;
	for (a = args; *a; a++)
		free(*a);
	free(args);
}

bool qemu_invoked_as(const char *argv0)
{
	const char *base;

	if (!argv0)
		return false;
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return !strcmp(base, "qemu-kvm") || !strcmp(base, "kvm");
}
