/* KEY=VALUE,... option lists (keyval.h). */
#include <errno.h>
#include <string.h>

#include "keyval.h"

bool keyval_copy(char *dst, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return false;
	memcpy(dst, s, len);
	dst[len] = 0;
	return true;
}

bool keyval_is(const char *v, size_t len, const char *word)
{
	return strlen(word) == len && !strncmp(v, word, len);
}

int keyval_parse(const char *arg, const char *const *keys, unsigned int nkeys,
		 const char *syntax, keyval_setter set, void *obj, struct errmsg *err)
{
	unsigned int seen = 0;
	const char *p = arg;

	for (;;) {
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		unsigned int k;

		for (k = 0; k < nkeys; k++)
			if (keyval_is(p, klen, keys[k]))
				break;
		if (k == nkeys || !eq)
			return errmsg_set(err, -EINVAL, "%s: unknown key '%.*s'; %s", arg,
					  (int)klen, p, syntax);
		if (seen & (1u << k))
			return errmsg_set(err, -EINVAL, "%s: %s= given twice", arg, keys[k]);
		seen |= 1u << k;
		if (set(obj, arg, k, eq + 1, len - klen - 1, err))
			return -EINVAL;
		if (!p[len])
			return (int)seen;
		p += len + 1;
	}
}
