/*
 * Interrupt plumbing for devices: wired lines, MSI routes, irqfds and
 * ioeventfds, so that a device's interrupts and doorbells bypass
 * userspace vCPU exits. vmm/irq.c; the MSI routes are the arch's (KVM GSI
 * routing table).
 */
#ifndef KVMINI_IRQ_H
#define KVMINI_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/*
 * Interrupt lines a board leaves for devices to take (board_irq_pool()),
 * handed out lowest first; a freed line goes back.
 */
struct irq_pool {
	const unsigned int *lines;
	unsigned int nr;	/* at most 64 */
	uint64_t used;		/* bit i: lines[i] is taken */
};

/*
 * irqfds that KVM refused with EAGAIN because its irqchip is not
 * initialised yet (arm64's vgic waits for every vCPU): they wait here
 * until vm_irqfd_replay(). Only the setup thread touches the list.
 */
struct irqfd_deferred {
	struct irqfd_wait { int fd; unsigned int gsi; } *v;
	unsigned int nr, cap;
	bool ready;		/* replayed: later assignments go straight to KVM */
};

/* A line from @p, or -ENOSPC. */
int irq_pool_alloc(struct irq_pool *p);
/* Give @line back to @p; lines @p never had are ignored. */
void irq_pool_free(struct irq_pool *p, unsigned int line);
/* As irq_pool_alloc on the VM's pool (the board's, at first use). Setup thread only. */
int vm_irq_alloc(struct vm *vm);
void vm_irq_free(struct vm *vm, unsigned int line);

/*
 * Assert or deassert interrupt line @line of the in-kernel irqchip. Lines
 * come from the board (board.h), never from a device's own numbering.
 */
int vm_irq_line(struct vm *vm, unsigned int line, int level);

/* A free GSI for an MSI route (above the IOAPIC pins), or -ENOSPC. */
int vm_msi_alloc(struct vm *vm);
/*
 * Route @gsi to MSI message (@addr, @data) from the device whose requester
 * ID is @devid (bus << 8 | slot << 3 | function: arm64's ITS needs it; x86
 * ignores it); @masked removes the route. The arch's (x86: gsi.c).
 */
int vm_msi_set(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data, uint32_t devid,
	       bool masked);
/* Signal an MSI directly (KVM_SIGNAL_MSI), for a vector without an irqfd. The arch's. */
int vm_msi_signal(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid);
/*
 * Writes to @fd (an eventfd) raise @gsi (a board line or an MSI route) in
 * the kernel. Before the irqchip is ready an assignment may be deferred
 * (struct irqfd_deferred); it still returns 0.
 */
int vm_irqfd(struct vm *vm, int fd, unsigned int gsi, bool assign);
/* Once the irqchip is initialised (vm_create_vcpus): assign the deferred irqfds. */
int vm_irqfd_replay(struct vm *vm);
void irqfd_deferred_free(struct irqfd_deferred *d);
/* Guest writes to [addr, addr+len) signal @fd instead of exiting. */
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
		 bool assign);
/* As vm_ioeventfd, for writes of the value @match only: several doorbells share an address. */
int vm_ioeventfd_match(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool is_pio,
		       uint64_t match, bool assign);

#endif
