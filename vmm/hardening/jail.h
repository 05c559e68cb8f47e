/*
 * The jailer (--jail DIR, --jail-netns new|PATH): kvmini runs as PID 1 of
 * new mount, PID, IPC and UTS namespaces (and a network namespace on
 * request), with DIR as its root once its files are open. See
 * docs/security.md.
 */
#ifndef KVMINI_JAIL_H
#define KVMINI_JAIL_H

#include "config.h"

/*
 * At the start of `kvmini run`, while kvmini has a single thread: check
 * DIR and the options, enter the namespaces and fork. No-op (0) without
 * --jail. Returns 0 in the child, which goes on to run the VM; 1 in the
 * parent once the child has exited, with its exit status in *status (the
 * parent forwards the stop signals to the child meanwhile); -errno after
 * one kv_err() line. When the child ended by a signal, or reported one
 * (signals_end_by()), the parent ends by that signal and does not return.
 */
int jail_enter(const struct vm_config *cfg, int *status);

/*
 * Once everything the VM needs is open: pivot_root into DIR, detach the
 * host's file system, set the resource limits. Runs once; no-op without
 * --jail. Call privs_drop() next. 0, or -errno after one kv_err() line.
 */
int jail_lock_down(const struct vm_config *cfg);

#endif
