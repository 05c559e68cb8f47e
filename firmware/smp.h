/* What smp.c and trampoline.S agree on. */
#ifndef FW_SMP_H
#define FW_SMP_H

#define AP_TRAMP_BASE	0x10000		/* SIPI vector 0x10 */
#define AP_MAX_IDS	256		/* xAPIC ids are 8 bits */

#ifndef __ASSEMBLER__
#include <stdint.h>

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern const uint8_t ap_tramp_cr0[], ap_tramp_cr3[], ap_tramp_cr4[];
extern const uint8_t ap_tramp_efer[], ap_tramp_lapic[];
extern const uint8_t ap_tramp_slots[], ap_tramp_done[], ap_tramp_ids[];
extern const uint8_t ap_tramp_spin[], ap_tramp_spins[];
#endif

#endif
