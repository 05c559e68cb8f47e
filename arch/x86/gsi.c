/*
 * MSI routes of vmm/irq.h for x86: the VM keeps its whole GSI routing
 * table (fixed PIC/IOAPIC entries, then MSI routes) and hands all of it to
 * KVM on every change, since KVM_SET_GSI_ROUTING replaces the table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "gsi.h"
#include "irq.h"
#include "layout.h"
#include "log.h"
#include "vm.h"

#define ISA_IRQS	16
#define PIC_CASCADE	2
#define MSI_GSI_BASE	IOAPIC_NR_PINS
#define MSI_GSI_MAX	1024	/* well under KVM's 4096 routes */
#define FIXED_ROUTES	(ISA_IRQS - 1 + IOAPIC_NR_PINS)

struct msi_route {
	uint64_t addr;
	uint32_t data;
	bool active;
};

struct x86_gsi {
	pthread_mutex_t lock;	/* vCPU threads write MSI-X tables concurrently */
	int vm_fd;
	unsigned int next_msi;	/* next GSI vm_msi_alloc() hands out */
	struct msi_route msi[MSI_GSI_MAX - MSI_GSI_BASE];
	struct kvm_irq_routing *table;	/* scratch, room for every route */
};

static void add_irqchip(struct kvm_irq_routing *r, unsigned int gsi,
			unsigned int chip, unsigned int pin)
{
	r->entries[r->nr++] = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/* Fill the scratch table with the fixed entries and active MSI routes; lock held. */
static int commit(struct x86_gsi *g)
{
	struct kvm_irq_routing *r = g->table;
	unsigned int gsi;

	r->nr = 0;
	r->flags = 0;
	/* PC wiring: ISA IRQs reach the 8259 pair and the IOAPIC, IRQ0 on pin 2 */
	for (gsi = 0; gsi < ISA_IRQS; gsi++)
		if (gsi != PIC_CASCADE)
			add_irqchip(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
				    KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	for (gsi = 0; gsi < IOAPIC_NR_PINS; gsi++)
		add_irqchip(r, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	for (gsi = MSI_GSI_BASE; gsi < g->next_msi; gsi++) {
		const struct msi_route *m = &g->msi[gsi - MSI_GSI_BASE];

		if (!m->active)
			continue;
		r->entries[r->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = {
				.address_lo = (uint32_t)m->addr,
				.address_hi = (uint32_t)(m->addr >> 32),
				.data = m->data,
			},
		};
	}
	if (ioctl(g->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
		return -errno;
	return 0;
}

int x86_gsi_init(struct vm *vm, struct x86_gsi **out)
{
	struct x86_gsi *g;
	int ret;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->table = calloc(1, sizeof(*g->table) +
			  (FIXED_ROUTES + MSI_GSI_MAX) * sizeof(g->table->entries[0]));
	if (!g->table) {
		free(g);
		return -ENOMEM;
	}
	pthread_mutex_init(&g->lock, NULL);
	g->vm_fd = vm->vm_fd;
	g->next_msi = MSI_GSI_BASE;
	ret = commit(g);
	if (ret) {
		kv_err("KVM_SET_GSI_ROUTING failed: %s", strerror(-ret));
		x86_gsi_free(g);
		return ret;
	}
	*out = g;
	return 0;
}

void x86_gsi_free(struct x86_gsi *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g->table);
	free(g);
}

int vm_msi_alloc(struct vm *vm)
{
	struct x86_gsi *g = x86_vm_gsi(vm);
	int gsi = -ENOSPC;

	if (!g)
		return -ENODEV;
	pthread_mutex_lock(&g->lock);
	if (g->next_msi < MSI_GSI_MAX)
		gsi = (int)g->next_msi++;
	pthread_mutex_unlock(&g->lock);
	return gsi;
}

int vm_msi_set(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data, uint32_t devid,
	       bool masked)
{
	struct x86_gsi *g = x86_vm_gsi(vm);
	struct msi_route *m, old;
	int ret = 0;

	(void)devid;	/* x86 MSIs carry no requester ID */
	if (!g)
		return -ENODEV;
	pthread_mutex_lock(&g->lock);
	if (gsi < MSI_GSI_BASE || gsi >= g->next_msi) {
		ret = -EINVAL;
		goto out;
	}
	m = &g->msi[gsi - MSI_GSI_BASE];
	old = *m;
	if (masked ? !m->active : m->active && m->addr == addr && m->data == data)
		goto out;	/* KVM already has it */
	m->active = !masked;
	m->addr = addr;
	m->data = data;
	ret = commit(g);
	if (ret)
		*m = old;
out:
	pthread_mutex_unlock(&g->lock);
	return ret;
}

int vm_msi_signal(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	(void)devid;	/* the IOAPIC's world has no requester IDs */
	/*
	 * KVM returns how many CPUs took it; -1 (seen as EPERM) when no CPU
	 * matched the destination. Like a real MSI to nowhere, that is dropped.
	 */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 && errno != EPERM)
		return -errno;
	return 0;
}
