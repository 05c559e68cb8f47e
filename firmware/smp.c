/*
 * Starts every enabled CPU of the MADT with INIT-SIPI-SIPI through the xAPIC
 * and reports which ones came up in long mode (trampoline.S). With
 * smp.spin on its command line the APs keep counting instead of halting,
 * and the BSP prints "APCOUNT n v" about every 50 ms (their count v) until
 * the ACPI power button: a running AP for the snapshot tests.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"
#include "smp.h"

#define MADT_LAPIC_ADDR		36
#define MADT_ENTRIES		44
#define MADT_TYPE_LAPIC		0
#define MADT_LAPIC_ENABLED	(1u << 0)

#define LAPIC_ID		0x020
#define LAPIC_SVR		0x0f0
#define LAPIC_SVR_ENABLE	(1u << 8)
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define ICR_INIT		(5u << 8)
#define ICR_STARTUP		(6u << 8)
#define ICR_LEVEL_ASSERT	(1u << 14)
#define ICR_BUSY		(1u << 12)

#define PM1_PWRBTN		(1u << 8)
#define MSR_EFER		0xc0000080
#define EFER_LMA		(1u << 10)
#define CR4_PCIDE		(1u << 17)	/* not settable outside long mode */

/* Generous: the software KVM here runs the trampoline at ~2 MIPS. */
#define INIT_DELAY_US		10000
#define FIRST_SIPI_WAIT_US	200000
#define SECOND_SIPI_WAIT_US	1000000
#define POLL_US			100

static uint64_t lapic_base;
static uint8_t cpu_ids[AP_MAX_IDS];

static volatile uint32_t *tramp_u32(const uint8_t *field)
{
	return (volatile uint32_t *)(uintptr_t)(AP_TRAMP_BASE +
						(field - ap_tramp_start));
}

static volatile uint8_t *tramp_u8(const uint8_t *field)
{
	return (volatile uint8_t *)(uintptr_t)(AP_TRAMP_BASE +
					       (field - ap_tramp_start));
}

/* APIC ids of the enabled Processor Local APIC entries. */
static unsigned int madt_cpus(const uint8_t *madt)
{
	uint32_t len = get_le32(madt + 4);
	uint32_t off = MADT_ENTRIES;
	unsigned int n = 0;

	lapic_base = get_le32(madt + MADT_LAPIC_ADDR);
	while (off + 2 <= len && madt[off + 1] >= 2) {
		const uint8_t *e = madt + off;

		if (e[0] == MADT_TYPE_LAPIC && e[1] >= 8 && off + 8 <= len &&
		    (get_le32(e + 4) & MADT_LAPIC_ENABLED) && n < AP_MAX_IDS)
			cpu_ids[n++] = e[3];
		off += e[1];
	}
	return n;
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic_base + reg, v);
}

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic_base + reg);
}

static void send_ipi(uint8_t apic_id, uint32_t icr_lo)
{
	unsigned int i;

	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		acpi_delay_us(10);
}

static bool wait_done(uint32_t want, uint32_t us)
{
	volatile uint32_t *done = tramp_u32(ap_tramp_done);
	uint32_t waited;

	for (waited = 0; waited < us; waited += POLL_US) {
		if (*done >= want)
			return true;
		acpi_delay_us(POLL_US);
	}
	return *done >= want;
}

static bool start_ap(uint8_t apic_id, uint32_t want_done)
{
	uint32_t sipi = ICR_STARTUP | (AP_TRAMP_BASE >> 12);

	send_ipi(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	acpi_delay_us(INIT_DELAY_US);
	send_ipi(apic_id, sipi);
	if (wait_done(want_done, FIRST_SIPI_WAIT_US))
		return true;
	send_ipi(apic_id, sipi);
	return wait_done(want_done, SECOND_SIPI_WAIT_US);
}

/* Copy the trampoline to its SIPI page and hand it this CPU's paging setup. */
static int install_trampoline(void)
{
	uint64_t cr3 = read_cr3();

	if (cr3 >= (1ULL << 32)) {
		fw_printf("smp: CR3 0x%llx is above 4 GiB, APs cannot load it\n",
			  (unsigned long long)cr3);
		return -1;
	}
	memcpy((void *)AP_TRAMP_BASE, ap_tramp_start,
	       (size_t)(ap_tramp_end - ap_tramp_start));
	*tramp_u32(ap_tramp_cr0) = (uint32_t)read_cr0();
	*tramp_u32(ap_tramp_cr3) = (uint32_t)cr3;
	*tramp_u32(ap_tramp_cr4) = (uint32_t)(read_cr4() & ~CR4_PCIDE);
	*tramp_u32(ap_tramp_efer) = (uint32_t)(rdmsr(MSR_EFER) & ~EFER_LMA);
	*tramp_u32(ap_tramp_lapic) = (uint32_t)lapic_base;
	return 0;
}

static void print_ap_ids(void)
{
	uint32_t n = *tramp_u32(ap_tramp_slots);
	uint8_t ids[AP_MAX_IDS];
	uint32_t i, j;

	if (n > AP_MAX_IDS)
		n = AP_MAX_IDS;
	for (i = 0; i < n; i++) {
		uint8_t v = tramp_u8(ap_tramp_ids)[i];

		for (j = i; j > 0 && ids[j - 1] > v; j--)
			ids[j] = ids[j - 1];
		ids[j] = v;
	}
	if (!n) {
		fw_printf("smp: no AP checked in\n");
		return;
	}
	fw_printf("smp: APs checked in with APIC ids");
	for (i = 0; i < n; i++)
		fw_printf(" %u", ids[i]);
	fw_printf("\n");
}

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

/* smp.spin: the APs count; print their count until the power button. */
static __attribute__((noreturn)) void report_spins(void)
{
	volatile uint32_t *spins = tramp_u32(ap_tramp_spins);
	uint16_t evt = acpi_pm1a_evt_port();
	uint32_t n;

	if (evt) {
		outw(evt, PM1_PWRBTN);
		outw((uint16_t)(evt + 2), PM1_PWRBTN);
	}
	for (n = 0;; n++) {
		fw_printf("APCOUNT %u %u\n", n, *spins);
		acpi_delay_us(50000);
		if (evt && (inw(evt) & PM1_PWRBTN)) {
			outw(evt, PM1_PWRBTN);
			fw_printf("POWER-BUTTON\n");
			acpi_poweroff();
		}
	}
}

void fw_main(const uint8_t *boot_params)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(boot_params + BP_CMD_LINE_PTR);
	bool spin = has_word(cmdline, "smp.spin");
	const uint8_t *madt;
	unsigned int ncpus, i, bsp_id, answered = 1;

	if (acpi_init(boot_params) < 0)
		cpu_halt_forever();
	madt = acpi_find_table("APIC");
	if (!madt) {
		fw_printf("smp: no MADT\n");
		acpi_poweroff();
	}
	ncpus = madt_cpus(madt);
	bsp_id = lapic_read(LAPIC_ID) >> 24;
	fw_printf("smp: MADT lists %u enabled CPU%s, BSP has APIC id %u\n",
		  ncpus, ncpus == 1 ? "" : "s", bsp_id);

	if (ncpus > 1 && install_trampoline() == 0) {
		*tramp_u32(ap_tramp_spin) = spin;
		lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
		for (i = 0; i < ncpus; i++) {
			if (cpu_ids[i] == bsp_id)
				continue;
			if (start_ap(cpu_ids[i], answered))
				answered++;
			else
				fw_printf("smp: CPU with APIC id %u did not answer\n",
					  cpu_ids[i]);
		}
		print_ap_ids();
	}
	fw_printf("smp: %u of %u CPUs answered\n", answered, ncpus);
	if (spin)
		report_spins();
	acpi_poweroff();
}
