/* `kvmini check`: cpuinfo parsing, the verdict for each host, the report's shape. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "kvmini-features.h"
#include "run.h"

/* A host with hardware KVM and every device present. */
static struct check_probe good_host(void)
{
	struct check_probe p;

	memset(&p, 0, sizeof(p));
	p.api_version = 12;
	for (unsigned int i = 0; i < CHECK_NR_CAPS; i++)
		p.caps[i] = 1;
	p.caps[CHECK_CAP_NR_VCPUS] = 2;
	p.caps[CHECK_CAP_MAX_VCPUS] = 1024;
	p.caps[CHECK_CAP_NR_MEMSLOTS] = 32764;
	p.cpu_virt = CPU_VIRT_VMX;
	return p;
}

/* This machine: software KVM (kvm_pvm), no vhost-net. */
static struct check_probe pvm_host(void)
{
	struct check_probe p = good_host();

	p.cpu_virt = CPU_VIRT_NONE;
	p.kvm_pvm = true;
	p.vhost_net_errno = ENOENT;
	return p;
}

static bool has_hint(const struct check_result *r, const char *text)
{
	for (unsigned int i = 0; i < r->nr_hints; i++)
		if (strstr(r->hints[i], text))
			return true;
	return false;
}

static void test_parse_cpu_flags(void **state)
{
	(void)state;
	assert_int_equal(check_parse_cpu_flags("flags\t\t: fpu vme vmx sse2\n"), CPU_VIRT_VMX);
	assert_int_equal(check_parse_cpu_flags("flags\t\t: fpu svm lm\n"), CPU_VIRT_SVM);
	assert_int_equal(check_parse_cpu_flags("flags: vmx"), CPU_VIRT_VMX);
	assert_int_equal(check_parse_cpu_flags("flags\t\t: svm"), CPU_VIRT_SVM);
	/* whole words only */
	assert_int_equal(check_parse_cpu_flags("flags\t\t: vmxe xsvm svm_lock\n"), CPU_VIRT_NONE);
	assert_int_equal(check_parse_cpu_flags("flags\t\t: fpu x2apic\n"), CPU_VIRT_NONE);
	/* only the "flags" key counts */
	assert_int_equal(check_parse_cpu_flags("vmx flags\t: vnmi ept\n"), CPU_VIRT_NONE);
	assert_int_equal(check_parse_cpu_flags("model name\t: vmx svm\n"), CPU_VIRT_NONE);
	assert_int_equal(check_parse_cpu_flags("flags vmx\n"), CPU_VIRT_NONE);
	assert_int_equal(check_parse_cpu_flags("flags\t\t:\n"), CPU_VIRT_NONE);
	assert_int_equal(check_parse_cpu_flags(""), CPU_VIRT_NONE);
}

static void test_cap_table(void **state)
{
	(void)state;
	assert_string_equal(check_cap_name(CHECK_CAP_IRQCHIP), "KVM_CAP_IRQCHIP");
	assert_string_equal(check_cap_name(CHECK_CAP_MAX_VCPUS), "KVM_CAP_MAX_VCPUS");
	assert_true(check_cap_required(CHECK_CAP_IRQCHIP));
	assert_true(check_cap_required(CHECK_CAP_USER_MEMORY));
	assert_true(check_cap_required(CHECK_CAP_IOEVENTFD));
	assert_false(check_cap_required(CHECK_CAP_SIGNAL_MSI));
	assert_false(check_cap_required(CHECK_CAP_NR_VCPUS));
	for (unsigned int i = 0; i < CHECK_NR_CAPS; i++)
		assert_memory_equal(check_cap_name(i), "KVM_CAP_", 8);
}

static void test_hardware_kvm_ready(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_non_null(strstr(r.verdict, "ready"));
	assert_non_null(strstr(r.verdict, "VT-x"));
	assert_int_equal(r.nr_hints, 0);

	p.cpu_virt = CPU_VIRT_SVM;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_non_null(strstr(r.verdict, "AMD-V"));

	/* an arm64 build: no CPU flag, but its /dev/kvm is hardware KVM */
	p.cpu_virt = CPU_VIRT_ARM64_EL2;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_non_null(strstr(r.verdict, "ready: hardware KVM (arm64 EL2)"));
}

static void test_software_kvm_pvm(void **state)
{
	struct check_probe p = pvm_host();
	struct check_result r;

	(void)state;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "software KVM only"));
	assert_non_null(strstr(r.verdict, "kvm_pvm"));
	assert_non_null(strstr(r.verdict, "firmware/"));
	assert_non_null(strstr(r.verdict, "stock Linux kernels cannot boot"));
	assert_true(has_hint(&r, "nested test bed"));
	assert_true(has_hint(&r, "VT-x or AMD-V"));
	if (!KVMINI_HAVE_NET) {
		assert_non_null(strstr(r.verdict, "built without networking (-Dnet=disabled)"));
		assert_false(has_hint(&r, "modprobe vhost_net"));
		return;
	}
	assert_non_null(strstr(r.verdict, "without vhost-net"));
	assert_true(has_hint(&r, "modprobe vhost_net"));
	assert_false(has_hint(&r, "modprobe tun"));
}

/* modules-load.d: a name per line, comments, - and _ alike, nothing by prefix */
static void test_modules_load_lines(void **state)
{
	(void)state;
	assert_int_equal(check_parse_modules_load("tun\n"), CHECK_BOOT_TUN);
	assert_int_equal(check_parse_modules_load("  vhost_net # for kvmini\n"),
			 CHECK_BOOT_VHOST_NET);
	assert_int_equal(check_parse_modules_load("vhost-net"), CHECK_BOOT_VHOST_NET);
	assert_int_equal(check_parse_modules_load("# tun\n"), 0);
	assert_int_equal(check_parse_modules_load("; vhost_net\n"), 0);
	assert_int_equal(check_parse_modules_load("tunnel4\n"), 0);
	assert_int_equal(check_parse_modules_load("vhost\n"), 0);
	assert_int_equal(check_parse_modules_load("vhost_net_extra\n"), 0);
	assert_int_equal(check_parse_modules_load("\n"), 0);
}

/* A device missing now and not loaded at boot: the hint names modules-load.d. */
static void test_boot_modules_hint(void **state)
{
	struct check_probe p = pvm_host();
	struct check_result r;

	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();
	check_decide(&p, &r);
	assert_true(has_hint(&r, "modules-load.d/kvmini.conf"));
	p.boot_modules = CHECK_BOOT_VHOST_NET;
	check_decide(&p, &r);
	assert_true(has_hint(&r, "modprobe vhost_net"));
	assert_false(has_hint(&r, "modules-load.d"));
}

static void test_no_virt_flags_without_pvm(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.cpu_virt = CPU_VIRT_NONE;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "no VT-x/AMD-V"));
	assert_null(strstr(r.verdict, "kvm_pvm"));
	assert_true(has_hint(&r, "nested test bed"));
}

static void test_no_dev_kvm(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.kvm_errno = ENOENT;
	p.cpu_virt = CPU_VIRT_NONE;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "/dev/kvm does not exist"));
	assert_true(has_hint(&r, "modprobe kvm_intel or kvm_amd"));
	assert_true(has_hint(&r, "enable virtualization"));

	/* The CPU flag names the right module. */
	p.cpu_virt = CPU_VIRT_VMX;
	check_decide(&p, &r);
	assert_true(has_hint(&r, "modprobe kvm_intel"));
	assert_false(has_hint(&r, "kvm_amd"));
	p.cpu_virt = CPU_VIRT_SVM;
	check_decide(&p, &r);
	assert_true(has_hint(&r, "modprobe kvm_amd"));
	assert_false(has_hint(&r, "kvm_intel"));
	p.cpu_virt = CPU_VIRT_ARM64_EL2;
	check_decide(&p, &r);
	assert_true(has_hint(&r, "boot the host kernel at EL2"));
	assert_false(has_hint(&r, "modprobe"));
}

static void test_dev_kvm_permission(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.kvm_errno = EACCES;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "no permission"));
	assert_true(has_hint(&r, "add your user to group kvm: "
			     "sudo usermod -aG kvm $USER, then log in again"));

	p.kvm_errno = EIO;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, strerror(EIO)));
}

static struct check_node kvm_node(unsigned int uid, const char *owner, unsigned int gid,
				  const char *group, unsigned int mode)
{
	struct check_node n;

	memset(&n, 0, sizeof(n));
	n.known = true;
	n.uid = uid;
	n.gid = gid;
	n.mode = mode;
	snprintf(n.owner_name, sizeof(n.owner_name), "%s", owner);
	snprintf(n.group_name, sizeof(n.group_name), "%s", group);
	n.kvm_group_exists = true;
	return n;
}

/* The /dev/kvm permission hint gives the fix that applies to the node's owner and mode. */
static void test_kvm_access_hint(void **state)
{
	struct check_node n;
	char hint[CHECK_TEXT_MAX];

	(void)state;
	/* as the udev rule sets it: joining the group is the fix */
	n = kvm_node(0, "root", 995, "kvm", 0660);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "/dev/kvm is root:kvm 0660: add your user to group kvm: "
			       "sudo usermod -aG kvm $USER"));
	assert_null(strstr(hint, "chmod"));

	/* a node group of another name is the group to join */
	n = kvm_node(0, "root", 78, "hypervisor", 0660);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "add your user to group hypervisor: sudo usermod "
			       "-aG hypervisor $USER"));

	/* root:root 0600: joining group kvm alone does nothing */
	n = kvm_node(0, "root", 0, "root", 0600);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "/dev/kvm is root:root 0600, which group kvm cannot open"));
	assert_non_null(strstr(hint, "udev rule 65-kvmini-kvm.rules"));
	assert_non_null(strstr(hint, "sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm"));
	assert_non_null(strstr(hint, "or run kvmini as root"));
	assert_null(strstr(hint, "groupadd"));
	assert_null(strstr(hint, "/dev/kvm is root:root 0600: add your user"));

	/* group root with rw: never advise joining group root */
	n = kvm_node(0, "root", 0, "root", 0660);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "sudo chgrp kvm /dev/kvm"));
	assert_null(strstr(hint, "group root"));

	/* group kvm that may only read: the mode is the fix */
	n = kvm_node(0, "root", 995, "kvm", 0640);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "/dev/kvm is root:kvm 0640"));
	assert_non_null(strstr(hint, "sudo chmod 0660 /dev/kvm"));

	/* no group kvm on this host: create it first */
	n = kvm_node(0, "root", 0, "root", 0600);
	n.kvm_group_exists = false;
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "sudo groupadd --system kvm"));

	/* the mode lets us in, yet open() was denied: not a matter of groups */
	n = kvm_node(0, "root", 995, "kvm", 0660);
	n.in_group = true;
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "SELinux or AppArmor"));
	assert_null(strstr(hint, "usermod"));
	n = kvm_node(0, "root", 0, "root", 0666);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "nodev"));

	/* names unknown: numbers */
	n = kvm_node(4000, "", 4001, "", 0660);
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "/dev/kvm is 4000:4001 0660: add your user to group 4001"));

	/* the node could not be looked at: the usual advice */
	memset(&n, 0, sizeof(n));
	check_kvm_access_hint(&n, hint, sizeof(hint));
	assert_non_null(strstr(hint, "add your user to group kvm"));

	/* a short buffer is cut, never overrun */
	n = kvm_node(0, "root", 0, "root", 0600);
	memset(hint, 'x', sizeof(hint));
	check_kvm_access_hint(&n, hint, 16);
	assert_int_equal(strlen(hint), 15);
	assert_int_equal(hint[16], 'x');
}

/* check_decide puts the node's hint in the report. */
static void test_dev_kvm_permission_node(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.kvm_errno = EACCES;
	p.kvm_node = kvm_node(0, "root", 0, "root", 0600);
	check_decide(&p, &r);
	assert_non_null(strstr(r.verdict, "no permission"));
	assert_true(has_hint(&r, "/dev/kvm is root:root 0600, which group kvm cannot open"));
	assert_false(has_hint(&r, "/dev/kvm is root:root 0600: add your user"));
}

/* `kvmini run` of Linux: one warning on software KVM, quoting check's verdict; none on hardware. */
static void test_linux_warning(void **state)
{
	struct check_probe p = pvm_host();
	char msg[2 * CHECK_TEXT_MAX];

	(void)state;
	assert_true(check_linux_warning(&p, "bzImage", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "kernel bzImage is Linux, which cannot boot on this "
			       "host's software KVM"));
	assert_non_null(strstr(msg, "kvmini check says: software KVM only (kvm_pvm"));
	assert_non_null(strstr(msg, "VT-x/AMD-V"));
	assert_non_null(strstr(msg, "tests/nested/"));
	assert_null(strchr(msg, '\n'));

	p.kvm_pvm = false;
	assert_true(check_linux_warning(&p, "vmlinux", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "kvmini check says: no VT-x/AMD-V (no vmx/svm flag"));

	strcpy(msg, "untouched");
	p = good_host();
	assert_false(check_linux_warning(&p, "bzImage", msg, sizeof(msg)));
	p.cpu_virt = CPU_VIRT_SVM;
	assert_false(check_linux_warning(&p, "bzImage", msg, sizeof(msg)));
	assert_string_equal(msg, "untouched");
}

static void test_api_version(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.api_version = 11;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "API version 11"));

	p.api_version = -ENOTTY;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "KVM_GET_API_VERSION"));
}

static void test_missing_caps(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.caps[CHECK_CAP_IRQCHIP] = 0;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "KVM_CAP_IRQCHIP"));
	assert_null(strstr(r.verdict, "KVM_CAP_IRQFD"));

	p.caps[CHECK_CAP_IRQFD] = 0;
	check_decide(&p, &r);
	assert_non_null(strstr(r.verdict, "KVM_CAP_IRQCHIP, "));
	assert_non_null(strstr(r.verdict, "KVM_CAP_IRQFD"));

	/* optional ones do not block */
	p = good_host();
	p.caps[CHECK_CAP_SIGNAL_MSI] = 0;
	p.caps[CHECK_CAP_IMMEDIATE_EXIT] = 0;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
}

static void test_create_vm_fails(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	p.create_vm_errno = EBUSY;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_non_null(strstr(r.verdict, "KVM_CREATE_VM"));
	assert_true(has_hint(&r, "another hypervisor"));
}

static void test_networking_never_blocks(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;

	(void)state;
	if (!KVMINI_HAVE_NET)
		skip();
	p.tun_errno = ENOENT;
	p.vhost_net_errno = ENOENT;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_true(has_hint(&r, "modprobe tun"));
	assert_true(has_hint(&r, "modprobe vhost_net"));
	assert_non_null(strstr(r.verdict, "no networking"));

	p.tun_errno = EACCES;
	p.vhost_net_errno = 0;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_true(has_hint(&r, "mode 0666"));
}

/* Run check_report into a string. */
static char *report(const struct check_probe *p, int *status)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*status = check_report(f, p);
	fclose(f);
	return buf;
}

static void test_report_shape(void **state)
{
	struct check_probe p = pvm_host();
	int status, value_col = -1;
	char *out, *line, *save, *last = NULL;
	bool seen_verdict = false;

	(void)state;
	out = report(&p, &status);
	assert_int_equal(status, CHECK_LIMITED);
	assert_non_null(strstr(out, "KVM_CAP_MAX_VCPUS"));
	assert_non_null(strstr(out, " 1024\n"));
	if (KVMINI_HAVE_NET)
		assert_non_null(strstr(out, "/dev/vhost-net"));
	else
		assert_non_null(strstr(out, "built without"));

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_false(seen_verdict);	/* nothing after the verdict */
		if (!strncmp(line, "verdict: ", 9))
			seen_verdict = true;
		if (!strncmp(line, "  ", 2)) {
			/* "  item ... value": values line up */
			char *dots = strstr(line + 2, " ..");
			char *value;

			assert_non_null(dots);
			value = dots + 1 + strspn(dots + 1, ".");
			assert_int_equal(*value, ' ');
			if (value_col < 0)
				value_col = (int)(value - line);
			assert_int_equal(value - line, value_col);
		}
		last = line;
	}
	assert_true(seen_verdict);
	assert_non_null(last);
	assert_memory_equal(last, "verdict: software KVM only", 26);
	free(out);
}

static void test_report_without_kvm(void **state)
{
	struct check_probe p = good_host();
	int status;
	char *out;

	(void)state;
	p.kvm_errno = EACCES;
	out = report(&p, &status);
	assert_int_equal(status, CHECK_LIMITED);
	assert_null(strstr(out, "KVM_CAP_IRQCHIP"));	/* not probed */
	assert_non_null(strstr(out, "hint: add your user to group kvm"));
	free(out);
}

/* No seccomp filters: kvmini runs only with --seccomp=off, so the host is not "ready". */
static void test_no_seccomp(void **state)
{
	struct check_probe p = good_host();
	struct check_result r;
	int status;

	if (!KVMINI_HAVE_SECCOMP)
		skip();	/* -Dseccomp=disabled: the verdict says that instead */
	char *out;

	(void)state;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_READY);
	assert_false(has_hint(&r, "seccomp"));
	out = report(&p, &status);
	assert_non_null(strstr(out, "seccomp filters"));
	assert_non_null(strstr(out, " ok\n"));
	free(out);

	p.seccomp_errno = EINVAL;
	check_decide(&p, &r);
	assert_int_equal(r.status, CHECK_LIMITED);
	assert_true(has_hint(&r, "--seccomp=off"));
	assert_non_null(strstr(r.verdict, "ready: hardware KVM"));
	assert_non_null(strstr(r.verdict, "; no seccomp filters (--seccomp=off)"));
	out = report(&p, &status);
	assert_int_equal(status, CHECK_LIMITED);
	assert_non_null(strstr(out, "unavailable: Invalid argument"));
	free(out);

	/* without /dev/kvm the hint still shows, the verdict stays about KVM */
	p.kvm_errno = ENOENT;
	check_decide(&p, &r);
	assert_true(has_hint(&r, "--seccomp=off"));
	assert_null(strstr(r.verdict, "seccomp"));
}

static void test_cmd_check_arguments(void **state)
{
	char *help[] = { "check", "--help", NULL };
	char *bad[] = { "check", "--frobnicate", NULL };

	(void)state;
	assert_int_equal(cmd_check(2, help), 0);
	assert_int_equal(cmd_check(2, bad), CHECK_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cpu_flags),
		cmocka_unit_test(test_cap_table),
		cmocka_unit_test(test_hardware_kvm_ready),
		cmocka_unit_test(test_software_kvm_pvm),
		cmocka_unit_test(test_no_virt_flags_without_pvm),
		cmocka_unit_test(test_no_dev_kvm),
		cmocka_unit_test(test_dev_kvm_permission),
		cmocka_unit_test(test_kvm_access_hint),
		cmocka_unit_test(test_dev_kvm_permission_node),
		cmocka_unit_test(test_linux_warning),
		cmocka_unit_test(test_api_version),
		cmocka_unit_test(test_missing_caps),
		cmocka_unit_test(test_create_vm_fails),
		cmocka_unit_test(test_networking_never_blocks),
		cmocka_unit_test(test_modules_load_lines),
		cmocka_unit_test(test_boot_modules_hint),
		cmocka_unit_test(test_report_shape),
		cmocka_unit_test(test_report_without_kvm),
		cmocka_unit_test(test_no_seccomp),
		cmocka_unit_test(test_cmd_check_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
