/* The VM's KVM GSI routing table (arch/x86/gsi.c): PIC, IOAPIC and MSI routes. */
#ifndef KVMINI_X86_GSI_H
#define KVMINI_X86_GSI_H

struct vm;
struct x86_gsi;

/*
 * Build the PC wiring (ISA IRQs on the 8259 pair and the IOAPIC, IRQ0 on
 * pin 2) and hand it to KVM. 0 or -errno after kv_err().
 */
int x86_gsi_init(struct vm *vm, struct x86_gsi **out);
void x86_gsi_free(struct x86_gsi *g);
/* The VM's table, or NULL before arch_vm_init (x86.c). */
struct x86_gsi *x86_vm_gsi(struct vm *vm);

#endif
