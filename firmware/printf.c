/* A printf for the test guests: integers in decimal and hex, strings, chars. */
#include <stdbool.h>

#include "fw.h"

struct spec {
	unsigned int width;
	bool zero_pad;
	int length;		/* 0: int, 1: long, 2: long long, 3: size_t */
};

static int put_padded(const char *s, size_t len, const struct spec *sp,
		      bool negative)
{
	size_t body = len + (negative ? 1 : 0);
	size_t pad = sp->width > body ? sp->width - body : 0;
	int n = (int)(body + pad);

	if (!sp->zero_pad) {
		while (pad--)
			uart_putc(' ');
	}
	if (negative)
		uart_putc('-');
	if (sp->zero_pad) {
		while (pad--)
			uart_putc('0');
	}
	uart_write(s, len);
	return n;
}

static int put_unsigned(unsigned long long v, unsigned int base,
			const struct spec *sp, bool negative)
{
	char buf[24];
	size_t i = sizeof(buf);

	do {
		buf[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	return put_padded(buf + i, sizeof(buf) - i, sp, negative);
}

static unsigned long long arg_unsigned(va_list *ap, int length)
{
	switch (length) {
	case 1:
		return va_arg(*ap, unsigned long);
	case 2:
		return va_arg(*ap, unsigned long long);
	case 3:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static long long arg_signed(va_list *ap, int length)
{
	switch (length) {
	case 1:
		return va_arg(*ap, long);
	case 2:
		return va_arg(*ap, long long);
	case 3:
		return (long long)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

/* One conversion at *fmt (just past the '%'); advances *fmt. */
static int put_conversion(const char **fmt, va_list *ap)
{
	struct spec sp = { 0 };
	const char *f = *fmt;
	const char *s;
	long long sv;
	int n;

	if (*f == '0') {
		sp.zero_pad = true;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp.width = sp.width * 10 + (unsigned int)(*f++ - '0');
	if (*f == 'z') {
		sp.length = 3;
		f++;
	}
	while (*f == 'l' && sp.length < 2) {
		sp.length++;
		f++;
	}

	switch (*f) {
	case 'd':
		sv = arg_signed(ap, sp.length);
		n = put_unsigned(sv < 0 ? 0ULL - (unsigned long long)sv :
				 (unsigned long long)sv, 10, &sp, sv < 0);
		break;
	case 'u':
		n = put_unsigned(arg_unsigned(ap, sp.length), 10, &sp, false);
		break;
	case 'x':
		n = put_unsigned(arg_unsigned(ap, sp.length), 16, &sp, false);
		break;
	case 'p':
		uart_write("0x", 2);
		n = 2 + put_unsigned((uintptr_t)va_arg(*ap, void *), 16, &sp,
				     false);
		break;
	case 's':
		s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		sp.zero_pad = false;
		n = put_padded(s, strlen(s), &sp, false);
		break;
	case 'c':
		uart_putc((char)va_arg(*ap, int));
		n = 1;
		break;
	case '%':
		uart_putc('%');
		n = 1;
		break;
	default:
		/* Unknown or truncated: print it as written so the bug shows. */
		uart_putc('%');
		n = 1;
		if (!*f) {
			*fmt = f;
			return n;
		}
		uart_putc(*f);
		n++;
		break;
	}
	*fmt = f + 1;
	return n;
}

int fw_vprintf(const char *fmt, va_list ap)
{
	va_list aq;
	int n = 0;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			uart_putc(*fmt++);
			n++;
			continue;
		}
		fmt++;
		n += put_conversion(&fmt, &aq);
	}
	va_end(aq);
	return n;
}

int fw_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fw_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
