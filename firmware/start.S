/*
 * Entry of every firmware test guest: kvmini jumps here in 64-bit mode with
 * RSI = the zero page. Clear .bss, switch to our own stack, run fw_main().
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	movq	%rsi, %r12
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movq	$fw_stack_top, %rsp
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	call	fw_main
1:	cli
	hlt
	jmp	1b

	/* Outside .bss so that the clearing above need not touch it. */
	.section .stack, "aw", @nobits
	.balign 16
	.skip	16384
fw_stack_top:

	/* What makes kvmini treat this ELF as a firmware image. */
	.section .note.kvmini, "a"
	.balign 4
	.long	7		/* namesz: "kvmini" and its NUL */
	.long	4		/* descsz */
	.long	1		/* type */
	.asciz	"kvmini"
	.balign 4
	.long	1		/* desc: version of this boot contract */

	.section .note.GNU-stack, "", @progbits
