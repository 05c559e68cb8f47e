/*
 * kvmini qemu's translations that wait for other branches (pending[] in
 * vmm/cli/qemu.c): built with every entry ready, they must give the kvmini
 * run words those branches add: --name, --pidfile, --disk ...,snapshot=on
 * and ...,format=qcow2. The CLI tests check that the build refuses them today.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "qemu.h"

/* The kvmini run words for the QEMU arguments @a (NULL-terminated), joined by spaces. */
static const char *translate(const char *const *a)
{
	static char line[4096];
	char *argv[32], **out;
	int argc = 0, n, i;

	argv[argc++] = (char *)"qemu-kvm";
	while (*a)
		argv[argc++] = (char *)*a++;
	argv[argc] = NULL;
	if (qemu_translate_args(argc, argv, &out, &n))
		return NULL;
	line[0] = 0;
	for (i = 0; i < n; i++) {
		strcat(line, i ? " " : "");
		strcat(line, out[i]);
	}
	qemu_args_free(out);
	return line;
}

#define BASE "run --kernel K --memory 128M --cpus 1 --on-reboot restart --exit-port none"

static void test_name_pidfile(void **state)
{
	static const char *const a1[] = { "-kernel", "K", "-name", "vm1", NULL };
	static const char *const a2[] = { "-kernel", "K", "-name", "guest=vm2", "-pidfile",
					  "/run/vm2.pid", NULL };
	static const char *const a3[] = { "-kernel", "K", "-name", "vm,process=x", NULL };

	(void)state;
	assert_string_equal(translate(a1), BASE " --name vm1");
	assert_string_equal(translate(a2), BASE " --name vm2 --pidfile /run/vm2.pid");
	assert_null(translate(a3));	/* process= is not kvmini's */
}

static void test_snapshot_qcow2(void **state)
{
	static const char *const a1[] = { "-kernel", "K", "-snapshot", "-drive",
					  "file=a.img,if=virtio", NULL };
	static const char *const a2[] = { "-kernel", "K", "-drive",
					  "file=b.qcow2,if=none,id=d,format=qcow2,snapshot=on",
					  "-device", "virtio-blk-pci,drive=d", NULL };
	static const char *const a3[] = { "-kernel", "K", "-drive", "file=c.img,if=virtio,readonly=on",
					  "-snapshot", NULL };

	(void)state;
	assert_string_equal(translate(a1), BASE " --disk path=a.img,snapshot=on");
	assert_string_equal(translate(a2), BASE " --disk path=b.qcow2,format=qcow2,snapshot=on");
	assert_string_equal(translate(a3), BASE " --disk path=c.img,readonly=on,snapshot=on");
}

/*
 * A qcow2 image named without format=: QEMU probes it, and so does kvmini
 * run, which refuses a probed image that names a backing file. The
 * translation must not turn the probe into format=qcow2 (trusting it).
 */
static void test_qcow2_probe(void **state)
{
	char path[] = "/tmp/kvmini-test-qcow2.XXXXXX", drive[64], want[256];
	const char *a[] = { "-kernel", "K", "-drive", drive, NULL };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "QFI\xfb", 4), 4);
	close(fd);
	snprintf(drive, sizeof(drive), "file=%s,if=virtio", path);
	snprintf(want, sizeof(want), BASE " --disk path=%s", path);
	assert_string_equal(translate(a), want);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_pidfile),
		cmocka_unit_test(test_snapshot_qcow2),
		cmocka_unit_test(test_qcow2_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
