/*
 * `kvmini check`: can this host run kvmini guests, and if not, what to do.
 * Probing the host is separate from deciding, so the decision is testable.
 */
#ifndef KVMINI_CHECK_H
#define KVMINI_CHECK_H

#include <stdbool.h>
#include <stdio.h>

/* KVM capabilities the report shows, in report order. */
enum check_cap {
	CHECK_CAP_USER_MEMORY,
	CHECK_CAP_IRQCHIP,
	CHECK_CAP_PIT2,
	CHECK_CAP_IRQFD,
	CHECK_CAP_IOEVENTFD,
	CHECK_CAP_SET_TSS_ADDR,
	CHECK_CAP_SET_IDENTITY_MAP_ADDR,
	CHECK_CAP_EXT_CPUID,
	CHECK_CAP_IMMEDIATE_EXIT,
	CHECK_CAP_IRQ_ROUTING,
	CHECK_CAP_SIGNAL_MSI,
	CHECK_CAP_NR_VCPUS,
	CHECK_CAP_MAX_VCPUS,
	CHECK_CAP_NR_MEMSLOTS,
	CHECK_NR_CAPS,
};

enum check_cpu_virt {
	CPU_VIRT_NONE,		/* neither vmx nor svm in /proc/cpuinfo */
	CPU_VIRT_VMX,		/* Intel VT-x */
	CPU_VIRT_SVM,		/* AMD-V */
	CPU_VIRT_ARM64_EL2,	/* arm64: KVM exists only on a kernel booted at EL2 */
};

/* Who may open /dev/kvm, for the permission hint. Tests fill this by hand. */
struct check_node {
	bool known;		/* stat() of /dev/kvm worked */
	unsigned int uid, gid;	/* the node's owner and group */
	unsigned int mode;	/* its permission bits (07777) */
	char owner_name[33];	/* names of uid and gid ("": none) */
	char group_name[33];
	bool in_group;		/* this process holds gid (primary or supplementary) */
	bool kvm_group_exists;	/* the host has a group named kvm */
};

/* What the host probes found. Tests fill this by hand. */
struct check_probe {
	int kvm_errno;		/* 0: /dev/kvm opened O_RDWR; else errno of open() */
	struct check_node kvm_node;	/* filled when kvm_errno is EACCES or EPERM */
	int api_version;	/* KVM_GET_API_VERSION, or -errno */
	int caps[CHECK_NR_CAPS];	/* KVM_CHECK_EXTENSION results, 0 = absent */
	int create_vm_errno;	/* 0: KVM_CREATE_VM worked; else errno */
	enum check_cpu_virt cpu_virt;
	bool kvm_pvm;		/* the software KVM module kvm_pvm is loaded */
	int tun_errno;		/* 0: /dev/net/tun opened; else errno */
	int vhost_net_errno;	/* 0: /dev/vhost-net opened; else errno */
	int seccomp_errno;	/* 0: the kernel takes seccomp filters; else errno
				   (EINVAL: built without CONFIG_SECCOMP_FILTER) */
	unsigned int boot_modules;	/* CHECK_BOOT_*: listed in modules-load.d or /etc/modules */
};

/* The modules --net needs, as loaded at boot by systemd-modules-load. */
#define CHECK_BOOT_TUN		1u
#define CHECK_BOOT_VHOST_NET	2u

/* The CHECK_BOOT_* module one line of a modules-load.d file names, or 0. */
unsigned int check_parse_modules_load(const char *line);

#define CHECK_MAX_HINTS 6
#define CHECK_TEXT_MAX 512

enum check_status {
	CHECK_READY = 0,	/* hardware KVM: Linux guests boot */
	CHECK_LIMITED = 1,	/* software KVM only, or something needed is missing */
	CHECK_USAGE = 2,	/* bad command line */
};

struct check_result {
	enum check_status status;
	char verdict[CHECK_TEXT_MAX];
	unsigned int nr_hints;
	char hints[CHECK_MAX_HINTS][CHECK_TEXT_MAX];
};

/* "KVM_CAP_IRQCHIP", ... */
const char *check_cap_name(enum check_cap cap);
/* Whether kvmini cannot run any guest without @cap. */
bool check_cap_required(enum check_cap cap);

/* vmx/svm from one "flags : ..." line of /proc/cpuinfo (whole words). */
enum check_cpu_virt check_parse_cpu_flags(const char *line);

/*
 * The fix for "permission denied" on /dev/kvm that applies to node @n, one
 * line into @buf: join the node's group when it grants read-write, else
 * give the node to group kvm (udev rule, chgrp + chmod), or run as root. Pure.
 */
void check_kvm_access_hint(const struct check_node *n, char *buf, size_t size);

/* Fill @n from /dev/kvm and this process's groups. */
void check_probe_kvm_node(struct check_node *n);

/*
 * For `kvmini run` of a Linux kernel @kernel: on a host without VT-x/AMD-V
 * (@p's cpu_virt and kvm_pvm), one warning line into @buf that stock Linux
 * cannot boot here, with `kvmini check`'s verdict and where to go instead.
 * Returns false (and leaves @buf alone) on hardware KVM. Pure.
 */
bool check_linux_warning(const struct check_probe *p, const char *kernel,
			 char *buf, size_t size);

/* Fill the cpu_virt and kvm_pvm fields of @p from this host. */
void check_probe_virt(struct check_probe *p);

/* The verdict, its exit status and the hints for @p. Pure. */
void check_decide(const struct check_probe *p, struct check_result *r);

/*
 * Print the report for @p to @out: "  item ..... value" lines, then one
 * "hint: " line per hint, then "verdict: ..." last. Returns the status.
 */
enum check_status check_report(FILE *out, const struct check_probe *p);

/* Fill @p from this host: /dev/kvm, /proc/cpuinfo, /sys/module, tun, vhost. */
void check_probe_host(struct check_probe *p);

#endif
