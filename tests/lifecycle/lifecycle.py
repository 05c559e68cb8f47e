#!/usr/bin/env python3
"""Console and lifecycle of `kvmini run` on the host's /dev/kvm.

    lifecycle.py KVMINI IMAGE CASE

Boots one firmware guest (echo, flood, reboot, exitcode or emufail) under
kvmini with stdin and stdout on pipes or on a pseudo-terminal, drives it, and
checks how kvmini ended (an exit status, or the signal that ended it: Python's
returncode is then negative), the guest's output byte for byte, and the
terminal state afterwards. Exits 0 on success, 1 on failure (with the command
and the tail of both output streams), 77 (skip) without a usable /dev/kvm or,
for the seccomp cases, without kvmini's test hooks (KVMINI_TEST_HOOKS=false).

Every wait has a deadline (KVMINI_TEST_TIMEOUT seconds, 120 by default)
that only stops a hung run; nothing asserts on how long anything took.
"""
import errno
import fcntl
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

LIMIT = float(os.environ.get("KVMINI_TEST_TIMEOUT", "120"))
TAIL_LINES = 30

ECHO_READY = b"echo: ready\n"
HELLO = b"Hello from kvmini firmware!\n"
GOODBYE = b"kvmini: Ctrl-A x: guest stopped, goodbye\n"
KEYS_HELP = (b"kvmini console keys: Ctrl-A x  quit (the guest stops)\n"
             b"                     Ctrl-A h  this help\n"
             b"                     Ctrl-A Ctrl-A  send Ctrl-A to the guest\n")
# --serial file=: one path per run of this script
SERIAL_FILE = os.path.join(tempfile.gettempdir(), "kvmini-serial-%d.out" % os.getpid())
REBOOT_BANNER = b"reboot: pulsing the reset line through the i8042\n"
FLOOD_LINE_LEN = 50
FLOOD_LETTERS = 37


class Failure(Exception):
    pass


def flood_line(i):
    letters = bytes(ord("a") + (i + k) % 26 for k in range(FLOOD_LETTERS))
    return b"flood %05d " % (i % 100000) + letters + b"\n"


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def flood_expected(lines):
    body = b"".join(flood_line(i) for i in range(lines))
    done = b"flood: done, %d lines, fnv1a 0x%08x\n" % (lines, fnv1a(body))
    return body + done


class Kvmini:
    """One `kvmini run`, its output collected as it arrives."""

    def __init__(self, kvmini, image, args=(), stdin=subprocess.PIPE, pty=False,
                 preexec_fn=None, env=None, wrapper=()):
        self.cmd = list(wrapper) + [kvmini, "run", "--kernel", image] + list(args)
        self.deadline = time.monotonic() + LIMIT
        self.out = bytearray()
        self.eof = False
        self.err = tempfile.TemporaryFile()
        self.master = self.slave = None
        self.pty = pty
        if pty:
            self.master, self.slave = os.openpty()
            self.tio_before = termios.tcgetattr(self.slave)
            self.fl_before = fcntl.fcntl(self.slave, fcntl.F_GETFL)
            stdin = stdout = self.slave
        else:
            stdout = subprocess.PIPE
        self.env = env or {}
        self.p = subprocess.Popen(self.cmd, stdin=stdin, stdout=stdout, stderr=self.err,
                                  preexec_fn=preexec_fn, env=dict(os.environ, **self.env))
        self.out_fd = self.master if pty else self.p.stdout.fileno()

    def seen(self, data):
        """@data from the guest as it reaches kvmini's stdout: a terminal keeps
        output processing on in raw mode, so each LF arrives as CR LF."""
        return data.replace(b"\n", b"\r\n") if self.pty else data

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def read_some(self, timeout):
        """Read what is there within @timeout; False at EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.out_fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.out_fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # pty master without a slave
                raise
            data = b""
        if not data:
            self.eof = True
            return False
        self.out += data
        return True

    def read_until(self, what, pred):
        while not pred(self.out):
            if self.remaining() == 0:
                raise Failure("timed out waiting for %s" % what)
            if not self.read_some(min(self.remaining(), 0.5)) and not pred(self.out):
                raise Failure("output ended before %s" % what)

    def wait_for_line(self, line):
        self.read_until(repr(line), lambda out: line in out)

    def finish(self):
        """Wait for kvmini to exit, reading all its output; its status."""
        while True:
            status = self.p.poll()
            if status is not None:
                break
            if self.remaining() == 0:
                raise Failure("kvmini did not exit within %.0f s" % LIMIT)
            if not self.eof:
                self.read_some(min(self.remaining(), 0.2))
            else:
                time.sleep(0.05)
        # What kvmini wrote before exiting is in the pipe or pty already.
        while not self.eof and select.select([self.out_fd], [], [], 0)[0]:
            self.read_some(0)
        return status

    def wait_exit(self):
        """Wait for kvmini to exit without reading its output; its status."""
        try:
            return self.p.wait(self.remaining())
        except subprocess.TimeoutExpired:
            raise Failure("kvmini did not exit within %.0f s" % LIMIT) from None

    def send(self, data):
        if self.master is not None:
            os.write(self.master, data)
        else:
            self.p.stdin.write(data)
            self.p.stdin.flush()

    def stderr_text(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def report(self):
        def tail(text):
            return "\n".join(text.splitlines()[-TAIL_LINES:])

        print("command:", " ".join(["%s=%s" % kv for kv in self.env.items()] + self.cmd))
        print("--- guest output (stdout, last %d lines) ---" % TAIL_LINES)
        print(tail(bytes(self.out).decode(errors="replace")))
        print("--- kvmini messages (stderr, last %d lines) ---" % TAIL_LINES)
        print(tail(self.stderr_text()))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def close(self):
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        if self.p.stdout:
            self.p.stdout.close()
        if self.p.stdin:
            try:
                self.p.stdin.close()
            except BrokenPipeError:
                pass
        self.err.close()


def describe(returncode):
    if returncode is not None and returncode < 0:
        return "ended by %s" % signal.Signals(-returncode).name
    return "exited with status %s" % returncode


def expect_status(k, status, want):
    """@want: an exit status, or -N for "ended by signal N" (WIFSIGNALED)."""
    if status != want:
        raise Failure("kvmini %s; expected: %s" % (describe(status), describe(want)))


def expect_output(k, want):
    if bytes(k.out) != want:
        got = bytes(k.out)
        n = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                 min(len(got), len(want)))
        raise Failure("guest output differs at byte %d (got %d bytes, expected %d): "
                      "got %r, expected %r" % (n, len(got), len(want),
                                              got[n:n + 60], want[n:n + 60]))


def expect_flags_kept(k, when):
    """kvmini must not change the file status flags (O_NONBLOCK) of the open
    file description it shares with the shell and whatever runs next."""
    fl = fcntl.fcntl(k.slave, fcntl.F_GETFL)
    if fl != k.fl_before:
        raise Failure("%s, the terminal's file status flags are 0x%x, were 0x%x (O_NONBLOCK "
                      "0x%x): the shell and the next program would get EAGAIN"
                      % (when, fl, k.fl_before, os.O_NONBLOCK))


def expect_terminal_restored(k):
    tio = termios.tcgetattr(k.slave)
    if tio != k.tio_before:
        names = ["iflag", "oflag", "cflag", "lflag", "ispeed", "ospeed", "cc"]
        diff = [n for n, a, b in zip(names, k.tio_before, tio) if a != b]
        raise Failure("terminal settings not restored after exit: %s differ (before %r, "
                      "after %r)" % (", ".join(diff), k.tio_before, tio))
    fl = fcntl.fcntl(k.slave, fcntl.F_GETFL)
    if fl != k.fl_before:
        raise Failure("terminal file status flags not restored: 0x%x before, 0x%x after"
                      % (k.fl_before, fl))


def expect_in_stderr(k, *needles):
    err = k.stderr_text()
    for n in needles:
        if n not in err:
            raise Failure("stderr lacks %r" % n)


# --- echo: interrupt-driven input -------------------------------------------

def case_echo_pipe(k):
    """Lines in on a pipe come back through the receive interrupt; quit powers off."""
    k.send(b"hello\nworld\nquit\n")
    expect_status(k, k.finish(), 0)
    expect_output(k, ECHO_READY + b"echo: hello\necho: world\n")


def case_echo_crlf(k):
    """CR, LF and CRLF each end one line; a line arriving in pieces is one line."""
    k.wait_for_line(ECHO_READY)
    k.send(b"one\r\ntw")
    k.wait_for_line(b"echo: one\n")
    k.send(b"o\rthree\nquit\r\n")
    expect_status(k, k.finish(), 0)
    expect_output(k, ECHO_READY + b"echo: one\necho: two\necho: three\n")


def case_echo_pipe_ctrl_a(k):
    """Off a terminal Ctrl-A is plain data: Ctrl-A x reaches the guest, no quit."""
    k.send(b"\x01x\n\x01\x01\nquit\n")
    expect_status(k, k.finish(), 0)
    expect_output(k, ECHO_READY + b"echo: \\x01x\necho: \\x01\\x01\n")


def case_echo_stdin_eof(k):
    """EOF on stdin does not stop the guest: it still idles when SIGTERM comes."""
    k.p.stdin.close()
    k.wait_for_line(ECHO_READY)
    k.p.send_signal(signal.SIGTERM)
    expect_status(k, k.finish(), -signal.SIGTERM)
    expect_output(k, ECHO_READY)


def signal_case(sig):
    def case(k):
        k.wait_for_line(k.seen(ECHO_READY))
        if k.slave is not None:
            expect_flags_kept(k, "while kvmini runs")
        k.p.send_signal(sig)
        expect_status(k, k.finish(), -sig)
        expect_output(k, k.seen(ECHO_READY))
        expect_in_stderr(k, "stopped by signal %d" % sig)
        if k.slave is not None:
            expect_terminal_restored(k)
    case.__doc__ = ("%s while the guest idles: kvmini stops the guest, restores the "
                    "terminal and ends by %s" % (sig.name, sig.name))
    return case


def case_exit_143(k):
    """A guest that writes 71 to the exit device: status 143, an exit, not SIGTERM."""
    expect_status(k, k.finish(), 143)
    expect_output(k, b"exitcode: writing 71 to port 0xf4\n")


# --- on a terminal ------------------------------------------------------------

def case_pty_quit(k):
    """Ctrl-A x quits with status 0 and leaves the terminal as it was."""
    k.wait_for_line(k.seen(ECHO_READY))
    k.send(b"\x01x")
    expect_status(k, k.finish(), 0)
    # the goodbye on its own line, right after the guest's (no blank line)
    expect_output(k, k.seen(ECHO_READY + GOODBYE))
    expect_terminal_restored(k)


def case_pty_keys_help(k):
    """Ctrl-A h lists the console keys on the terminal; the guest gets nothing of it."""
    k.wait_for_line(k.seen(ECHO_READY))
    k.send(b"\x01h")
    k.wait_for_line(k.seen(KEYS_HELP))
    k.send(b"after\r")
    k.wait_for_line(k.seen(b"echo: after\n"))
    k.send(b"quit\r")
    expect_status(k, k.finish(), 0)
    expect_output(k, k.seen(ECHO_READY + KEYS_HELP + b"echo: after\n"))
    expect_terminal_restored(k)


def case_serial_file(k):
    """--serial file=PATH: the console goes to PATH, nothing to stdout."""
    try:
        expect_status(k, k.finish(), 0)
        expect_output(k, b"")
        with open(SERIAL_FILE, "rb") as f:
            got = f.read()
    finally:
        if os.path.exists(SERIAL_FILE):
            os.unlink(SERIAL_FILE)
    if got != HELLO:
        raise Failure("%s holds %r, expected %r" % (SERIAL_FILE, got, HELLO))


def case_serial_null(k):
    """--serial null: the guest runs, its console output goes nowhere."""
    expect_status(k, k.finish(), 0)
    expect_output(k, b"")


def case_serial_pty(k):
    """--serial pty: the path on stderr; the guest talks through it, raw, not stdio."""
    path = None
    while path is None:
        for line in k.stderr_text().splitlines():
            if line.startswith("kvmini: serial console on "):
                path = line.split()[4]
        if path is None:
            if k.p.poll() is not None or k.remaining() == 0:
                raise Failure("no 'serial console on' line on stderr")
            time.sleep(0.05)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        got = bytearray()

        def read_until(want):
            while want not in got:
                if k.remaining() == 0:
                    raise Failure("timed out waiting for %r on %s (got %r)" % (want, path, got))
                if select.select([fd], [], [], 0.2)[0]:
                    got.extend(os.read(fd, 4096))
        read_until(ECHO_READY)
        os.write(fd, b"via pty\r")
        read_until(b"echo: via pty\n")
        os.write(fd, b"quit\r")
        expect_status(k, k.finish(), 0)
    finally:
        os.close(fd)
    expect_output(k, b"")
    if bytes(got) != ECHO_READY + b"echo: via pty\n":
        raise Failure("the pty carried %r" % bytes(got))


# A job-control shell (bash -m, the pty its controlling terminal, TOSTOP on) that
# starts kvmini in the background and waits for it.
BACKGROUND = ["setsid", "--ctty", "--wait", "bash", "-c",
              'stty tostop; set -m; "$@" & wait $!', "bash"]


def case_background(k):
    """Started in the background on a terminal: no stop by SIGTTOU/SIGTTIN, the terminal
    keeps its settings (the shell's, not raw), the output still arrives."""
    expect_status(k, k.finish(), 0)
    expect_output(k, k.seen(HELLO))
    lflag = termios.tcgetattr(k.slave)[3]
    if not lflag & termios.ICANON or not lflag & termios.ECHO or not lflag & termios.TOSTOP:
        raise Failure("the terminal's settings changed (lflag 0x%x): kvmini took the "
                      "terminal of the foreground job" % lflag)
    expect_in_stderr(k, "started in the background")


def case_pty_ctrl_a(k):
    """Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A then another key sends both."""
    k.wait_for_line(k.seen(ECHO_READY))
    k.send(b"\x01\x01a\x01b\r")
    k.wait_for_line(k.seen(b"echo: \\x01a\\x01b\n"))
    k.send(b"quit\r")
    expect_status(k, k.finish(), 0)
    expect_output(k, k.seen(ECHO_READY + b"echo: \\x01a\\x01b\n"))
    expect_terminal_restored(k)


def case_pty_harmless_signals(k):
    """Signals whose default would not stop kvmini, or that it makes harmless
    (SIGUSR1 is its kick, SIGPIPE and SIGXFSZ report a failed write, SIGRTMIN+1
    carries the privilege drop), leave the guest running."""
    k.wait_for_line(k.seen(ECHO_READY))
    for sig in (signal.SIGUSR1, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD,
                signal.SIGWINCH, signal.SIGURG, signal.SIGCONT, SIGNAL_PRIVS):
        name = signal.Signals(sig).name.encode() if sig != SIGNAL_PRIVS else b"SIGRTMIN+1"
        k.p.send_signal(sig)
        k.send(b"after %s\r" % name)
        k.wait_for_line(k.seen(b"echo: after %s\n" % name))
        if k.p.poll() is not None:
            raise Failure("kvmini %s after %s" % (describe(k.p.returncode), name.decode()))
    k.send(b"\x01x")
    expect_status(k, k.finish(), 0)
    expect_terminal_restored(k)


def case_pty_sigkill(k):
    """SIGKILL cannot be caught, but kvmini never set O_NONBLOCK on the terminal."""
    k.wait_for_line(k.seen(ECHO_READY))
    expect_flags_kept(k, "while kvmini runs")
    k.p.send_signal(signal.SIGKILL)
    expect_status(k, k.finish(), -signal.SIGKILL)
    expect_flags_kept(k, "after SIGKILL")


def seccomp_trap_case(cls):
    def case(k):
        if os.environ.get("KVMINI_TEST_HOOKS", "true") != "true":
            raise Skip("test hooks are compiled out (-Dtest_hooks=disabled, or a buildtype other than debug and debugoptimized)")
        status = k.finish()
        expect_in_stderr(k, "test hook: calling socket() on a %s thread" % cls,
                         "seccomp: system call %d is not allowed on a %s thread"
                         % (SYS_SOCKET, cls))
        expect_status(k, status, -signal.SIGSYS)
        expect_terminal_restored(k)
    case.__doc__ = ("A forbidden system call on a %s thread (test hook): kvmini restores "
                    "the terminal and ends by SIGSYS" % cls)
    return case


SYS_SOCKET = 41  # x86-64
SIGNAL_PRIVS = signal.SIGRTMIN + 1  # vmm/signals.h


def case_pty_onlcr(k):
    """Raw mode keeps output processing: the guest's bare LF reaches the terminal as CR LF."""
    k.wait_for_line(b"echo: ready\r\n")
    iflag, oflag, cflag, lflag = termios.tcgetattr(k.slave)[:4]
    if lflag & (termios.ICANON | termios.ECHO | termios.ISIG):
        raise Failure("the terminal is not in raw mode during the run (lflag 0x%x)" % lflag)
    if oflag & (termios.OPOST | termios.ONLCR) != termios.OPOST | termios.ONLCR:
        raise Failure("raw mode turned output processing off (oflag 0x%x): a guest's "
                      "bare LF would not return the cursor" % oflag)
    k.send(b"one\rtwo\r")
    k.wait_for_line(b"echo: two\r\n")
    k.send(b"\x01x")
    expect_status(k, k.finish(), 0)
    expect_output(k, b"echo: ready\r\necho: one\r\necho: two\r\n" + k.seen(GOODBYE))
    expect_terminal_restored(k)


# --- flood: a fast writer against slow, stalled and closed readers ------------

FLOOD_LINES = 3000  # 150 KB: more than the pipe and kvmini's 64 KiB buffer together
FLOOD_SHORT_LINES = 2000  # 100 KB: more than the pipe, less than the pipe and the buffer


def flood_args(lines, burst=1):
    return ["--cmdline", "flood.lines=%d flood.burst=%d" % (lines, burst)]


def pipe_fill(k):
    """Bytes waiting in kvmini's stdout pipe, and its capacity."""
    import array
    n = array.array("i", [0])
    fcntl.ioctl(k.out_fd, termios.FIONREAD, n)
    return n[0], fcntl.fcntl(k.out_fd, 1032)  # F_GETPIPE_SZ


PAGE = 4096


def wait_pipe_full(k):
    """Wait until nothing reads kvmini's stdout pipe and it is full; seconds taken.
    kvmini writes in blocking chunks, and a chunk that does not fit in the last
    page of the pipe starts a new one: a full pipe may hold up to a page less."""
    start = time.monotonic()
    while True:
        queued, size = pipe_fill(k)
        if queued + PAGE >= size:
            return time.monotonic() - start
        if k.p.poll() is not None:
            raise Failure("kvmini exited (status %s) before its stdout pipe filled"
                          % k.p.returncode)
        if k.remaining() == 0:
            raise Failure("stdout pipe never filled (%d of %d bytes)" % (queued, size))
        time.sleep(0.1)


def case_flood_reader(k):
    """A reader that keeps up gets every line, in order, and the guest's hash."""
    expect_status(k, k.finish(), 0)
    expect_output(k, flood_expected(FLOOD_LINES))


def flood_stall_case(burst):
    def case(k):
        filled_in = wait_pipe_full(k)
        # The guest now fills kvmini's 64 KiB buffer, as large as the pipe, and
        # then waits on THRE. This pause only gives it time to get there at the
        # pace it filled the pipe; no assertion depends on it.
        time.sleep(1 + 1.5 * filled_in)
        if k.p.poll() is not None:
            raise Failure("kvmini exited (status %s) while its stdout was stalled"
                          % k.p.returncode)
        expect_status(k, k.finish(), 0)
        expect_output(k, flood_expected(FLOOD_LINES))
    case.__doc__ = ("A reader that stalls and then resumes still gets every line "
                    "(%d byte%s per THRE)" % (burst, "s" if burst > 1 else ""))
    return case


def case_flood_stalled_sigterm(k):
    """SIGTERM while stdout is stalled: kvmini ends by it without anyone reading."""
    wait_pipe_full(k)
    k.p.send_signal(signal.SIGTERM)
    expect_status(k, k.wait_exit(), -signal.SIGTERM)
    k.finish()
    # What did arrive is a clean prefix of the guest's output.
    want = flood_expected(FLOOD_LINES)
    if not want.startswith(bytes(k.out)):
        expect_output(k, want[:len(k.out)])
    expect_in_stderr(k, "signal 15")


def case_flood_stalled_poweroff(k):
    """The guest powers off while nothing reads: kvmini gives up on stdout, exits 0."""
    expect_status(k, k.wait_exit(), 0)
    k.finish()
    want = flood_expected(FLOOD_SHORT_LINES)
    if not want.startswith(bytes(k.out)):
        expect_output(k, want[:len(k.out)])
    expect_in_stderr(k, "guest output dropped")


def case_flood_stdout_closed(k):
    """The reader goes away after one line: output is dropped, the guest finishes."""
    k.read_until("the first line", lambda out: b"\n" in out)
    k.p.stdout.close()
    k.eof = True
    expect_status(k, k.wait_exit(), 0)
    if not bytes(k.out).startswith(flood_line(0)):
        raise Failure("first line is %r" % bytes(k.out[:FLOOD_LINE_LEN]))


def flood_stdin_case(what):
    def case(k):
        expect_status(k, k.finish(), 0)
        expect_output(k, flood_expected(FLOOD_STDIN_LINES))
    case.__doc__ = "stdin %s does not stop the guest" % what
    return case


FLOOD_STDIN_LINES = 400  # long enough for kvmini to see the EOF while the guest runs


def close_stdin():
    os.close(0)


# --- reboot, KVM failure ---------------------------------------------------

def case_reboot_restart(k):
    """--on-reboot=restart boots the guest again; SIGTERM then stops it."""
    k.read_until("the second boot", lambda out: out.count(REBOOT_BANNER) >= 2)
    k.p.send_signal(signal.SIGTERM)
    expect_status(k, k.finish(), -signal.SIGTERM)
    out = bytes(k.out)
    # only whole banners; the last boot may have been stopped mid-line
    whole = out[:out.rfind(b"\n") + 1]
    if whole != REBOOT_BANNER * whole.count(b"\n") or not REBOOT_BANNER.startswith(
            out[len(whole):]):
        raise Failure("output is not a sequence of reboot banners")


def case_emufail(k):
    """An instruction fetch from the MMIO hole: status 8 and registers on stderr."""
    expect_status(k, k.finish(), 8)
    expect_output(k, b"emufail: jumping to 0xd0000000, in the MMIO hole\n")
    expect_in_stderr(k, "vCPU 0 stopped: KVM internal error",
                     "instruction emulation failed", "RIP 00000000d0000000")


# name: (function, kvmini arguments, stdin, on a pty, preexec_fn[, environment[, wrapper]])
CASES = {
    "echo-pipe": (case_echo_pipe, [], subprocess.PIPE, False, None),
    "echo-crlf": (case_echo_crlf, [], subprocess.PIPE, False, None),
    "echo-pipe-ctrl-a": (case_echo_pipe_ctrl_a, [], subprocess.PIPE, False, None),
    "echo-stdin-eof": (case_echo_stdin_eof, [], subprocess.PIPE, False, None),
    "echo-sigterm": (signal_case(signal.SIGTERM), [], subprocess.PIPE, False, None),
    "echo-sigint": (signal_case(signal.SIGINT), [], subprocess.PIPE, False, None),
    "echo-sighup": (signal_case(signal.SIGHUP), [], subprocess.PIPE, False, None),
    "pty-quit": (case_pty_quit, [], None, True, None),
    "pty-ctrl-a": (case_pty_ctrl_a, [], None, True, None),
    "pty-keys-help": (case_pty_keys_help, [], None, True, None),
    "serial-file": (case_serial_file, ["--serial", "file=" + SERIAL_FILE], subprocess.DEVNULL,
                    False, None),
    "serial-null": (case_serial_null, ["--serial", "null"], subprocess.DEVNULL, False, None),
    "serial-pty": (case_serial_pty, ["--serial", "pty"], subprocess.DEVNULL, False, None),
    "background": (case_background, ["--timeout", "60"], None, True, None, None, BACKGROUND),
    "pty-onlcr": (case_pty_onlcr, [], None, True, None),
    "pty-harmless-signals": (case_pty_harmless_signals, [], None, True, None),
    "pty-sigkill": (case_pty_sigkill, [], None, True, None),
    "pty-seccomp-main": (seccomp_trap_case("main"), [], None, True, None,
                         {"KVMINI_TEST_SECCOMP": "main"}),
    "pty-seccomp-vcpu": (seccomp_trap_case("vcpu"), [], None, True, None,
                         {"KVMINI_TEST_SECCOMP": "vcpu"}),
    "exit-143": (case_exit_143, ["--cmdline", "exitcode=71"], subprocess.DEVNULL, False, None),
    "pty-sigterm": (signal_case(signal.SIGTERM), [], None, True, None),
    "pty-sigint": (signal_case(signal.SIGINT), [], None, True, None),
    "pty-sighup": (signal_case(signal.SIGHUP), [], None, True, None),
    "flood-reader": (case_flood_reader, flood_args(FLOOD_LINES), subprocess.DEVNULL,
                     False, None),
    "flood-stalled-resume": (flood_stall_case(1), flood_args(FLOOD_LINES),
                             subprocess.DEVNULL, False, None),
    "flood-fifo-stalled-resume": (flood_stall_case(16), flood_args(FLOOD_LINES, 16),
                                  subprocess.DEVNULL, False, None),
    "flood-stalled-sigterm": (case_flood_stalled_sigterm, flood_args(FLOOD_LINES),
                              subprocess.DEVNULL, False, None),
    "flood-stalled-poweroff": (case_flood_stalled_poweroff, flood_args(FLOOD_SHORT_LINES),
                               subprocess.DEVNULL, False, None),
    "flood-stdout-closed": (case_flood_stdout_closed, flood_args(FLOOD_LINES),
                            subprocess.DEVNULL, False, None),
    "flood-stdin-devnull": (flood_stdin_case("on /dev/null"), flood_args(FLOOD_STDIN_LINES),
                            subprocess.DEVNULL, False, None),
    "flood-stdin-eof": (flood_stdin_case("at EOF (closed pipe)"),
                        flood_args(FLOOD_STDIN_LINES), "eof", False, None),
    "flood-stdin-closed": (flood_stdin_case("closed (no fd 0)"),
                           flood_args(FLOOD_STDIN_LINES), None, False, close_stdin),
    "reboot-restart": (case_reboot_restart, ["--on-reboot=restart"], subprocess.DEVNULL,
                       False, None),
    "emufail": (case_emufail, [], subprocess.DEVNULL, False, None),
}


# Every signal whose default action ends a process and that reports no fault
# of kvmini's own: each stops the guest and ends kvmini after the cleanup.
STOP_SIGNALS = ["SIGQUIT", "SIGUSR2", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU",
                "SIGIO", "SIGPWR", "SIGSTKFLT", "SIGRTMIN", "SIGRTMAX"]
for _name in STOP_SIGNALS:
    CASES["pty-" + _name.lower()] = (signal_case(signal.Signals[_name]), [], None, True, None)


class Skip(Exception):
    pass


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print("usage: %s KVMINI IMAGE CASE\ncases: %s" % (sys.argv[0], " ".join(CASES)),
              file=sys.stderr)
        return 2
    kvmini, image, name = sys.argv[1:]
    if not kvm_usable():
        print("SKIP: /dev/kvm not available (missing, or not readable and writable)")
        return 77
    # Signals ignored by whoever started us would be ignored by kvmini too.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    # kvmini ends by SIGQUIT or SIGSYS in some cases: no core files
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fn, args, stdin, pty, preexec_fn = CASES[name][:5]
    env = CASES[name][5] if len(CASES[name]) > 5 else None
    wrapper = CASES[name][6] if len(CASES[name]) > 6 else ()
    eof_pipe = None
    if stdin == "eof":
        eof_pipe = os.pipe()
        os.close(eof_pipe[1])
        stdin = eof_pipe[0]
    k = Kvmini(kvmini, image, args, stdin=stdin, pty=pty, preexec_fn=preexec_fn, env=env,
               wrapper=wrapper)
    if eof_pipe:
        os.close(eof_pipe[0])
    try:
        fn(k)
        err = k.stderr_text()
        if "Sanitizer" in err or "runtime error" in err:
            raise Failure("sanitizer report on stderr")
    except Skip as e:
        print("SKIP: %s: %s" % (name, e))
        return 77
    except Failure as e:
        print("FAIL: %s: %s" % (name, e))
        k.kill()
        k.report()
        return 1
    finally:
        k.kill()
        k.close()
    print("PASS: %s: %s (%s, %d bytes of output)" % (name, " ".join(fn.__doc__.split()),
                                                      describe(k.p.returncode), len(k.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
