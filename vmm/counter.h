/*
 * kvmini's own counters: one writer each (a vCPU, a device's I/O thread),
 * read by the event loop for `kvmini stat`. A relaxed load and store, no
 * read-modify-write instruction: nothing shared on the exit path. With
 * -Dcounters=false they compile to nothing (the cost benchmark).
 */
#ifndef KVMINI_COUNTER_H
#define KVMINI_COUNTER_H

#include <stdint.h>

#ifndef KVMINI_COUNTERS
#define KVMINI_COUNTERS 1
#endif

static inline void counter_add(uint64_t *c, uint64_t n)
{
#if KVMINI_COUNTERS
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
#else
	(void)c;
	(void)n;
#endif
}

static inline uint64_t counter_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
