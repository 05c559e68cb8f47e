/* Terminal raw mode, restored at exit, on stop signals and on faults. */
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

static struct termios saved_tio;
static int saved_tio_fd = -1;

/*
 * Async-signal-safe: one tcsetattr. TCSANOW, not TCSADRAIN: a terminal
 * that takes no output (flow control, a stalled pty) must not hang the exit.
 */
void term_restore(void)
{
	if (saved_tio_fd >= 0)
		tcsetattr(saved_tio_fd, TCSANOW, &saved_tio);
}

int term_raw(int fd)
{
	static bool registered;
	struct termios tio;

	if (tcgetattr(fd, &saved_tio) < 0)
		return -1;
	saved_tio_fd = fd;
	if (!registered) {
		registered = true;
		atexit(term_restore);
	}
	tio = saved_tio;
	cfmakeraw(&tio);
	/*
	 * Input raw, output still processed (as QEMU does): guests print bare
	 * LFs, and without ONLCR their lines would staircase.
	 */
	tio.c_oflag = saved_tio.c_oflag | OPOST | ONLCR;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &tio);
}
