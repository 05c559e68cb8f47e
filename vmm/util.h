/* Small parsing helpers shared by the CLI and device options. */
#ifndef KVMINI_UTIL_H
#define KVMINI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse "256M", "2G", "1048576", "512K", "1T" (binary units, optional
 * trailing 'B' or 'iB'). Bare numbers are bytes; "0", negatives, junk and
 * overflow are rejected. Returns 0, -EINVAL or -ERANGE.
 */
int parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned integer in [min, max]. Returns 0, -EINVAL, -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Read a whole file into a malloc'd buffer (at most @max bytes, else
 * -EFBIG). Returns 0 or -errno; never prints.
 */
int read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

/* The struct of type @type whose member @member is at @ptr. */
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

/* Base64 (RFC 4648, with padding) of @len bytes; malloc'd, NUL-terminated. */
char *base64_encode(const uint8_t *data, size_t len);

/*
 * One POSIX shell command line that runs @argv exactly: every word in
 * single quotes. malloc'd; NULL on allocation failure.
 */
char *shell_join(char *const *argv, int argc);

#endif
