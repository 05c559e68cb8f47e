/* User-facing messages: one helper so every error reads the same way. */
#ifndef KVMINI_LOG_H
#define KVMINI_LOG_H

/* "kvmini: error: <msg>" on stderr. Say what failed, with what, and the fix. */
void kv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with --verbose (or KVMINI_DEBUG=1 in tests). */
void kv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int kv_verbose;

#endif
