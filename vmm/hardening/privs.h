/*
 * Privilege drop (--user, --group, and always with --jail): once everything
 * the VM needs is open, switch ids and clear every capability on every
 * thread, with no_new_privs. See docs/security.md.
 */
#ifndef KVMINI_PRIVS_H
#define KVMINI_PRIVS_H

#include "config.h"

/*
 * Before any file is opened: resolve --user/--group (NSS needs the host's
 * /etc, so before the jail's pivot_root), check that kvmini may switch to
 * them and that the other options allow it. No-op without --user, --group
 * and --jail. 0, or -errno after one kv_err() line.
 */
int privs_prepare(const struct vm_config *cfg);

/*
 * After setup, before the vCPU threads exist: switch to the resolved ids,
 * drop supplementary groups, clear the capability and bounding sets and
 * set no_new_privs in every thread of kvmini, and make it non-dumpable.
 * Runs once; later calls (a guest restart) return 0. 0, or -errno after
 * one kv_err() line: kvmini must then stop.
 */
int privs_drop(const struct vm_config *cfg);

#endif
