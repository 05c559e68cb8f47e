/* User-facing messages, all through one place. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

int kv_verbose;

/* Guards every struct kv_ratelimit: sites are shared by device threads. */
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

static void vmsg(const char *prefix, const char *suffix, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One write, so lines from different threads do not interleave. */
	fprintf(stderr, "kvmini: %s%s%s\n", prefix, buf, suffix);
}

void kv_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", "", fmt, ap);
	va_end(ap);
}

void kv_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", "", fmt, ap);
	va_end(ap);
}

void kv_debug(const char *fmt, ...)
{
	va_list ap;

	if (!kv_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", "", fmt, ap);
	va_end(ap);
}

bool kv_ratelimit_pass(struct kv_ratelimit *rl, uint64_t now_ms, unsigned int *suppressed)
{
	/* a clock going backwards (it should not) also opens a new window */
	if (!rl->started || now_ms < rl->window_start_ms ||
	    now_ms - rl->window_start_ms >= KV_RATELIMIT_INTERVAL_MS) {
		rl->started = true;
		rl->window_start_ms = now_ms;
		rl->printed = 0;
	}
	if (rl->printed >= KV_RATELIMIT_BURST) {
		if (rl->suppressed < UINT_MAX)
			rl->suppressed++;
		return false;
	}
	rl->printed++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void kv_warn_rl(struct kv_ratelimit *rl, const char *fmt, ...)
{
	unsigned int suppressed = 0;
	char suffix[64] = "";
	va_list ap;
	bool pass;

	pthread_mutex_lock(&ratelimit_lock);
	pass = kv_ratelimit_pass(rl, monotonic_ms(), &suppressed);
	pthread_mutex_unlock(&ratelimit_lock);
	if (!pass)
		return;
	if (suppressed)
		snprintf(suffix, sizeof(suffix), " (%u more like this suppressed)", suppressed);
	va_start(ap, fmt);
	vmsg("warning: ", suffix, fmt, ap);
	va_end(ap);
}
