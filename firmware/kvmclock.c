/*
 * A guest for the snapshot tests that reads kvmclock: it hands KVM a
 * pvclock page (MSR_KVM_SYSTEM_TIME_NEW) and prints "CLOCK n ms" about
 * every 50 ms, the guest's clock in milliseconds. After a restore the
 * clock must have moved on by the time the snapshot waited. Prints
 * "KVMCLOCK-NONE" without kvmclock. Powers off on the ACPI power button.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

#define PM1_PWRBTN		(1u << 8)
#define KVM_CPUID_FEATURES	0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static volatile struct pvclock pvclock __attribute__((aligned(64)));

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint32_t cpuid_eax(uint32_t leaf)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0));
	return a;
}

static uint64_t clock_ns(void)
{
	uint32_t version;
	uint64_t delta, ns;

	do {
		version = pvclock.version;
		__asm__ volatile("" : : : "memory");
		delta = rdtsc() - pvclock.tsc_timestamp;
		if (pvclock.tsc_shift < 0)
			delta >>= -pvclock.tsc_shift;
		else
			delta <<= pvclock.tsc_shift;
		ns = pvclock.system_time +
		     (uint64_t)(((unsigned __int128)delta * pvclock.tsc_to_system_mul) >> 32);
		__asm__ volatile("" : : : "memory");
	} while ((version & 1) || version != pvclock.version);
	return ns;
}

void fw_main(const uint8_t *bp)
{
	uint16_t evt;
	uint32_t n;

	acpi_init(bp);
	evt = acpi_pm1a_evt_port();
	if (evt) {
		outw(evt, PM1_PWRBTN);
		outw((uint16_t)(evt + 2), PM1_PWRBTN);
	}
	if (!(cpuid_eax(KVM_CPUID_FEATURES) & KVM_FEATURE_CLOCKSOURCE2)) {
		fw_printf("KVMCLOCK-NONE\n");
		acpi_poweroff();
	}
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pvclock | 1);
	fw_printf("KVMCLOCK-READY\n");
	for (n = 0;; n++) {
		fw_printf("CLOCK %u %u\n", n, (uint32_t)(clock_ns() / 1000000));
		acpi_delay_us(50000);
		if (evt && (inw(evt) & PM1_PWRBTN)) {
			outw(evt, PM1_PWRBTN);
			fw_printf("POWER-BUTTON\n");
			acpi_poweroff();
		}
	}
}
