/* Asks for a reset through the i8042 controller, as Linux's reboot=k does. */
#include "fw.h"
#include "io.h"

#define I8042_CMD_PORT	0x64
#define I8042_CMD_RESET	0xfe

void fw_main(const uint8_t *boot_params)
{
	(void)boot_params;
	fw_printf("reboot: pulsing the reset line through the i8042\n");
	outb(I8042_CMD_PORT, I8042_CMD_RESET);
	cpu_halt_forever();
}
