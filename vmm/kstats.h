/*
 * KVM's binary statistics (KVM_GET_STATS_FD, Linux 5.14+): the named
 * counters of a VM or vCPU fd, read with pread from a descriptor table.
 */
#ifndef KVMINI_KSTATS_H
#define KVMINI_KSTATS_H

#include <stdint.h>

/* The stats fd of @kvm_fd (a VM or vCPU), or -errno where KVM has none. */
int kstats_open(int kvm_fd);
/*
 * The value of the counter @name in stats fd @fd (a cumulative or
 * instant u64; for a histogram its first bucket). 0 or -errno: -ENOENT
 * without such a counter, -EINVAL for a malformed table.
 */
int kstats_read(int fd, const char *name, uint64_t *value);

#endif
