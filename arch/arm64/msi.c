/*
 * irq.h's MSI routes on arm64. An MSI through the ITS needs the device's
 * requester ID (KVM_MSI_VALID_DEVID), which vm_msi_set() does not carry
 * yet: until it does, no routes, and PCI devices cannot use MSI-X here.
 */
#include <errno.h>

#include "irq.h"

int vm_msi_alloc(struct vm *vm)
{
	(void)vm;
	return -ENOSPC;
}

int vm_msi_set(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data, bool masked)
{
	(void)vm, (void)gsi, (void)addr, (void)data, (void)masked;
	return -EOPNOTSUPP;
}
