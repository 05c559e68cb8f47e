/* Terminal raw mode with restoration on normal exit and on fatal signals. */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved_tio;
static int saved_tio_fd = -1;
/* file status flags of stdout and stderr, as found */
static int saved_fl_fd[2] = { -1, -1 };
static int saved_fl[2];

/* Async-signal-safe: only tcsetattr and fcntl. */
void term_restore(void)
{
	unsigned int i;

	if (saved_tio_fd >= 0)
		tcsetattr(saved_tio_fd, TCSADRAIN, &saved_tio);
	for (i = 0; i < 2; i++)
		if (saved_fl_fd[i] >= 0)
			fcntl(saved_fl_fd[i], F_SETFL, saved_fl[i]);
}

static void fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	static bool done;
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	unsigned int i;

	if (done)
		return;
	done = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(term_restore);
}

void term_save_fl(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	unsigned int i;

	if (fl < 0)
		return;
	for (i = 0; i < 2; i++) {
		if (saved_fl_fd[i] == fd)
			return;	/* keep the flags from before we changed them */
		if (saved_fl_fd[i] < 0) {
			saved_fl[i] = fl;
			saved_fl_fd[i] = fd;
			break;
		}
	}
	install_handlers();
}

int term_raw(int fd)
{
	struct termios tio;

	if (tcgetattr(fd, &saved_tio) < 0)
		return -1;
	saved_tio_fd = fd;
	install_handlers();
	tio = saved_tio;
	cfmakeraw(&tio);
	/*
	 * Input raw, output still processed (as QEMU does): guests print bare
	 * LFs, and without ONLCR their lines would staircase.
	 */
	tio.c_oflag = saved_tio.c_oflag | OPOST | ONLCR;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSADRAIN, &tio);
}
