/* `kvmini run` option parsing: defaults, accepted values, rejections. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../err_capture.h"
#include "virtio/blk.h"
#include "config.h"
#include "kvmini-features.h"
#include "virtio/net.h"

/* The device options of a parsed config, as the disk and net types read them. */
struct parsed_devices {
	unsigned int nr_disks, nr_nets;
	struct disk_config disks[MAX_DISKS];
	struct net_config nets[MAX_NETS];
};

static struct parsed_devices *parsed(const struct vm_config *c)
{
	static struct parsed_devices p;
	unsigned int i;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < c->nr_devices; i++) {
		const struct device_opt *o = &c->devices[i];

		if (!strcmp(o->type, "disk"))
			assert_int_equal(device_opt_parse(o, &p.disks[p.nr_disks++], NULL), 0);
		else if (!strcmp(o->type, "net"))
			assert_int_equal(device_opt_parse(o, &p.nets[p.nr_nets++], NULL), 0);
	}
	return &p;
}

#define ARGS(...) (char *[]){ "run", __VA_ARGS__, NULL }
#define PARSE(cfg, ...) \
	config_parse_run(cfg, (int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)), \
			 ARGS(__VA_ARGS__))

static void test_defaults(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_string_equal(c.kernel, "k");
	assert_int_equal(c.nr_initrds, 0);
	assert_null(c.cmdline_extra);
	assert_true(c.memory == 256ULL << 20);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.on_reboot, ON_REBOOT_EXIT);
}

static void test_all_options(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "bz", "--initrd", "ird", "--cmdline",
			       "quiet root=/dev/vda", "--memory", "2G", "--cpus", "4",
			       "--on-reboot", "restart", "--verbose"), 0);
	assert_int_equal(c.nr_initrds, 1);
	assert_string_equal(c.initrds[0], "ird");
	assert_string_equal(c.cmdline_extra, "quiet root=/dev/vda");
	assert_true(c.memory == 2ULL << 30);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.on_reboot, ON_REBOOT_RESTART);
	assert_true(c.verbose);
	/* --opt=value form */
	assert_int_equal(PARSE(&c, "--kernel=x", "--memory=512M"), 0);
	assert_true(c.memory == 512ULL << 20);
}

/* --memory is kept as typed, for messages; a number without a suffix is bytes. */
static void test_memory_text(void **state)
{
	struct vm_config c;
	const char *err;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_string_equal(c.memory_text, "256M");
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "1T"), 0);
	assert_string_equal(c.memory_text, "1T");
	assert_true(c.memory == 1ULL << 40);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory=1024MiB"), 0);
	assert_string_equal(c.memory_text, "1024MiB");

	/* bytes: a plain number of at least 2 MiB is taken as it is */
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "268435456"), 0);
	assert_true(c.memory == 256ULL << 20);

	/* a plain number below that is a unit forgotten: say so, with the fix */
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "512"), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "--memory 512: a number without a suffix is bytes"));
	assert_non_null(strstr(err, "write 512M for 512 MiB"));

	/* explicit bytes or a unit: too small, no guessing */
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "512B"), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "--memory 512B: too small"));
	assert_null(strstr(err, "without a suffix"));
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "1M"), -EINVAL);
	err = err_end();
	assert_null(strstr(err, "without a suffix"));
}

static void test_rejections(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "12Q"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "-1"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "1M"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--memory", "4097K"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--cpus", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--cpus", "99999"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--cpus", "two"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--on-reboot", "panic"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--frobnicate"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "-z"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "extra"), -EINVAL);
	assert_int_equal(PARSE(&c, "--memory", "256M"), -EINVAL);	/* no kernel */
	assert_int_equal(PARSE(&c, "--kernel"), -EINVAL);		/* missing value */
}

/* --initrd repeats, in order, up to MAX_INITRDS (multiboot modules). */
static void test_initrds(void **state)
{
	char *argv[3 + 2 * (MAX_INITRDS + 1) + 1] = { "run", "--kernel", "k" };
	char names[MAX_INITRDS + 1][8];
	struct vm_config c;
	int i, argc = 3;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k", "--initrd", "a", "--initrd=b"), 0);
	assert_int_equal(c.nr_initrds, 2);
	assert_string_equal(c.initrds[0], "a");
	assert_string_equal(c.initrds[1], "b");

	for (i = 0; i < MAX_INITRDS; i++) {
		snprintf(names[i], sizeof(names[i]), "m%d", i);
		argv[argc++] = "--initrd";
		argv[argc++] = names[i];
	}
	argv[argc] = NULL;
	assert_int_equal(config_parse_run(&c, argc, argv), 0);
	assert_int_equal(c.nr_initrds, MAX_INITRDS);
	assert_string_equal(c.initrds[MAX_INITRDS - 1], names[MAX_INITRDS - 1]);

	/* one more is refused */
	argv[argc++] = "--initrd";
	argv[argc++] = "one-too-many";
	argv[argc] = NULL;
	assert_int_equal(config_parse_run(&c, argc, argv), -EINVAL);
}

static void test_timeout(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_true(c.timeout_ms == 0);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "30"), 0);
	assert_true(c.timeout_ms == 30000);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "2.5"), 0);
	assert_true(c.timeout_ms == 2500);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "-1"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "1e99"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "ten"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--timeout", "nan"), -EINVAL);
}

static void test_command(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--memory", "512M", "--", "sh", "-c", "exit 7"), 0);
	assert_null(c.kernel);	/* the default guest */
	assert_int_equal(c.cmd_argc, 3);
	assert_string_equal(c.cmd_argv[0], "sh");
	assert_string_equal(c.cmd_argv[2], "exit 7");
	/* options after -- belong to the command */
	assert_int_equal(PARSE(&c, "--kernel", "k", "--", "ls", "--cpus"), 0);
	assert_int_equal(c.cmd_argc, 2);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--"), -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_null(c.cmd_argv);
}

static void test_disks(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_int_equal(parsed(&c)->nr_disks, 0);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", "path=/a/b.img",
			       "--disk=readonly=on,id=data_1,path=c.raw",
			       "--disk", "path=d,readonly=off"), 0);
	assert_int_equal(parsed(&c)->nr_disks, 3);
	assert_string_equal(parsed(&c)->disks[0].path, "/a/b.img");
	assert_false(parsed(&c)->disks[0].readonly);
	assert_string_equal(parsed(&c)->disks[0].id, "");
	assert_string_equal(parsed(&c)->disks[1].path, "c.raw");
	assert_true(parsed(&c)->disks[1].readonly);
	assert_string_equal(parsed(&c)->disks[1].id, "data_1");
	assert_false(parsed(&c)->disks[2].readonly);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", "path=x,id=abcdefghij0123456789"), 0);
	assert_string_equal(parsed(&c)->disks[0].id, "abcdefghij0123456789");
}

/* Each rejection is one line naming --disk and what was wrong. */
static void expect_disk_error(char *value, const char *msg)
{
	struct vm_config c;
	const char *err;

	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", value), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "--disk"));
	if (!strstr(err, msg))
		fail_msg("'%s': message lacks '%s': %s", value, msg, err);
}

static void test_disk_rejections(void **state)
{
	char *argv[3 + 2 * (MAX_DISKS + 1) + 1] = { "run", "--kernel", "k" };
	char names[MAX_DISKS + 1][16];
	struct vm_config c;
	int i, argc = 3;

	(void)state;
	expect_disk_error("readonly=on", "no image given");
	expect_disk_error("disk.img", "unknown key 'disk.img'");
	expect_disk_error("path=a,size=1G", "unknown key 'size'");
	expect_disk_error("path=a,,readonly=on", "unknown key ''");
	expect_disk_error("path=", "empty path");
	expect_disk_error("path=a,path=b", "path= given twice");
	expect_disk_error("path=a,readonly=yes", "readonly=yes");
	expect_disk_error("path=a,id=", "id=");
	expect_disk_error("path=a,id=abcdefghij0123456789x", "1 to 20");
	expect_disk_error("path=a,id=has space", "id=has space");
	expect_disk_error("", "no image given");

	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", "path=a", "--disk", "path=a"),
			 -EINVAL);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", "path=a,id=x", "--disk",
			       "path=b,id=x"), -EINVAL);

	for (i = 0; i <= MAX_DISKS; i++) {
		snprintf(names[i], sizeof(names[i]), "path=d%d", i);
		argv[argc++] = "--disk";
		argv[argc++] = names[i];
		argv[argc] = NULL;
		assert_int_equal(config_parse_run(&c, argc, argv), i < MAX_DISKS ? 0 : -EINVAL);
	}
}

/* One image named twice by different paths is refused as the same file, naming both. */
static void test_disk_same_file(void **state)
{
	char dir[] = "/tmp/kvmini-test-disk.XXXXXX";
	char img[64], dot[80], hard[64], other[64], a[128], b[128];
	struct vm_config c;
	const char *err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(dot, sizeof(dot), "%s/./disk.img", dir);
	snprintf(hard, sizeof(hard), "%s/link.img", dir);
	snprintf(other, sizeof(other), "%s/other.img", dir);
	f = fopen(img, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(link(img, hard), 0);

	snprintf(a, sizeof(a), "path=%s", img);
	snprintf(b, sizeof(b), "path=%s,readonly=on", dot);
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", a, "--disk", b), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "are the same file"));
	assert_non_null(strstr(err, img));
	assert_non_null(strstr(err, dot));
	assert_null(strstr(err, "locked"));

	snprintf(b, sizeof(b), "path=%s", hard);
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", a, "--disk", b), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "are the same file"));

	/* other files, and images that do not exist (yet), are not the same */
	snprintf(b, sizeof(b), "path=%s", other);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", a, "--disk", b), 0);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--disk", "path=/nonexistent/a",
			       "--disk", "path=/nonexistent/b"), 0);

	unlink(hard);
	unlink(other);
	unlink(img);
	rmdir(dir);
}

static void test_nets(void **state)
{
	struct vm_config c;

	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();	/* -Dnet=disabled: no --net */
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_int_equal(parsed(&c)->nr_nets, 0);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--net", "tap=tap0",
			       "--net=mac=02:AB:cd:00:00:01,tap=kv1,vhost=off",
			       "--net", "vhost=on,tap=abcdefghijklmno"), 0);
	assert_int_equal(parsed(&c)->nr_nets, 3);
	assert_string_equal(parsed(&c)->nets[0].tap, "tap0");
	assert_false(parsed(&c)->nets[0].mac_set);
	assert_int_equal(parsed(&c)->nets[0].vhost, VHOST_AUTO);
	assert_string_equal(parsed(&c)->nets[1].tap, "kv1");
	assert_true(parsed(&c)->nets[1].mac_set);
	assert_memory_equal(parsed(&c)->nets[1].mac, ((uint8_t[]){ 0x02, 0xab, 0xcd, 0, 0, 1 }), 6);
	assert_int_equal(parsed(&c)->nets[1].vhost, VHOST_OFF);
	assert_int_equal(parsed(&c)->nets[2].vhost, VHOST_ON);
	assert_string_equal(parsed(&c)->nets[2].tap, "abcdefghijklmno");
}

static void expect_net_error(char *const argv_extra[], int n, const char *msg)
{
	char *argv[16] = { "run", "--kernel", "k" };
	struct vm_config c;
	const char *err;
	int i;

	for (i = 0; i < n; i++)
		argv[3 + i] = argv_extra[i];
	err_begin();
	assert_int_equal(config_parse_run(&c, 3 + n, argv), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "--net"));
	if (!strstr(err, msg))
		fail_msg("'%s': message lacks '%s': %s", argv_extra[n - 1], msg, err);
}

#define NET_ERR(msg, ...) \
	expect_net_error((char *[]){ __VA_ARGS__ }, \
			 (int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)), msg)

static void test_net_rejections(void **state)
{
	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();
	NET_ERR("no tap given", "--net", "");
	NET_ERR("no tap given", "--net", "mac=02:00:00:00:00:01");
	NET_ERR("unknown key 'tap0'", "--net", "tap0");
	NET_ERR("unknown key 'queues'", "--net", "tap=a,queues=2");
	NET_ERR("tap= given twice", "--net", "tap=a,tap=b");
	NET_ERR("1 to 15", "--net", "tap=abcdefghijklmnop");
	NET_ERR("tap=a/b", "--net", "tap=a/b");
	NET_ERR("tap=:", "--net", "tap=");
	NET_ERR("six hex bytes", "--net", "tap=a,mac=02:00:00:00:00");
	NET_ERR("six hex bytes", "--net", "tap=a,mac=02-00-00-00-00-01");
	NET_ERR("six hex bytes", "--net", "tap=a,mac=0g:00:00:00:00:01");
	NET_ERR("multicast", "--net", "tap=a,mac=01:00:5e:00:00:01");
	NET_ERR("all-zero", "--net", "tap=a,mac=00:00:00:00:00:00");
	NET_ERR("vhost=yes", "--net", "tap=a,vhost=yes");
	NET_ERR("given twice", "--net", "tap=a", "--net", "tap=a");
	NET_ERR("already taken", "--net", "tap=a,mac=02:00:00:00:00:01",
		"--net", "tap=b,mac=02:00:00:00:00:01");
	NET_ERR("at most 4", "--net", "tap=a", "--net", "tap=b", "--net", "tap=c",
		"--net", "tap=d", "--net", "tap=e");
}

static void test_sandbox_options(void **state)
{
	struct vm_config c;
	const char *err;

	(void)state;
	if (!KVMINI_HAVE_SECCOMP)
		skip();	/* -Dseccomp=disabled: only --seccomp off, the default */
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_int_equal(c.seccomp, SECCOMP_ON);
	assert_null(c.user);
	assert_null(c.group);
	assert_null(c.jail);
	assert_null(c.jail_netns);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--seccomp", "log", "--user", "kvmini",
			       "--group", "107", "--jail", "/srv/jail", "--jail-netns", "new"), 0);
	assert_int_equal(c.seccomp, SECCOMP_LOG);
	assert_string_equal(c.user, "kvmini");
	assert_string_equal(c.group, "107");
	assert_string_equal(c.jail, "/srv/jail");
	assert_string_equal(c.jail_netns, "new");
	assert_int_equal(PARSE(&c, "--kernel", "k", "--seccomp=off"), 0);
	assert_int_equal(c.seccomp, SECCOMP_OFF);

	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--seccomp", "strict"), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "--seccomp strict: use on, log or off"));
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--user", "a:b"), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "--user a:b"));
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--group", ""), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "--group"));
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--jail-netns", "new"), -EINVAL);
	err = err_end();
	assert_non_null(strstr(err, "only with --jail"));
}

static void test_transport(void **state)
{
	struct vm_config c;
	const char *err;

	(void)state;
	assert_int_equal(PARSE(&c, "--kernel", "k"), 0);
	assert_int_equal(c.transport, TRANSPORT_PCI);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--transport", "mmio"), 0);
	assert_int_equal(c.transport, TRANSPORT_MMIO);
	assert_int_equal(PARSE(&c, "--kernel", "k", "--transport=mmio", "--transport", "pci"), 0);
	assert_int_equal(c.transport, TRANSPORT_PCI);

	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--transport", "virtio-mmio"), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "--transport virtio-mmio: use pci or mmio"));
	err_begin();
	assert_int_equal(PARSE(&c, "--kernel", "k", "--transport", "PCI"), -EINVAL);
	err_end();
}

/* Each rejection is one line naming --volume and what was wrong. */
static void expect_volume_error(char *value, bool with_cmd, const char *msg)
{
	struct vm_config c;
	const char *err;

	err_begin();
	if (with_cmd)
		assert_int_equal(PARSE(&c, "--volume", value, "--", "true"), -EINVAL);
	else
		assert_int_equal(PARSE(&c, "--kernel", "k", "--volume", value), -EINVAL);
	err = err_end();
	assert_int_equal(count_lines(err), 1);
	assert_non_null(strstr(err, "--volume"));
	if (!strstr(err, msg))
		fail_msg("'%s': message lacks '%s': %s", value, msg, err);
}

static void test_volume(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--", "true"), 0);
	assert_string_equal(c.volume, "");
	assert_int_equal(PARSE(&c, "--volume", "/tmp", "--", "ls"), 0);
	assert_string_equal(c.volume, "/tmp");
	assert_false(c.volume_ro);
	assert_int_equal(PARSE(&c, "--volume=/tmp:ro", "--", "ls"), 0);
	assert_string_equal(c.volume, "/tmp");
	assert_true(c.volume_ro);
	assert_int_equal(PARSE(&c, "--volume", "/tmp:rw", "--", "ls"), 0);
	assert_false(c.volume_ro);

	expect_volume_error("/tmp", false, "works only with a command");
	expect_volume_error("/nonexistent/dir", true, "No such file or directory");
	expect_volume_error("/nonexistent/dir:ro", true, "/nonexistent/dir:");
	expect_volume_error("/dev/null", true, "not a directory");
	expect_volume_error(":ro", true, "no directory given");
	expect_volume_error("", true, "no directory given");
	err_begin();
	assert_int_equal(PARSE(&c, "--volume", "/tmp", "--volume", "/", "--", "ls"), -EINVAL);
	assert_non_null(strstr(err_end(), "one --volume"));
}

/* Does @s hold a control character other than the line ends? */
static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
			return true;
	return false;
}

/* PARSE must fail with exactly one line on stderr that contains @needle. */
#define EXPECT_ONE_LINE(needle, ...) do {					\
	struct vm_config c_;							\
	const char *err_;							\
										\
	err_begin();								\
	assert_int_equal(PARSE(&c_, __VA_ARGS__), -EINVAL);			\
	err_end_checked(err_ = err_end(), needle);				\
} while (0)

static void err_end_checked(const char *err, const char *needle)
{
	if (!strstr(err, needle) || count_lines(err) != 1 || has_control_chars(err))
		fail_msg("expected one line with '%s', got: '%s'", needle, err);
}

/* An option without its value is named in one line, not as garbage. */
static void test_missing_value(void **state)
{
	(void)state;
	EXPECT_ONE_LINE("--memory needs a value", "--kernel", "k", "--memory");
	EXPECT_ONE_LINE("--cmdline needs a value", "--kernel", "k", "--cmdline");
	EXPECT_ONE_LINE("--kernel needs a value", "--kernel");
	EXPECT_ONE_LINE("--timeout needs a value", "--kernel", "k", "--timeout");
	EXPECT_ONE_LINE("'kvmini help'", "--kernel", "k", "--net");
	/* an abbreviation is named by its full option */
	EXPECT_ONE_LINE("--memory needs a value", "--kernel", "k", "--mem");
	EXPECT_ONE_LINE("--verbose takes no value", "--kernel", "k", "--verbose=1");
}

/* Unknown options and other usage errors: one line and a pointer to help. */
static void test_usage_errors_one_line(void **state)
{
	(void)state;
	EXPECT_ONE_LINE("unknown option '--frobnicate'", "--frobnicate");
	EXPECT_ONE_LINE("'kvmini help'", "--kernel", "k", "--frobnicate");
	EXPECT_ONE_LINE("unknown option '-z'", "--kernel", "k", "-z");
	EXPECT_ONE_LINE("'--s' is ambiguous", "--kernel", "k", "--s");
	EXPECT_ONE_LINE("unexpected argument 'extra'", "--kernel", "k", "extra");
	EXPECT_ONE_LINE("no kernel given", "--memory", "256M");
}

/* What the user typed is echoed with its control characters escaped. */
static void test_control_chars_escaped(void **state)
{
	(void)state;
	EXPECT_ONE_LINE("unknown option '--\\x1b[2Jx'", "--kernel", "k", "--\x1b[2Jx");
	EXPECT_ONE_LINE("unknown option '-\\x01'", "--kernel", "k", "-\x01");
	EXPECT_ONE_LINE("--memory 1\\x0d2: not a size", "--kernel", "k", "--memory", "1\r2");
	EXPECT_ONE_LINE("--cmdline\\x7f", "--kernel", "k", "--cmdline\x7f");
	/* a UTF-8 C1 control (U+009B, CSI) too; other UTF-8 passes */
	EXPECT_ONE_LINE("'--\\xc2\\x9b1m'", "--kernel", "k", "--\xc2\x9b" "1m");
	EXPECT_ONE_LINE("'--gr\xc3\xb6\xc3\x9f" "e'", "--kernel", "k", "--gr\xc3\xb6\xc3\x9f" "e");
}

static void test_help(void **state)
{
	struct vm_config c;

	(void)state;
	assert_int_equal(PARSE(&c, "--help"), 1);
}

/* The help text lists every exit status, and says a signal is not one. */
static void test_help_exit_statuses(void **state)
{
	static char text[8192];
	FILE *f = tmpfile();
	size_t n;

	(void)state;
	assert_non_null(f);
	config_usage(f);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = 0;
	fclose(f);
	assert_non_null(strstr(text, "124 --timeout expired"));
	assert_non_null(strstr(text, "ends kvmini by that signal"));
	assert_null(strstr(text, "128+N"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_memory_text),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_initrds),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_disk_rejections),
		cmocka_unit_test(test_disk_same_file),
		cmocka_unit_test(test_nets),
		cmocka_unit_test(test_net_rejections),
		cmocka_unit_test(test_sandbox_options),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_volume),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_help_exit_statuses),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_usage_errors_one_line),
		cmocka_unit_test(test_control_chars_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
