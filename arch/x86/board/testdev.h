/* kvm-unit-tests' x86 test devices (QEMU's pc-testdev and pci-testdev), made by --device. */
#ifndef KVMINI_X86_TESTDEV_H
#define KVMINI_X86_TESTDEV_H

#include "device.h"

struct vm;

/* Create the instance and device_add() it as @t's, with @ops's describe and destroy. */
int pc_testdev_create(struct vm *vm, const struct device_type *t, struct errmsg *err);
int pci_testdev_create(struct vm *vm, const struct device_type *t, struct errmsg *err);

#endif
