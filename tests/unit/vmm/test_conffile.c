/* kvmini.conf(5): lines to arguments, and what a config file may not hold. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conffile.h"
#include "config.h"

static char err[512];

static struct conffile_args parse_ok(const char *text)
{
	struct conffile_args a;

	err[0] = 0;
	assert_int_equal(conffile_parse(text, strlen(text), "vm.conf", &a, err, sizeof(err)), 0);
	return a;
}

static void parse_bad(const char *text, size_t len, const char *msg)
{
	struct conffile_args a;

	err[0] = 0;
	assert_int_equal(conffile_parse(text, len, "vm.conf", &a, err, sizeof(err)), -EINVAL);
	assert_null(a.argv);
	if (!strstr(err, msg))
		fail_msg("message '%s' lacks '%s'", err, msg);
}

static void test_forms(void **state)
{
	struct conffile_args a;

	(void)state;
	a = parse_ok("# a VM\n"
		     "kernel /boot/vmlinuz\n"
		     "\t--memory   1G  \r\n"
		     "\n"
		     "   # indented comment\n"
		     "cmdline quiet  loglevel=3\n"
		     "disk=path=/var/lib/kvmini/a.img,readonly=on\n"
		     "verbose\n"
		     "cmdline=\n"
		     "net tap=tap0");	/* no final newline */
	assert_int_equal(a.argc, 7);
	assert_string_equal(a.argv[0], "--kernel=/boot/vmlinuz");
	assert_string_equal(a.argv[1], "--memory=1G");
	/* the value is the rest of the line, inner spaces kept */
	assert_string_equal(a.argv[2], "--cmdline=quiet  loglevel=3");
	assert_string_equal(a.argv[3], "--disk=path=/var/lib/kvmini/a.img,readonly=on");
	assert_string_equal(a.argv[4], "--verbose");
	assert_string_equal(a.argv[5], "--cmdline=");
	assert_string_equal(a.argv[6], "--net=tap=tap0");
	assert_null(a.argv[7]);
	conffile_free(&a);

	a = parse_ok("");
	assert_int_equal(a.argc, 0);
	assert_null(a.argv[0]);
	conffile_free(&a);
	a = parse_ok("\n\n# only comments\n");
	assert_int_equal(a.argc, 0);
	conffile_free(&a);
}

static void test_rejections(void **state)
{
	static const char nul[] = "kernel a\nmem\0ory 1G\n";
	char *big;

	(void)state;
	parse_bad("kernel a\n-- ls\n", 15, "vm.conf:2: a command (-- CMD) cannot come");
	parse_bad("--\n", 3, "vm.conf:1: a command");
	parse_bad("Kernel x\n", 9, "vm.conf:1: 'Kernel x' is not an option");
	parse_bad("kernel\ta\n-x\n", 12, "vm.conf:2: '-x' is not an option");
	parse_bad("mem:ory 1G\n", 11, "vm.conf:1: 'mem:ory 1G' is not an option");
	parse_bad("config other.conf\n", 18, "vm.conf:1: --config cannot be nested");
	parse_bad("--config=other.conf\n", 20, "--config cannot be nested");
	parse_bad(nul, sizeof(nul) - 1, "vm.conf:2: a NUL byte");
	big = malloc(CONFFILE_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, '#', CONFFILE_MAX_SIZE + 1);
	parse_bad(big, CONFFILE_MAX_SIZE + 1, "larger than");
	free(big);
}

static void test_too_many(void **state)
{
	size_t n = (CONFFILE_MAX_ARGS + 1) * 8, i;
	char *text = malloc(n + 1);

	(void)state;
	assert_non_null(text);
	for (i = 0; i < CONFFILE_MAX_ARGS + 1; i++)
		memcpy(text + i * 8, "verbose\n", 8);
	parse_bad(text, n, "more than 1024 options");
	free(text);
}

/* --config FILE through the real parser: the file's lines stand where it was. */
static void test_expand(void **state)
{
	char path[] = "/tmp/kvmini-test-conffile.XXXXXX";
	const char text[] = "kernel /from/file\nmemory 64M\ncpus 2\n";
	struct vm_config cfg;
	char *argv[8];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);

	argv[0] = "run";
	argv[1] = "--cpus";
	argv[2] = "3";
	argv[3] = "--config";
	argv[4] = path;
	argv[5] = "--memory=128M";
	argv[6] = NULL;
	assert_int_equal(config_parse_run(&cfg, 6, argv), 0);
	assert_string_equal(cfg.kernel, "/from/file");
	assert_int_equal(cfg.cpus, 2);			/* the file came later */
	assert_int_equal(cfg.memory, 128ULL << 20);	/* the command line later still */

	argv[3] = "--config=/nonexistent/kvmini.conf";
	argv[4] = NULL;
	assert_int_equal(config_parse_run(&cfg, 4, argv), -ENOENT);
	argv[3] = "--config=/dev/null";	/* not a regular file */
	assert_int_equal(config_parse_run(&cfg, 4, argv), -EINVAL);
	argv[3] = "--config";
	assert_int_equal(config_parse_run(&cfg, 4, argv), -EINVAL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_expand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
