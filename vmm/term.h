/* The host terminal: raw mode for the guest console, restored on every exit path. */
#ifndef KVMINI_TERM_H
#define KVMINI_TERM_H

/*
 * Put @fd (a tty) in raw mode for input; output processing stays on.
 * Restored by term_restore(): at exit, after a stop signal, on a fault
 * (signals.c) and on a seccomp trap (sandbox.c). kvmini never changes the
 * file status flags (O_NONBLOCK) of the descriptors it inherits.
 */
int term_raw(int fd);
/* Async-signal-safe; a no-op unless term_raw() succeeded. */
void term_restore(void);

#endif
