/*
 * The application processors' way from the SIPI to long mode. smp.c copies
 * ap_tramp_start..ap_tramp_end to AP_TRAMP_BASE (SIPI vector 0x10) and fills
 * in the BSP's control registers; every address used here is that copy's.
 * An AP takes a slot, stores its APIC id there, counts itself done and halts,
 * or with ap_tramp_spin set counts ap_tramp_spins up forever (a running AP
 * for the snapshot tests). It needs no stack.
 */
#include "smp.h"

#define T(sym) AP_TRAMP_BASE + sym - ap_tramp_start

	.section .rodata.ap_tramp, "a"
	.balign 16
	.globl ap_tramp_start
	.code16
ap_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	ap_gdt_ptr - ap_tramp_start
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $T(ap_pm32)

	.code32
ap_pm32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	T(ap_tramp_cr4), %eax
	movl	%eax, %cr4
	movl	T(ap_tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx	/* IA32_EFER: LME and friends */
	movl	T(ap_tramp_efer), %eax
	xorl	%edx, %edx
	wrmsr
	movl	T(ap_tramp_cr0), %eax	/* PG on: long mode, compatibility */
	movl	%eax, %cr0
	ljmpl	$0x18, $T(ap_lm64)

	.code64
ap_lm64:
	movl	T(ap_tramp_lapic), %ebx
	movl	0x20(%rbx), %edx	/* LAPIC ID register, id in 31:24 */
	shrl	$24, %edx
	movl	$1, %ecx
	lock xaddl %ecx, T(ap_tramp_slots)
	cmpl	$AP_MAX_IDS, %ecx
	jae	1f
	movb	%dl, T(ap_tramp_ids)(,%rcx,1)
1:	lock incl T(ap_tramp_done)
	cmpl	$0, T(ap_tramp_spin)
	je	2f
3:	lock incl T(ap_tramp_spins)
	jmp	3b
2:	cli
	hlt
	jmp	2b

	.balign 8
ap_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
ap_gdt_end:
ap_gdt_ptr:
	.word	ap_gdt_end - ap_gdt - 1
	.long	T(ap_gdt)

	.balign 4
	.globl ap_tramp_cr0, ap_tramp_cr3, ap_tramp_cr4, ap_tramp_efer
	.globl ap_tramp_lapic, ap_tramp_slots, ap_tramp_done, ap_tramp_ids
	.globl ap_tramp_spin, ap_tramp_spins
ap_tramp_cr0:	.long 0
ap_tramp_cr3:	.long 0
ap_tramp_cr4:	.long 0
ap_tramp_efer:	.long 0
ap_tramp_lapic:	.long 0
ap_tramp_slots:	.long 0
ap_tramp_done:	.long 0
ap_tramp_spin:	.long 0
ap_tramp_spins:	.long 0
ap_tramp_ids:	.skip AP_MAX_IDS
	.globl ap_tramp_end
ap_tramp_end:

	.section .note.GNU-stack, "", @progbits
