/*
 * libFuzzer harness for the parsing and encoding helpers in vmm/util.c:
 * parse_size, parse_uint, base64_encode and shell_join, each checked
 * against what it promises (round trips, bounds).
 */
#include <errno.h>
#include <stdbool.h>

#include "util.h"
#include "fuzz.h"

#define MAX_WORDS	32

/*
 * Input: u8 selecting the function (mod 4), then its argument:
 *   0 parse_size: a string
 *   1 parse_uint: u64 min, u64 max (little-endian), a string
 *   2 base64_encode: bytes
 *   3 shell_join: words separated by NUL bytes
 */
enum { F_SIZE, F_UINT, F_BASE64, F_SHELL, NR_FUNCS };

/* The input as a NUL-terminated string, in an allocation of its own. */
static char *take_string(struct fuzz_in *in)
{
	char *s = malloc(in->n + 1);

	FUZZ_CHECK(s);
	memcpy(s, in->p, in->n);
	s[in->n] = 0;
	return s;
}

static bool all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void fuzz_parse_size(struct fuzz_in *in)
{
	char *s = take_string(in);
	uint64_t v = 0;
	int ret;

	ret = parse_size(s, &v);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (ret == 0) {
		FUZZ_CHECK(v > 0);
		if (all_digits(s))
			FUZZ_CHECK(v == strtoull(s, NULL, 10));
	}
	free(s);
}

static void fuzz_parse_uint(struct fuzz_in *in)
{
	uint64_t min, max, v = 0;
	char *s;
	int ret;

	min = fuzz_u32(in);
	min |= (uint64_t)fuzz_u32(in) << 32;
	max = fuzz_u32(in);
	max |= (uint64_t)fuzz_u32(in) << 32;
	s = take_string(in);
	ret = parse_uint(s, min, max, &v);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (ret == 0) {
		FUZZ_CHECK(v >= min && v <= max);
		FUZZ_CHECK(all_digits(s) && v == strtoull(s, NULL, 10));
	}
	free(s);
}

static int b64_value(char c)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tbl, c) : NULL;

	return p ? (int)(p - tbl) : -1;
}

/* Decode @s (checked to be canonical RFC 4648) and compare it with @data. */
static void base64_check(const char *s, const uint8_t *data, size_t len)
{
	size_t slen = strlen(s), i, o = 0;

	FUZZ_CHECK(slen == (len + 2) / 3 * 4);
	for (i = 0; i < slen; i += 4) {
		int v[4], k, pad = 0;
		uint32_t w = 0;

		for (k = 0; k < 4; k++) {
			v[k] = b64_value(s[i + k]);
			if (v[k] < 0) {
				FUZZ_CHECK(s[i + k] == '=' && i + 4 == slen && k >= 2);
				v[k] = 0;
				pad++;
			} else {
				FUZZ_CHECK(pad == 0);	/* no data after padding */
			}
			w = w << 6 | (uint32_t)v[k];
		}
		for (k = 0; k < 3 - pad; k++, o++)
			FUZZ_CHECK(o < len && data[o] == (uint8_t)(w >> (16 - 8 * k)));
	}
	FUZZ_CHECK(o == len);
}

static void fuzz_base64(struct fuzz_in *in)
{
	char *s = base64_encode(in->p, in->n);

	FUZZ_CHECK(s);
	base64_check(s, in->p, in->n);
	free(s);
}

/* Parse @s as sh would (single quotes, and \' between them); compare the words. */
static void shell_check(const char *s, char **words, int n)
{
	int w;

	for (w = 0; w < n; w++) {
		const char *expect = words[w];

		if (w) {
			FUZZ_CHECK(*s == ' ');
			s++;
		}
		FUZZ_CHECK(*s == '\'');
		s++;
		for (;;) {
			if (*s == '\'' && s[1] == '\\' && s[2] == '\'' && s[3] == '\'') {
				FUZZ_CHECK(*expect == '\'');
				expect++;
				s += 4;
			} else if (*s == '\'') {
				s++;
				break;
			} else {
				FUZZ_CHECK(*s && *s == *expect);
				s++;
				expect++;
			}
		}
		FUZZ_CHECK(*expect == 0);
	}
	FUZZ_CHECK(*s == 0);
}

static void fuzz_shell_join(struct fuzz_in *in)
{
	char *words[MAX_WORDS];
	char *s;
	int n = 0, i;

	while (in->n && n < MAX_WORDS) {
		const uint8_t *nul = memchr(in->p, 0, in->n);
		size_t len = nul ? (size_t)(nul - in->p) : in->n;
		struct fuzz_in word = { in->p, len };

		words[n++] = take_string(&word);
		in->p += len + (nul ? 1 : 0);
		in->n -= len + (nul ? 1 : 0);
	}
	s = shell_join(words, n);
	FUZZ_CHECK(s);
	shell_check(s, words, n);
	free(s);
	for (i = 0; i < n; i++)
		free(words[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	switch (fuzz_u8(&in) % NR_FUNCS) {
	case F_SIZE:
		fuzz_parse_size(&in);
		break;
	case F_UINT:
		fuzz_parse_uint(&in);
		break;
	case F_BASE64:
		fuzz_base64(&in);
		break;
	case F_SHELL:
		fuzz_shell_join(&in);
		break;
	}
	return 0;
}
