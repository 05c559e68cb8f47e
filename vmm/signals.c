/* Signal policy of `kvmini run`: stop signals, harmless ones, faults, the kick. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"
#include "term.h"
#include "vm.h"

#define KICK_SIGNAL SIGUSR1

static int report_fd = -1;

void signals_stop_set(sigset_t *set)
{
	static const int stops[] = {
		SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR2, SIGALRM, SIGVTALRM,
		SIGPROF, SIGXCPU, SIGIO, SIGPWR, SIGSTKFLT,
	};
	unsigned int i;
	int sig;

	sigemptyset(set);
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaddset(set, stops[i]);
	/* glibc keeps the real-time signals below SIGRTMIN for itself */
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (sig != SIGNAL_PRIVS)
			sigaddset(set, sig);
}

static void kick_handler(int sig)
{
	(void)sig;	/* only here to make blocking calls return EINTR */
}

/* A fault (or the same signal sent from outside): terminal first, then die by it. */
static void fault_handler(int sig)
{
	int saved = errno;

	term_restore();
	signals_report(sig);
	/* SA_RESETHAND restored the default action; a fault re-raises on return */
	raise(sig);
	errno = saved;
}

void signals_init(void)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
	struct sigaction sa;
	sigset_t stops;
	unsigned int i;

	signals_stop_set(&stops);
	sigprocmask(SIG_BLOCK, &stops, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL);
	sigaction(SIGNAL_PRIVS, &sa, NULL);

	/* no SA_RESTART: the kicked call must return */
	sa.sa_handler = kick_handler;
	sigaction(KICK_SIGNAL, &sa, NULL);

	sa.sa_handler = fault_handler;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigaction(faults[i], &sa, NULL);
}

void signals_kick(pthread_t t)
{
	pthread_kill(t, KICK_SIGNAL);
}

void signals_report_to(int fd)
{
	report_fd = fd;
}

void signals_report(int sig)
{
	if (report_fd >= 0 && write(report_fd, &sig, sizeof(sig)) < 0) {
		/* the waiting process is gone: nobody to tell */
	}
}

void signals_end_by(int sig)
{
	struct sigaction sa;
	sigset_t set;

	fflush(stdout);
	fflush(stderr);
	term_restore();
	signals_report(sig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	/* a stop signal is blocked: raised, it waits for the unblock below */
	raise(sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* still here: PID 1 of a PID namespace (--jail) ignores its own signals */
	_exit(EXIT_SIGNAL_BASE + sig);
}
