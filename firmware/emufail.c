/*
 * Jumps into the 32-bit MMIO hole, where no RAM is mapped, so KVM cannot
 * fetch the instruction; tests check how kvmini reports that.
 */
#include "fw.h"
#include "io.h"

#define NO_RAM_ADDR	0xd0000000UL

void fw_main(const uint8_t *boot_params)
{
	(void)boot_params;
	fw_printf("emufail: jumping to 0x%lx, in the MMIO hole\n", NO_RAM_ADDR);
	__asm__ volatile("jmp *%0" : : "r"(NO_RAM_ADDR));
	cpu_halt_forever();
}
