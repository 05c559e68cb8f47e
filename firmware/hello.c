/* The smallest guest: one line on the UART, then ACPI power off. */
#include "fw.h"

void fw_main(const uint8_t *boot_params)
{
	fw_printf("Hello from kvmini firmware!\n");
	acpi_init(boot_params);
	acpi_poweroff();
}
