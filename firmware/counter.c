/*
 * A guest that counts: "COUNT n" on the UART about every 50 ms, forever,
 * for the control-plane tests (a paused guest stops counting). It enables
 * the ACPI fixed power button and powers off when it is pressed, unless
 * its command line has counter.button=ignore.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

#define PM1_PWRBTN (1u << 8)

static bool has_word(const char *cmdline, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = cmdline; *p; p++)
		if ((p == cmdline || p[-1] == ' ') && !memcmp(p, word, n) &&
		    (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

void fw_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);
	bool ignore = has_word(cmdline, "counter.button=ignore");
	uint16_t evt;
	uint32_t n;

	acpi_init(bp);
	evt = acpi_pm1a_evt_port();
	if (evt) {
		outw(evt, PM1_PWRBTN);		/* clear a stale press */
		outw((uint16_t)(evt + 2), PM1_PWRBTN);	/* enable the event */
	}
	fw_printf("COUNTER-READY button=%s\n", !evt ? "none" : ignore ? "ignore" : "poweroff");
	for (n = 0;; n++) {
		fw_printf("COUNT %u\n", n);
		acpi_delay_us(50000);
		if (evt && (inw(evt) & PM1_PWRBTN)) {
			outw(evt, PM1_PWRBTN);
			fw_printf("POWER-BUTTON\n");
			if (!ignore)
				acpi_poweroff();
		}
	}
}
