/*
 * libFuzzer harness for `kvmini qemu`'s translation (vmm/cli/qemu.c): the
 * input, split at NUL bytes, is QEMU's argument list. A translation that
 * succeeds must be a kvmini run argv that config_parse_run() takes or
 * refuses with a message, and translating twice must give the same words.
 */
#include <stdbool.h>

#include "config.h"
#include "fuzz.h"
#include "qemu.h"

#define MAX_ARGS	64

static int split(const uint8_t *data, size_t size, char **argv)
{
	size_t pos = 0;
	int argc = 1;

	argv[0] = strdup("qemu-kvm");
	FUZZ_CHECK(argv[0]);
	while (pos < size && argc <= MAX_ARGS) {
		const uint8_t *nul = memchr(data + pos, 0, size - pos);
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;

		argv[argc] = malloc(len + 1);	/* each its own block: over-reads show */
		FUZZ_CHECK(argv[argc]);
		memcpy(argv[argc], data + pos, len);
		argv[argc][len] = 0;
		argc++;
		pos += len + 1;
	}
	argv[argc] = NULL;
	return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	char **out1, **out2;
	int argc, n1, n2, r1, r2, i;
	static struct vm_config cfg;	/* large: PATH_MAX inside */

	argc = split(data, size, argv);
	r1 = qemu_translate_args(argc, argv, &out1, &n1);
	r2 = qemu_translate_args(argc, argv, &out2, &n2);
	FUZZ_CHECK(r1 == r2 && (r1 == 0 || r1 == 1 || r1 == -1));
	if (r1 == 0) {
		FUZZ_CHECK(n1 == n2 && n1 >= 3 && !strcmp(out1[0], "run"));
		for (i = 0; i < n1; i++)
			FUZZ_CHECK(out1[i] && !strcmp(out1[i], out2[i]));
		FUZZ_CHECK(out1[n1] == NULL);
		r1 = config_parse_run(&cfg, n1, out1);
		FUZZ_CHECK(r1 == 0 || r1 < 0);
		if (r1 == 0)
			FUZZ_CHECK(cfg.kernel && cfg.cpus >= 1 && !cfg.cmd_argv);
	}
	qemu_args_free(out1);
	qemu_args_free(out2);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
