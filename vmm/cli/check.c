/*
 * `kvmini check`: probe /dev/kvm, CPU virtualization and the networking
 * devices, then print a report that ends in a one-line verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "check.h"
#include "kvmini-features.h"
#include "log.h"
#include "run.h"
#include "util.h"

#define CHECK_KVM_API	12
#define CHECK_COLUMN	36	/* where values start in the report */

#define HINT_KVM_GROUP \
	"add your user to group kvm: sudo usermod -aG kvm $USER, then log in again"
#define KVM_UDEV_RULE "65-kvmini-kvm.rules"
#define HINT_BOOT_MODULES \
	"; to load it at boot, list it in /etc/modules-load.d/ (the kvmini package " \
	"installs /usr/lib/modules-load.d/kvmini.conf)"
#define HINT_DMESG "look for KVM errors in the kernel log (dmesg)"
#define HINT_NESTED \
	"for Linux guests use a host with VT-x or AMD-V enabled, or the nested " \
	"test bed (an L1 Linux in qemu-system-x86_64 -accel tcg -cpu max,+svm)"

struct check_cap_info {
	const char *name;
	unsigned int kvm_cap;
	bool required;		/* kvmini cannot start a VM without it */
	bool count;		/* the answer is a number, not yes/no */
};

/*
 * x86's own capabilities are required there; an arm64 build shows them
 * but needs none of them (its own list belongs in the arch contract).
 */
#ifdef __x86_64__
#define X86_ONLY true
#else
#define X86_ONLY false
#ifndef KVM_CAP_PIT2
#define KVM_CAP_PIT2 33		/* linux/kvm.h defines it under __KVM_HAVE_PIT only */
#endif
#endif

#define CAP(id, required, count) \
	[CHECK_CAP_##id] = { "KVM_CAP_" #id, KVM_CAP_##id, required, count }

static const struct check_cap_info check_caps[CHECK_NR_CAPS] = {
	CAP(USER_MEMORY, true, false),
	CAP(IRQCHIP, true, false),
	CAP(PIT2, X86_ONLY, false),
	CAP(IRQFD, true, false),
	CAP(IOEVENTFD, true, false),
	CAP(SET_TSS_ADDR, X86_ONLY, false),
	CAP(SET_IDENTITY_MAP_ADDR, X86_ONLY, false),
	CAP(EXT_CPUID, X86_ONLY, false),
	CAP(IMMEDIATE_EXIT, false, false),
	CAP(IRQ_ROUTING, false, false),
	CAP(SIGNAL_MSI, false, false),
	CAP(NR_VCPUS, false, true),
	CAP(MAX_VCPUS, false, true),
	CAP(NR_MEMSLOTS, false, true),
};

#undef CAP

const char *check_cap_name(enum check_cap cap)
{
	return cap < CHECK_NR_CAPS ? check_caps[cap].name : "?";
}

bool check_cap_required(enum check_cap cap)
{
	return cap < CHECK_NR_CAPS && check_caps[cap].required;
}

enum check_cpu_virt check_parse_cpu_flags(const char *line)
{
	enum check_cpu_virt v = CPU_VIRT_NONE;
	const char *colon = strchr(line, ':');
	const char *p = line, *key_end;

	if (!colon)
		return CPU_VIRT_NONE;
	/* The key must be exactly "flags" (not "vmx flags", "bugs", ...). */
	while (*p == ' ' || *p == '\t')
		p++;
	key_end = colon;
	while (key_end > p && (key_end[-1] == ' ' || key_end[-1] == '\t'))
		key_end--;
	if (key_end - p != 5 || strncmp(p, "flags", 5))
		return CPU_VIRT_NONE;

	for (p = colon + 1; *p; ) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (n == 3 && !strncmp(p, "vmx", 3))
			return CPU_VIRT_VMX;
		if (n == 3 && !strncmp(p, "svm", 3))
			v = CPU_VIRT_SVM;
		p += n;
	}
	return v;
}

static void check_set_verdict(struct check_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_set_verdict(struct check_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->verdict, sizeof(r->verdict), fmt, ap);
	va_end(ap);
}

static void check_add_hint(struct check_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_add_hint(struct check_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nr_hints >= CHECK_MAX_HINTS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->hints[r->nr_hints++], CHECK_TEXT_MAX, fmt, ap);
	va_end(ap);
}

static void check_append_verdict(struct check_result *r, const char *text)
{
	size_t len = strlen(r->verdict);

	snprintf(r->verdict + len, sizeof(r->verdict) - len, "%s", text);
}

static bool check_errno_missing(int err)
{
	return err == ENOENT || err == ENODEV || err == ENXIO;
}

/* "root:kvm 0660", with numbers where a name is unknown. */
static void check_node_label(const struct check_node *n, char *buf, size_t size)
{
	char uid[16], gid[16];

	snprintf(uid, sizeof(uid), "%u", n->uid);
	snprintf(gid, sizeof(gid), "%u", n->gid);
	snprintf(buf, size, "%s:%s %04o", n->owner_name[0] ? n->owner_name : uid,
		 n->group_name[0] ? n->group_name : gid, n->mode & 07777);
}

void check_kvm_access_hint(const struct check_node *n, char *buf, size_t size)
{
	bool rw_other, rw_group;
	char label[96], gid[16];
	const char *group;

	if (!n->known) {
		snprintf(buf, size, "%s", HINT_KVM_GROUP);
		return;
	}
	check_node_label(n, label, sizeof(label));
	rw_other = (n->mode & 0006) == 0006;
	/* never advise joining group root */
	rw_group = (n->mode & 0060) == 0060 && n->gid != 0;
	if (rw_other || (rw_group && n->in_group)) {
		snprintf(buf, size, "/dev/kvm is %s, which lets this process open it: look in "
			 "the kernel log (dmesg) for an SELinux or AppArmor denial, and check "
			 "that /dev is not mounted nodev", label);
		return;
	}
	if (rw_group) {
		snprintf(gid, sizeof(gid), "%u", n->gid);
		group = n->group_name[0] ? n->group_name : gid;
		snprintf(buf, size, "/dev/kvm is %s: add your user to group %s: sudo usermod "
			 "-aG %s $USER, then log in again; or run kvmini as root",
			 label, group, group);
		return;
	}
	snprintf(buf, size, "/dev/kvm is %s, which group kvm cannot open: %sgive it to "
		 "group kvm with the udev rule " KVM_UDEV_RULE " (the kvmini package and "
		 "meson install put it in /usr/lib/udev/rules.d; tools/udev/ in a source "
		 "tree) or sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm, then add your "
		 "user to group kvm: sudo usermod -aG kvm $USER, then log in again; or run "
		 "kvmini as root", label,
		 n->kvm_group_exists ? "" : "create the group (sudo groupadd --system kvm), ");
}

static void check_decide_no_kvm(const struct check_probe *p,
				struct check_result *r)
{
	if (check_errno_missing(p->kvm_errno)) {
		check_set_verdict(r, "cannot run guests: /dev/kvm does not exist");
		if (p->cpu_virt == CPU_VIRT_VMX)
			check_add_hint(r, "load the module: modprobe kvm_intel");
		else if (p->cpu_virt == CPU_VIRT_SVM)
			check_add_hint(r, "load the module: modprobe kvm_amd");
		else if (p->cpu_virt == CPU_VIRT_ARM64_EL2)
			check_add_hint(r, "boot the host kernel at EL2 (with QEMU: "
				       "-M virt,virtualization=on)");
		else
			check_add_hint(r, "load the module: modprobe kvm_intel or kvm_amd; "
				       "enable virtualization (VT-x/AMD-V) in firmware");
	} else if (p->kvm_errno == EACCES || p->kvm_errno == EPERM) {
		char hint[CHECK_TEXT_MAX];

		check_set_verdict(r, "cannot run guests: no permission to open "
				  "/dev/kvm read-write");
		check_kvm_access_hint(&p->kvm_node, hint, sizeof(hint));
		check_add_hint(r, "%s", hint);
	} else {
		check_set_verdict(r, "cannot run guests: cannot open /dev/kvm: %s",
				  strerror(p->kvm_errno));
		check_add_hint(r, HINT_DMESG);
	}
}

/* Names of missing required capabilities, comma-separated; false if none. */
static bool check_missing_caps(const struct check_probe *p, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < CHECK_NR_CAPS; i++) {
		if (!check_caps[i].required || p->caps[i] > 0)
			continue;
		if (len < size)
			len += snprintf(buf + len, size - len, "%s%s",
					len ? ", " : "", check_caps[i].name);
	}
	return buf[0] != '\0';
}

static void check_decide_software(const struct check_probe *p,
				  struct check_result *r)
{
	if (p->kvm_pvm) {
		check_set_verdict(r, "software KVM only (kvm_pvm, no VT-x/AMD-V): "
				  "small guests such as the firmware/ images run; "
				  "stock Linux kernels cannot boot here");
		check_add_hint(r, "kvm_pvm emulates guest kernel code one instruction "
			       "at a time: a Linux kernel crawls, then stops with "
			       "KVM_EXIT_INTERNAL_ERROR");
	} else {
		check_set_verdict(r, "no VT-x/AMD-V (no vmx/svm flag in /proc/cpuinfo): "
				  "/dev/kvm is not hardware-backed; expect only small "
				  "guests such as the firmware/ images to run");
	}
	check_add_hint(r, HINT_NESTED);
}

bool check_linux_warning(const struct check_probe *p, const char *kernel,
			 char *buf, size_t size)
{
	struct check_result r;

	if (p->cpu_virt != CPU_VIRT_NONE)
		return false;
	memset(&r, 0, sizeof(r));
	check_decide_software(p, &r);
	snprintf(buf, size, "kernel %s is Linux, which cannot boot on this host's software "
		 "KVM: it will likely print nothing until --timeout or stop with a KVM "
		 "error; kvmini check says: %s; for Linux use a host with VT-x/AMD-V, or "
		 "the nested test bed (tests/nested/)", kernel, r.verdict);
	return true;
}

/* Returns whether KVM itself is usable (even if only in software). */
static bool check_decide_kvm(const struct check_probe *p, struct check_result *r)
{
	char missing[CHECK_TEXT_MAX - 64];

	if (p->api_version < 0) {
		check_set_verdict(r, "cannot run guests: KVM_GET_API_VERSION failed: %s",
				  strerror(-p->api_version));
		check_add_hint(r, HINT_DMESG);
		return false;
	}
	if (p->api_version != CHECK_KVM_API) {
		check_set_verdict(r, "cannot run guests: KVM API version %d, kvmini needs %d",
				  p->api_version, CHECK_KVM_API);
		check_add_hint(r, "use a host kernel with the stable KVM API "
			       "(Linux 2.6.22 or later)");
		return false;
	}
	if (check_missing_caps(p, missing, sizeof(missing))) {
		check_set_verdict(r, "cannot run guests: KVM lacks %s", missing);
		check_add_hint(r, "use a newer host kernel (in-kernel irqchip, PIT, "
			       "irqfd and ioeventfd)");
		return false;
	}
	if (p->create_vm_errno) {
		check_set_verdict(r, "cannot run guests: KVM_CREATE_VM failed: %s",
				  strerror(p->create_vm_errno));
		check_add_hint(r, "another hypervisor (VirtualBox, VMware) may hold "
			       "VT-x/AMD-V: stop it; else " HINT_DMESG);
		return false;
	}
	if (p->cpu_virt == CPU_VIRT_NONE) {
		check_decide_software(p, r);
		return true;
	}
	r->status = CHECK_READY;
	check_set_verdict(r, "ready: hardware KVM (%s) works; kvmini can boot Linux guests",
			  p->cpu_virt == CPU_VIRT_VMX ? "VT-x" :
			  p->cpu_virt == CPU_VIRT_SVM ? "AMD-V" : "arm64 EL2");
	return true;
}

/* Networking is optional: it adds hints and notes, never changes the status. */
static void check_decide_net(const struct check_probe *p, struct check_result *r,
			     bool kvm_usable)
{
	if (!KVMINI_HAVE_NET) {
		if (kvm_usable)
			check_append_verdict(r, "; built without networking (-Dnet=disabled)");
		return;
	}
	if (check_errno_missing(p->tun_errno)) {
		check_add_hint(r, "networking: /dev/net/tun is missing: modprobe tun%s",
			       p->boot_modules & CHECK_BOOT_TUN ? "" : HINT_BOOT_MODULES);
	} else if (p->tun_errno) {
		check_add_hint(r, "networking: cannot open /dev/net/tun (%s): run kvmini "
			       "as root, or give the device its usual mode 0666",
			       strerror(p->tun_errno));
	}
	if (check_errno_missing(p->vhost_net_errno)) {
		check_add_hint(r, "faster networking: /dev/vhost-net is missing: "
			       "modprobe vhost_net%s", p->boot_modules & CHECK_BOOT_VHOST_NET ?
			       "" : HINT_BOOT_MODULES);
	} else if (p->vhost_net_errno) {
		check_add_hint(r, "faster networking: cannot open /dev/vhost-net (%s): "
			       "run kvmini as root or add your user to the device's group",
			       strerror(p->vhost_net_errno));
	}
	if (!kvm_usable)
		return;
	if (p->tun_errno)
		check_append_verdict(r, "; no networking (/dev/net/tun)");
	else if (p->vhost_net_errno)
		check_append_verdict(r, "; networking without vhost-net");
}

/* kvmini installs seccomp filters by default: without them `run` needs --seccomp=off. */
static void check_decide_seccomp(const struct check_probe *p, struct check_result *r,
				 bool kvm_usable)
{
	if (!KVMINI_HAVE_SECCOMP) {
		if (kvm_usable)
			check_append_verdict(r, "; built without seccomp filters "
					     "(-Dseccomp=disabled)");
		return;
	}
	if (!p->seccomp_errno)
		return;
	check_add_hint(r, "sandbox: this kernel takes no seccomp filters (%s): run kvmini "
		       "with --seccomp=off, which confines it less (docs/security.md)",
		       strerror(p->seccomp_errno));
	if (!kvm_usable)
		return;
	r->status = CHECK_LIMITED;
	check_append_verdict(r, "; no seccomp filters (--seccomp=off)");
}

void check_decide(const struct check_probe *p, struct check_result *r)
{
	bool kvm_usable = false;

	memset(r, 0, sizeof(*r));
	r->status = CHECK_LIMITED;	/* until proven ready */
	if (p->kvm_errno)
		check_decide_no_kvm(p, r);
	else
		kvm_usable = check_decide_kvm(p, r);
	check_decide_seccomp(p, r, kvm_usable);
	check_decide_net(p, r, kvm_usable);
}

static void check_line(FILE *out, const char *item, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_line(FILE *out, const char *item, const char *fmt, ...)
{
	size_t n = strlen(item) + 3;	/* "  item " */
	va_list ap;

	fprintf(out, "  %s ", item);
	do {
		fputc('.', out);
	} while (++n < CHECK_COLUMN - 1);
	fputc(' ', out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static void check_report_dev(FILE *out, const char *path, int err)
{
	if (!err)
		check_line(out, path, "ok");
	else if (check_errno_missing(err))
		check_line(out, path, "missing");
	else
		check_line(out, path, "cannot open: %s", strerror(err));
}

static void check_report_caps(FILE *out, const struct check_probe *p)
{
	for (unsigned int i = 0; i < CHECK_NR_CAPS; i++) {
		const struct check_cap_info *c = &check_caps[i];
		const char *need = c->required && p->caps[i] <= 0 ? " (required)" : "";

		if (c->count && p->caps[i] > 0)
			check_line(out, c->name, "%d", p->caps[i]);
		else
			check_line(out, c->name, "%s%s", p->caps[i] > 0 ? "yes" : "no", need);
	}
}

enum check_status check_report(FILE *out, const struct check_probe *p)
{
	static const char *const virt_names[] = {
		[CPU_VIRT_NONE] = "none (no vmx/svm flag in /proc/cpuinfo)",
		[CPU_VIRT_VMX] = "VT-x (vmx)",
		[CPU_VIRT_SVM] = "AMD-V (svm)",
		[CPU_VIRT_ARM64_EL2] = "arm64 (KVM at EL2)",
	};
	struct check_result r;

	check_decide(p, &r);
	fprintf(out, "kvmini check: can this host run kvmini guests?\n");
	check_report_dev(out, "/dev/kvm", p->kvm_errno);
	if (!p->kvm_errno) {
		if (p->api_version < 0)
			check_line(out, "KVM API version", "error: %s", strerror(-p->api_version));
		else
			check_line(out, "KVM API version", "%d", p->api_version);
		check_report_caps(out, p);
		if (p->create_vm_errno)
			check_line(out, "KVM_CREATE_VM", "failed: %s",
				   strerror(p->create_vm_errno));
		else
			check_line(out, "KVM_CREATE_VM", "ok");
	} else {
		check_line(out, "KVM capabilities", "not probed");
	}
	check_line(out, "hardware virtualization", "%s",
		   p->cpu_virt < ARRAY_SIZE(virt_names) ? virt_names[p->cpu_virt] : "?");
	check_line(out, "software KVM (kvm_pvm)", "%s", p->kvm_pvm ? "loaded" : "no");
	if (!KVMINI_HAVE_SECCOMP)
		check_line(out, "seccomp filters", "not built (-Dseccomp=disabled)");
	else if (p->seccomp_errno)
		check_line(out, "seccomp filters", "unavailable: %s", strerror(p->seccomp_errno));
	else
		check_line(out, "seccomp filters", "ok");
	if (KVMINI_HAVE_NET) {
		check_report_dev(out, "/dev/net/tun", p->tun_errno);
		check_report_dev(out, "/dev/vhost-net", p->vhost_net_errno);
		check_line(out, "tun loaded at boot", "%s", p->boot_modules & CHECK_BOOT_TUN ?
			   "yes (modules-load.d)" : "no");
		check_line(out, "vhost_net loaded at boot", "%s",
			   p->boot_modules & CHECK_BOOT_VHOST_NET ? "yes (modules-load.d)" : "no");
	}
	check_line(out, "kvmini built with", "%s", KVMINI_FEATURES_ON[0] ? KVMINI_FEATURES_ON : "-");
	if (KVMINI_FEATURES_OFF[0])
		check_line(out, "kvmini built without", "%s", KVMINI_FEATURES_OFF);
	for (unsigned int i = 0; i < r.nr_hints; i++)
		fprintf(out, "hint: %s\n", r.hints[i]);
	fprintf(out, "verdict: %s\n", r.verdict);
	return r.status;
}

static int check_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static bool check_holds_group(gid_t gid)
{
	gid_t groups[256];
	int n;

	if (getegid() == gid)
		return true;
	n = getgroups(ARRAY_SIZE(groups), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

void check_probe_kvm_node(struct check_node *n)
{
	struct passwd *pw;
	struct group *gr;
	struct stat st;

	memset(n, 0, sizeof(*n));
	if (stat("/dev/kvm", &st))
		return;
	n->known = true;
	n->uid = st.st_uid;
	n->gid = st.st_gid;
	n->mode = st.st_mode & 07777;
	pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(n->owner_name, sizeof(n->owner_name), "%s", pw->pw_name);
	gr = getgrgid(st.st_gid);
	if (gr)
		snprintf(n->group_name, sizeof(n->group_name), "%s", gr->gr_name);
	n->in_group = check_holds_group(st.st_gid);
	n->kvm_group_exists = getgrnam("kvm") != NULL;
}

static void check_probe_kvm(struct check_probe *p)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (fd < 0) {
		p->kvm_errno = errno;
		if (errno == EACCES || errno == EPERM)
			check_probe_kvm_node(&p->kvm_node);
		return;
	}
	p->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (p->api_version < 0)
		p->api_version = -errno;
	for (unsigned int i = 0; i < CHECK_NR_CAPS; i++) {
		int ret = ioctl(fd, KVM_CHECK_EXTENSION, check_caps[i].kvm_cap);

		p->caps[i] = ret > 0 ? ret : 0;
	}
	/* Fails if, say, another hypervisor holds VT-x/AMD-V. */
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		p->create_vm_errno = errno;
	else
		close(vm);
	close(fd);
}

static enum check_cpu_virt check_probe_cpu(void)
{
#ifdef __aarch64__
	/* no CPU flag says it: an arm64 /dev/kvm is the hardware's, at EL2 */
	return CPU_VIRT_ARM64_EL2;
#else
	enum check_cpu_virt v = CPU_VIRT_NONE;
	FILE *f = fopen("/proc/cpuinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return CPU_VIRT_NONE;
	/* The first CPU's flags line speaks for all of them. */
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5))
			continue;
		v = check_parse_cpu_flags(line);
		break;
	}
	free(line);
	fclose(f);
	return v;
#endif
}

static bool check_probe_pvm(void)
{
	FILE *f;
	char line[256];
	bool found = false;

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return true;
	f = fopen("/proc/modules", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "kvm_pvm ", 8);
	fclose(f);
	return found;
}

/*
 * Whether the kernel takes seccomp filters, without installing one: a NULL
 * filter fails with EFAULT where filters exist, EINVAL where they do not.
 */
static int check_probe_seccomp(void)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) == 0)
		return 0;	/* cannot happen with a NULL filter */
	return errno == EFAULT ? 0 : errno;
}

unsigned int check_parse_modules_load(const char *line)
{
	size_t n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t\r\n#;");
	/* module names treat - and _ alike; a comment or options may follow */
	if (n == 3 && !strncmp(line, "tun", 3))
		return CHECK_BOOT_TUN;
	if (n == 9 && (!strncmp(line, "vhost_net", 9) || !strncmp(line, "vhost-net", 9)))
		return CHECK_BOOT_VHOST_NET;
	return 0;
}

static unsigned int check_scan_modules_file(const char *path)
{
	unsigned int found = 0;
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		found |= check_parse_modules_load(line);
	fclose(f);
	return found;
}

/*
 * What systemd-modules-load will load: *.conf in these directories, a name in
 * an earlier one hiding the same name in later ones (a link to /dev/null masks).
 */
static unsigned int check_probe_boot_modules(void)
{
	static const char *const dirs[] = { "/etc/modules-load.d", "/run/modules-load.d",
		"/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d", "/lib/modules-load.d" };
	char seen[64][NAME_MAX + 1], path[PATH_MAX];
	unsigned int found = check_scan_modules_file("/etc/modules"), nr_seen = 0, i, j;
	struct dirent *de;
	DIR *d;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);

			if (len < 6 || strcmp(de->d_name + len - 5, ".conf"))
				continue;
			for (j = 0; j < nr_seen && strcmp(seen[j], de->d_name); j++)
				;
			if (j < nr_seen)
				continue;
			if (nr_seen < ARRAY_SIZE(seen))
				snprintf(seen[nr_seen++], sizeof(seen[0]), "%s", de->d_name);
			snprintf(path, sizeof(path), "%s/%s", dirs[i], de->d_name);
			found |= check_scan_modules_file(path);
		}
		closedir(d);
	}
	return found;
}

void check_probe_virt(struct check_probe *p)
{
	p->cpu_virt = check_probe_cpu();
	p->kvm_pvm = check_probe_pvm();
}

void check_probe_host(struct check_probe *p)
{
	memset(p, 0, sizeof(*p));
	check_probe_kvm(p);
	check_probe_virt(p);
	p->tun_errno = check_open("/dev/net/tun");
	p->vhost_net_errno = check_open("/dev/vhost-net");
	p->seccomp_errno = check_probe_seccomp();
	p->boot_modules = check_probe_boot_modules();
}

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: kvmini check [--help]\n"
		"\n"
		"Report whether this host can run kvmini guests: access to /dev/kvm,\n"
		"the KVM API version and capabilities, CPU virtualization (VT-x/AMD-V),\n"
		"seccomp filter support, the networking devices and whether their\n"
		"modules load at boot (modules-load.d), and what this kvmini is built\n"
		"without. The last line is the verdict.\n"
		"\n"
		"Exit status:\n"
		"  0  hardware KVM works: Linux guests can boot\n"
		"  1  software KVM only (small guests such as the firmware/ images),\n"
		"     or something kvmini needs is missing: follow the hints\n"
		"  2  bad arguments\n");
}

int cmd_check(int argc, char **argv)
{
	struct check_probe p;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			check_usage(stdout);
			return 0;
		}
		kv_err("check: unknown argument '%s'; usage: kvmini check [--help]", argv[i]);
		return CHECK_USAGE;
	}
	check_probe_host(&p);
	return check_report(stdout, &p);
}
