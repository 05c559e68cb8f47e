/* Triple-faults on purpose so tests can check how kvmini reports a crash. */
#include "fw.h"
#include "io.h"

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

void fw_main(const uint8_t *boot_params)
{
	static const struct idt_ptr empty_idt = { 0, 0 };

	(void)boot_params;
	fw_printf("crash: empty IDT, then ud2: expect a triple fault\n");
	/* #UD finds no gate, neither does the #GP that follows, nor #DF. */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
	cpu_halt_forever();
}
