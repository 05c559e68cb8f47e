/* User-facing messages, all through one place. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

int kv_verbose;

/* Guards every struct kv_ratelimit: sites are shared by device threads. */
static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;

/* Length of the well-formed UTF-8 sequence at @s that is not a C1 control, or 0. */
static unsigned int utf8_printable_len(const unsigned char *s)
{
	unsigned int len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (s[0] == 0xc2 && s[1] <= 0x9f)
		return 0;	/* U+0080..U+009F: C1 controls such as CSI */
	return len;
}

/*
 * Messages echo what users typed and names read from images: control
 * characters (C0, DEL, C1) and bytes that are not UTF-8 become \xNN, so no
 * message can move the cursor, clear the screen or end its own line.
 */
static void escape_controls(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0;

	while (*s && n + 5 < size) {
		unsigned int len = *s >= 0x80 ? utf8_printable_len(s) : 1;

		if (len && *s >= 0x20 && *s != 0x7f) {
			while (len--)
				dst[n++] = (char)*s++;
			continue;
		}
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[*s >> 4];
		dst[n++] = hex[*s & 0xf];
		s++;
	}
	dst[n] = 0;
}

static void vmsg(const char *prefix, const char *suffix, const char *fmt, va_list ap)
{
	char buf[1024], text[4 * sizeof(buf)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	escape_controls(text, sizeof(text), buf);
	/* One write, so lines from different threads do not interleave. */
	fprintf(stderr, "kvmini: %s%s%s\n", prefix, text, suffix);
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

void kv_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", "", fmt, ap);
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
