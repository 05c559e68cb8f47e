/* User-facing messages: one helper so every error reads the same way. */
#ifndef KVMINI_LOG_H
#define KVMINI_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* "kvmini: error: <msg>" on stderr. Say what failed, with what, and the fix. */
void kv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "kvmini: <msg>": something the user needs to know, such as where the console is. */
void kv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with --verbose (or KVMINI_DEBUG=1 in tests). */
void kv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int kv_verbose;

/*
 * A budget for one message site: at most KV_RATELIMIT_BURST lines per
 * KV_RATELIMIT_INTERVAL_MS. For every warning a guest can trigger, so a
 * guest cannot flood kvmini's stderr however often it repeats the cause.
 */
#define KV_RATELIMIT_BURST		5
#define KV_RATELIMIT_INTERVAL_MS	60000

struct kv_ratelimit {
	uint64_t window_start_ms;
	unsigned int printed;		/* in the current window */
	unsigned int suppressed;	/* since the last line printed */
	bool started;
};

/*
 * Charge one message at @now_ms (monotonic). true: print it; *@suppressed
 * is then how many were dropped since the previous one. Not locked.
 */
bool kv_ratelimit_pass(struct kv_ratelimit *rl, uint64_t now_ms, unsigned int *suppressed);

/* kv_warn() within @rl's budget; says how many were suppressed meanwhile. */
void kv_warn_rl(struct kv_ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* kv_warn() with a budget of its own for this call site. */
#define kv_warn_ratelimited(...)					\
	do {								\
		static struct kv_ratelimit kv_rl_site_;			\
		kv_warn_rl(&kv_rl_site_, __VA_ARGS__);			\
	} while (0)

#endif
