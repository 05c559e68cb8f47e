/*
 * Entry of the multiboot test kernel: a boot loader jumps here in 32-bit
 * protected mode with EAX = magic and EBX = the multiboot information.
 * Keep both and the entry EFLAGS, clear .bss, call mb_main().
 */
#define MB_HEADER_MAGIC	0x1badb002
/* bit 0: page-aligned modules, bit 1: memory information */
#define MB_HEADER_FLAGS	0x00000003

	.section .multiboot, "a"
	.balign 4
	.long	MB_HEADER_MAGIC
	.long	MB_HEADER_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl	$mb_stack_top, %esp
	pushfl
	popl	%edx
	movl	%eax, %esi
	cld
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	xorl	%ebp, %ebp
	pushl	%edx		/* EFLAGS at entry */
	pushl	%ebx		/* multiboot information */
	pushl	%esi		/* EAX at entry */
	call	mb_main
1:	cli
	hlt
	jmp	1b

	.section .stack, "aw", @nobits
	.balign 16
	.skip	8192
mb_stack_top:

	.section .note.GNU-stack, "", @progbits
