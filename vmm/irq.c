/*
 * Interrupt plumbing every arch shares: wired lines, direct MSIs, irqfds
 * and ioeventfds. The MSI routing table is the arch's (arch/x86/gsi.c).
 */
#include <errno.h>
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

int vm_msi_signal(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/*
	 * KVM returns how many CPUs took it; -1 (seen as EPERM) when no CPU
	 * matched the destination. Like a real MSI to nowhere, that is dropped.
	 */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

int vm_irqfd(struct vm *vm, int fd, unsigned int gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
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
