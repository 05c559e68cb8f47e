/*
 * Interrupt entry stubs for the guests that take interrupts (ioapic.c):
 * vectors 0-31 (exceptions: fw_exception(vector), which does not return),
 * 0x40-0x4f and 0xff (fw_interrupt(vector), then iretq). idt_stubs[] lists
 * their addresses for idt_init() to fill the IDT.
 */
	.text
	.code64

	.macro EXC_STUB vec
exc_stub_\vec:
	cli
	movq	$\vec, %rdi
	andq	$-16, %rsp
	call	fw_exception
1:	hlt
	jmp	1b
	.endm

	.macro IRQ_STUB vec
irq_stub_\vec:
	pushq	$\vec
	jmp	irq_common
	.endm

irq_common:
	pushq	%rbx
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	80(%rsp), %rdi		/* the vector */
	movq	%rsp, %rbx		/* callee-saved: restored below */
	andq	$-16, %rsp
	cld
	call	fw_interrupt
	movq	%rbx, %rsp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	popq	%rbx
	addq	$8, %rsp
	iretq

	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC_STUB \v
	.endr
	.irp v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,255
	IRQ_STUB \v
	.endr

	.section .rodata
	.balign 8
	.globl idt_stubs
idt_stubs:
	/* pairs: vector, address */
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	\v, exc_stub_\v
	.endr
	.irp v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,255
	.quad	\v, irq_stub_\v
	.endr
	.quad	-1, 0

	.section .note.GNU-stack, "", @progbits
