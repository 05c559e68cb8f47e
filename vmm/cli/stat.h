/* `kvmini stat`: the counters of running VMs, as kvm_stat shows them (kvmini-stat(1)). */
#ifndef KVMINI_STAT_H
#define KVMINI_STAT_H

int cmd_stat(int argc, char **argv);

#endif
