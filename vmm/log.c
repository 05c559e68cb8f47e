/* User-facing messages, all through one place. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int kv_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One write, so lines from different threads do not interleave. */
	fprintf(stderr, "kvmini: %s%s\n", prefix, buf);
}

void kv_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void kv_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void kv_debug(const char *fmt, ...)
{
	va_list ap;

	if (!kv_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}
