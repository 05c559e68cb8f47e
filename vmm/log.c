/* User-facing messages, all through one place. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

int kv_verbose;

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

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024], text[4 * sizeof(buf)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	escape_controls(text, sizeof(text), buf);
	/* One write, so lines from different threads do not interleave. */
	fprintf(stderr, "kvmini: %s%s\n", prefix, text);
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
