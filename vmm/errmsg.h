/*
 * Errors as values: a -errno and a message that names no front end, so
 * the CLI and a future API report the same failure their own way.
 */
#ifndef KVMINI_ERRMSG_H
#define KVMINI_ERRMSG_H

#include <stddef.h>

/* Two paths and the advice around them fit. */
#define ERRMSG_MAX 9216

/*
 * In a message, stands for the way the caller names the device type the
 * message is about ("--NAME" on the command line, "NAME" in an API):
 * "id=x is already taken by another " ERRMSG_TYPE.
 */
#define ERRMSG_TYPE "\x01"

struct errmsg {
	int code;		/* -errno; 0: no error */
	const char *type;	/* the device type whose options it is about, or NULL */
	/*
	 * What failed, from the options on: "path=/x: no such file; ...".
	 * "": a lower layer already reported it (through kv_err()).
	 */
	char msg[ERRMSG_MAX];
};

/* Fill @e (may be NULL) and return @code. */
int errmsg_set(struct errmsg *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * @e as one line into @buf: @label, then the message (after a space unless
 * it starts with ':'), with @label for every ERRMSG_TYPE. A NULL @label
 * gives the message alone, with the type's name for ERRMSG_TYPE.
 */
void errmsg_render(const struct errmsg *e, const char *label, char *buf, size_t size);

#endif
