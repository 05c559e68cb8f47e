/*
 * Signals of `kvmini run`: which ones stop the VM, which are harmless, the
 * kick that interrupts a thread's system call, and ending by a signal.
 */
#ifndef KVMINI_SIGNALS_H
#define KVMINI_SIGNALS_H

#include <pthread.h>
#include <signal.h>

/*
 * privs.c carries the privilege drop to every thread with this signal; it
 * must reach them, so it is no stop signal. Ignored when privs.c does not
 * handle it.
 */
#define SIGNAL_PRIVS (SIGRTMIN + 1)

/*
 * The stop signals: every signal whose default action ends a process and
 * that reports no fault of kvmini's own (SIGHUP, SIGINT, SIGQUIT, SIGTERM,
 * SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGIO, SIGPWR, SIGSTKFLT
 * and the real-time signals but SIGNAL_PRIVS). The event loop takes them
 * from a signalfd.
 */
void signals_stop_set(sigset_t *set);

/*
 * Once, while kvmini has a single thread and no child: block the stop
 * signals (every thread and child inherits the mask), ignore SIGPIPE and
 * SIGXFSZ (the failed write reports itself) and SIGNAL_PRIVS, install the
 * no-op kick handler
 * (SIGUSR1, so harmless from outside too) and the fault handlers (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP: terminal restored, then the
 * signal ends kvmini).
 */
void signals_init(void);

/* Make a blocking system call of thread @t return (EINTR, or a short count). */
void signals_kick(pthread_t t);

/*
 * A process that waits for kvmini (the --jail parent) learns on @fd by
 * which signal kvmini ends, for where the kernel ignores the signal
 * kvmini raises: PID 1 of a PID namespace cannot send itself one.
 */
void signals_report_to(int fd);
/* Tell that process that kvmini ends by @sig. Async-signal-safe. */
void signals_report(int sig);

/*
 * End kvmini by @sig once its cleanup is done: terminal restored, @sig
 * reported, its default action back, raised and unblocked, so that the
 * parent sees WIFSIGNALED. Where the kernel ignores it (PID 1 of the
 * --jail namespace), exits with 128 + @sig.
 */
void signals_end_by(int sig) __attribute__((noreturn));

#endif
