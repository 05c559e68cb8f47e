/*
 * irq.h's MSI routes on arm64: MSIs go through the GICv3 ITS, which
 * identifies the sender by its requester ID (KVM_MSI_VALID_DEVID and the
 * device tree's identity msi-map). Without an ITS there are none.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "arm64.h"
#include "irq.h"
#include "vm.h"

#define TABLE_ENTRIES	(ARM64_IRQ_SPIS + ARM64_MSI_ROUTES)

int arm64_msi_init(struct arm64_vm *a)
{
	struct arm64_msi *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->table = calloc(1, sizeof(*m->table) + TABLE_ENTRIES * sizeof(m->table->entries[0]));
	if (!m->table) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	a->msi = m;
	return 0;
}

void arm64_msi_free(struct arm64_vm *a)
{
	if (!a->msi)
		return;
	pthread_mutex_destroy(&a->msi->lock);
	free(a->msi->table);
	free(a->msi);
	a->msi = NULL;
}

static struct arm64_msi *vm_msi(struct vm *vm)
{
	struct arm64_vm *a = vm->arch;

	return a ? a->msi : NULL;
}

/* The whole table: KVM_SET_GSI_ROUTING replaces the default SPI routes too. Lock held. */
static int commit(struct vm *vm, struct arm64_msi *m)
{
	struct kvm_irq_routing *t = m->table;

	t->nr = 0;
	t->flags = 0;
	for (unsigned int spi = 0; spi < ARM64_IRQ_SPIS; spi++)
		t->entries[t->nr++] = (struct kvm_irq_routing_entry){
			.gsi = spi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = spi },
		};
	for (unsigned int i = 0; i < m->next; i++) {
		if (!m->r[i].active)
			continue;
		t->entries[t->nr++] = (struct kvm_irq_routing_entry){
			.gsi = ARM64_MSI_GSI_BASE + i,
			.type = KVM_IRQ_ROUTING_MSI,
			.flags = KVM_MSI_VALID_DEVID,
			.u.msi = {
				.address_lo = (uint32_t)m->r[i].addr,
				.address_hi = (uint32_t)(m->r[i].addr >> 32),
				.data = m->r[i].data,
				.devid = m->r[i].devid,
			},
		};
	}
	return ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
}

int vm_msi_alloc(struct vm *vm)
{
	struct arm64_msi *m = vm_msi(vm);
	int gsi = -ENOSPC;

	if (!m)
		return -ENODEV;	/* no ITS */
	pthread_mutex_lock(&m->lock);
	if (m->next < ARM64_MSI_ROUTES)
		gsi = (int)(ARM64_MSI_GSI_BASE + m->next++);
	pthread_mutex_unlock(&m->lock);
	return gsi;
}

int vm_msi_set(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data, uint32_t devid,
	       bool masked)
{
	struct arm64_msi *m = vm_msi(vm);
	struct arm64_msi_route *r, old;
	int ret = 0;

	if (!m)
		return -ENODEV;
	pthread_mutex_lock(&m->lock);
	if (gsi < ARM64_MSI_GSI_BASE || gsi - ARM64_MSI_GSI_BASE >= m->next) {
		ret = -EINVAL;
		goto out;
	}
	r = &m->r[gsi - ARM64_MSI_GSI_BASE];
	old = *r;
	if (masked ? !r->active :
	    r->active && r->addr == addr && r->data == data && r->devid == devid)
		goto out;	/* KVM already has it */
	*r = (struct arm64_msi_route){ .active = !masked, .addr = addr, .data = data,
				       .devid = devid };
	ret = commit(vm, m);
	if (ret)
		*r = old;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int vm_msi_signal(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
		.flags = KVM_MSI_VALID_DEVID,
		.devid = devid,
	};

	/* 0: the ITS dropped it (not enabled, or no mapping for it), as hardware would */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}
