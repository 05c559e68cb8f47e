/* Errors as values (errmsg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

int errmsg_set(struct errmsg *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Append the @len bytes at @s to @buf (size @size, @*n used); truncates. */
static void put(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
	if (*n + 1 >= size)
		return;
	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = 0;
}

void errmsg_render(const struct errmsg *e, const char *label, char *buf, size_t size)
{
	const char *slot = label ? label : e->type;
	const char *p = e->msg;
	size_t n = 0;

	if (!size)
		return;
	buf[0] = 0;
	if (label) {
		put(buf, size, &n, label, strlen(label));
		if (*p && *p != ':')
			put(buf, size, &n, " ", 1);
	}
	while (*p) {
		size_t len = strcspn(p, ERRMSG_TYPE);

		put(buf, size, &n, p, len);
		p += len;
		if (*p) {
			if (slot)
				put(buf, size, &n, slot, strlen(slot));
			p++;
		}
	}
}
