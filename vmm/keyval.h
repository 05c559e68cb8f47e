/* KEY=VALUE,... option lists (--NAME path=X,readonly=on), for every option parser. */
#ifndef KVMINI_KEYVAL_H
#define KVMINI_KEYVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "errmsg.h"

/*
 * Key @k (an index into the keys) of the list @arg has the @vlen bytes at
 * @v. 0, or -EINVAL after errmsg_set(@err, ...) with a message that starts
 * with @arg.
 */
typedef int (*keyval_setter)(void *obj, const char *arg, unsigned int k, const char *v,
			     size_t vlen, struct errmsg *err);

/*
 * Walk the comma-separated list @arg: each key must be one of @keys and
 * come at most once; @set takes each value. Messages start with "@arg: ",
 * and unknown keys end with @syntax. Returns the bit set of keys seen, or
 * -EINVAL.
 */
int keyval_parse(const char *arg, const char *const *keys, unsigned int nkeys,
		 const char *syntax, keyval_setter set, void *obj, struct errmsg *err);

/* Copy the @len bytes at @s into @dst (size @size) with a NUL; false if too long. */
bool keyval_copy(char *dst, size_t size, const char *s, size_t len);

/* Whether the @len bytes at @v are @word. */
bool keyval_is(const char *v, size_t len, const char *word);

#endif
