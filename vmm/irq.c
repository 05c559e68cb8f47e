/*
 * Interrupt plumbing every arch shares: wired lines, direct MSIs, irqfds
 * and ioeventfds. The MSI routing table is the arch's (arch/x86/gsi.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "arch.h"
#include "board.h"
#include "irq.h"
#include "vm.h"

int irq_pool_alloc(struct irq_pool *p)
{
	for (unsigned int i = 0; i < p->nr && i < 64; i++) {
		if (!(p->used >> i & 1)) {
			p->used |= 1ULL << i;
			return (int)p->lines[i];
		}
	}
	return -ENOSPC;
}

void irq_pool_free(struct irq_pool *p, unsigned int line)
{
	for (unsigned int i = 0; i < p->nr && i < 64; i++)
		if (p->lines[i] == line)
			p->used &= ~(1ULL << i);
}

int vm_irq_alloc(struct vm *vm)
{
	if (!vm->irqs.lines)
		vm->irqs.lines = board_irq_pool(&vm->irqs.nr);
	return irq_pool_alloc(&vm->irqs);
}

void vm_irq_free(struct vm *vm, unsigned int line)
{
	irq_pool_free(&vm->irqs, line);
}

int vm_irq_line(struct vm *vm, unsigned int line, int level)
{
	struct kvm_irq_level irq = { .irq = arch_irq_line(line), .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int irqfd_ioctl(struct vm *vm, int fd, unsigned int gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static int irqfd_defer(struct irqfd_deferred *d, int fd, unsigned int gsi)
{
	if (d->nr == d->cap) {
		unsigned int cap = d->cap ? d->cap * 2 : 16;
		struct irqfd_wait *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->nr++] = (struct irqfd_wait){ .fd = fd, .gsi = gsi };
	return 0;
}

/* Whether (@fd, @gsi) was waiting; it no longer is. */
static bool irqfd_undefer(struct irqfd_deferred *d, int fd, unsigned int gsi)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		if (d->v[i].fd == fd && d->v[i].gsi == gsi) {
			d->v[i] = d->v[--d->nr];
			return true;
		}
	}
	return false;
}

int vm_irqfd(struct vm *vm, int fd, unsigned int gsi, bool assign)
{
	struct irqfd_deferred *d = &vm->irqfd_wait;
	int ret;

	if (!assign && !d->ready && irqfd_undefer(d, fd, gsi))
		return 0;
	ret = irqfd_ioctl(vm, fd, gsi, assign);
	if (ret == -EAGAIN && assign && !d->ready)
		return irqfd_defer(d, fd, gsi);
	return ret;
}

int vm_irqfd_replay(struct vm *vm)
{
	struct irqfd_deferred *d = &vm->irqfd_wait;
	int ret = 0;

	d->ready = true;
	for (unsigned int i = 0; i < d->nr && !ret; i++)
		ret = irqfd_ioctl(vm, d->v[i].fd, d->v[i].gsi, true);
	irqfd_deferred_free(d);
	return ret;
}

void irqfd_deferred_free(struct irqfd_deferred *d)
{
	free(d->v);
	d->v = NULL;
	d->nr = d->cap = 0;
}

static int ioeventfd(struct vm *vm, struct kvm_ioeventfd *io, bool is_pio, bool assign)
{
	io->flags |= (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		     (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, io) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
		 bool assign)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd };

	return ioeventfd(vm, &io, is_pio, assign);
}

int vm_ioeventfd_match(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
		       uint64_t match, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = match,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioeventfd(vm, &io, is_pio, assign);
}
