/*
 * libFuzzer harness for kvmini.conf(5) parsing (vmm/cli/conffile.c): the
 * input is a config file. Every argument produced is "--NAME" or
 * "--NAME=VALUE" with NAME an option name and VALUE from a single line, never
 * --config, and a parse that fails leaves nothing behind.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>

#include "conffile.h"
#include "fuzz.h"

static void check_arg(const char *a, const uint8_t *d, size_t n)
{
	size_t i = 2;

	FUZZ_CHECK(a[0] == '-' && a[1] == '-');
	FUZZ_CHECK(islower((unsigned char)a[2]));
	while (islower((unsigned char)a[i]) || isdigit((unsigned char)a[i]) || a[i] == '-')
		i++;
	FUZZ_CHECK(a[i] == '\0' || a[i] == '=');
	FUZZ_CHECK(strncmp(a, "--config", 8) || (a[8] != '\0' && a[8] != '='));
	FUZZ_CHECK(!strchr(a, '\n'));
	FUZZ_CHECK(strlen(a) <= n + 2);
	(void)d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conffile_args a;
	char err[512];
	int ret;

	err[0] = 0;
	ret = conffile_parse((const char *)data, size, "fuzz.conf", &a, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		FUZZ_CHECK(!a.argv);
		FUZZ_CHECK(ret != -EINVAL || !strncmp(err, "fuzz.conf", 9));
		return 0;
	}
	FUZZ_CHECK(a.argc >= 0 && a.argc <= CONFFILE_MAX_ARGS);
	FUZZ_CHECK(a.argv[a.argc] == NULL);
	for (int i = 0; i < a.argc; i++)
		check_arg(a.argv[i], data, size);
	conffile_free(&a);
	return 0;
}
