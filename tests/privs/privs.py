#!/usr/bin/env python3
"""Privilege drop and jailer of `kvmini run`, looked at from the outside.

    privs.py KVMINI ECHO_IMAGE REBOOT_IMAGE CASE

Boots the echo firmware, which waits for console input, so that the running
kvmini can be inspected through /proc: the ids, capabilities and
no_new_privs of every thread, and with --jail the root directory, mounts,
namespaces, host name and resource limits of the jailed child. Then it
ends the guest ("quit", or a signal) and checks kvmini's exit status.

Every kvmini runs under `timeout -s KILL` and every wait has a deadline
(KVMINI_TEST_TIMEOUT seconds, 60 by default); on failure the command and the
tail of its output are printed. Nothing is left behind: processes are
killed, temporary files and directories removed (mounts and namespaces die
with kvmini). Exits 0 on success, 1 on failure, 77 (skip) when not root or
without /dev/kvm.
"""
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LIMIT = float(os.environ.get("KVMINI_TEST_TIMEOUT", "60"))
TAIL_LINES = 30
ECHO_READY = b"echo: ready\n"
REBOOT_BANNER = b"reboot: pulsing the reset line through the i8042\n"
NOBODY = 65534
NOGROUP = 65534
NAMESPACES = ("mnt", "pid", "ipc", "uts", "net")


class Failure(Exception):
    pass


def children(pid):
    """Direct children of @pid (all its threads)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(c) for c in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Run:
    """One `timeout -s KILL LIMIT kvmini run ...` with stdin and stdout on pipes."""

    def __init__(self, kvmini, image, args, env=None):
        self.cmd = [kvmini, "run", "--kernel", image] + args
        self.deadline = time.monotonic() + LIMIT
        self.out = bytearray()
        self.err = tempfile.TemporaryFile()
        # timeout(1) ends by the signal that ended kvmini, so returncode is -N then
        self.p = subprocess.Popen(["timeout", "-s", "KILL", "%.0f" % LIMIT] + self.cmd,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, env=dict(os.environ, **(env or {})))

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def wait_for(self, what):
        while what not in self.out:
            if self.remaining() == 0:
                raise Failure("timed out waiting for %r" % what)
            r, _, _ = select.select([self.p.stdout], [], [], min(self.remaining(), 0.5))
            if r:
                data = os.read(self.p.stdout.fileno(), 65536)
                if not data:
                    raise Failure("output ended before %r" % what)
                self.out += data

    def kvmini_pid(self):
        """kvmini itself (timeout's child)."""
        while True:
            kids = children(self.p.pid)
            if kids:
                return kids[0]
            if self.remaining() == 0 or self.p.poll() is not None:
                raise Failure("kvmini did not start")
            time.sleep(0.01)

    def jailed_pid(self):
        """The child kvmini runs the VM in with --jail."""
        kids = children(self.kvmini_pid())
        if len(kids) != 1:
            raise Failure("the jailing kvmini has %d children, expected 1" % len(kids))
        return kids[0]

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def finish(self):
        try:
            out, _ = self.p.communicate(timeout=self.remaining())
        except subprocess.TimeoutExpired:
            raise Failure("kvmini did not exit within %.0f s" % LIMIT) from None
        self.out += out
        return self.p.returncode

    def report(self):
        def tail(text):
            return "\n".join(text.splitlines()[-TAIL_LINES:])

        self.err.seek(0)
        print("command:", " ".join(self.cmd))
        print("--- guest output (stdout, last %d lines) ---" % TAIL_LINES)
        print(tail(bytes(self.out).decode(errors="replace")))
        print("--- kvmini messages (stderr, last %d lines) ---" % TAIL_LINES)
        print(tail(self.err.read().decode(errors="replace")))

    def kill(self):
        """Kill whatever is left, deepest first, and reap timeout."""
        pids, todo = [], [self.p.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += children(pid)
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.p.wait()
        self.err.close()


def status_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def check_tasks(pid, uid, gid, want_threads):
    """Every thread of @pid: all uids @uid, all gids @gid, no groups, no capabilities."""
    names = []
    for tid in sorted(os.listdir("/proc/%d/task" % pid)):
        st = status_fields("/proc/%d/task/%s/status" % (pid, tid))
        name = " ".join(st["Name"])
        names.append(name)
        problems = []
        if st["Uid"] != [str(uid)] * 4:
            problems.append("Uid %s, expected %d" % (" ".join(st["Uid"]), uid))
        if st["Gid"] != [str(gid)] * 4:
            problems.append("Gid %s, expected %d" % (" ".join(st["Gid"]), gid))
        if st["Groups"]:
            problems.append("supplementary groups %s" % " ".join(st["Groups"]))
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            if int(st[cap][0], 16):
                problems.append("%s %s" % (cap, st[cap][0]))
        if st["NoNewPrivs"] != ["1"]:
            problems.append("NoNewPrivs %s" % st["NoNewPrivs"][0])
        if problems:
            raise Failure("thread %s (%s) of kvmini: %s" % (tid, name, "; ".join(problems)))
    for want in want_threads:
        if want not in names:
            raise Failure("no thread %s in kvmini (threads: %s): the test would not "
                          "cover it" % (want, ", ".join(names)))
    print("ok: %d threads (%s): uid %d, gid %d, no groups, no capabilities, no_new_privs"
          % (len(names), ", ".join(names), uid, gid))


def ns_id(pid, ns):
    return os.readlink("/proc/%s/ns/%s" % (pid, ns))


def hostname_of(pid):
    out = subprocess.run(["nsenter", "-t", str(pid), "-u", "cat",
                          "/proc/sys/kernel/hostname"],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def limit_of(pid, name):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(name):
                return line[len(name):].split()[0]
    raise Failure("no %r in /proc/%d/limits" % (name, pid))


def check_jail(pid, jail, new_net, net_of=None):
    want, got = os.stat(jail), os.stat("/proc/%d/root" % pid)
    if (got.st_dev, got.st_ino) != (want.st_dev, want.st_ino):
        raise Failure("the jailed kvmini's root is not %s (dev/ino %d/%d, expected %d/%d)"
                      % (jail, got.st_dev, got.st_ino, want.st_dev, want.st_ino))
    with open("/proc/%d/mountinfo" % pid) as f:
        mounts = [line.split() for line in f]
    if len(mounts) != 1 or mounts[0][4] != "/":
        raise Failure("the jailed kvmini sees %d mounts, expected only its root: %s"
                      % (len(mounts), "; ".join(" ".join(m[3:5]) for m in mounts)))
    if "ro" not in mounts[0][5].split(","):
        raise Failure("the jail's root is not read-only: %s" % mounts[0][5])
    for ns in NAMESPACES:
        same = ns_id(pid, ns) == ns_id("self", ns)
        if ns == "net":
            if net_of is not None:
                if ns_id(pid, ns) != ns_id(net_of, ns):
                    raise Failure("the jailed kvmini is in net namespace %s, expected %s "
                                  "(--jail-netns)" % (ns_id(pid, ns), ns_id(net_of, ns)))
            elif same == new_net:
                raise Failure("the jailed kvmini is %s net namespace as the test"
                              % ("in the same" if same else "not in the same"))
        elif same:
            raise Failure("the jailed kvmini shares the test's %s namespace" % ns)
    nspid = status_fields("/proc/%d/status" % pid)["NSpid"]
    if nspid[-1] != "1":
        raise Failure("the jailed kvmini is not PID 1 of its namespace (NSpid %s)"
                      % " ".join(nspid))
    name = hostname_of(pid)
    if name != "kvmini" or name == socket.gethostname():
        raise Failure("the jailed kvmini's host name is %r, expected 'kvmini'" % name)
    if limit_of(pid, "Max core file size") != "0":
        raise Failure("core dumps are not off in the jail")
    nofile = limit_of(pid, "Max open files")
    if int(nofile) > 256:
        raise Failure("Max open files is %s in the jail, expected what kvmini needs" % nofile)
    print("ok: root %s (read-only, alone), own mnt/pid/ipc/uts%s namespaces, PID 1, "
          "host name kvmini, no core dumps, %s open files at most"
          % (jail, "/net" if new_net else "", nofile))


class Env:
    def __init__(self, kvmini, echo, reboot):
        self.kvmini, self.echo, self.reboot = kvmini, echo, reboot
        self.tmp = tempfile.mkdtemp(prefix="kvmini-privs.")
        self.jail = os.path.join(self.tmp, "jail")
        os.mkdir(self.jail)
        self.disk = os.path.join(self.tmp, "disk.img")
        with open(self.disk, "wb") as f:
            f.truncate(1 << 20)
        os.chmod(self.disk, 0o600)  # only root: opened before the drop
        self.runs = []
        self.helpers = []

    def run(self, image, args, env=None):
        r = Run(self.kvmini, image, args, env)
        self.runs.append(r)
        return r

    def cleanup(self):
        for r in self.runs:
            r.kill()
        for h in self.helpers:
            h.kill()
            h.wait()
        if os.listdir(self.jail):
            raise Failure("the jail directory is not empty after the run: %s"
                          % os.listdir(self.jail))
        shutil.rmtree(self.tmp)


def quit_echo(r):
    r.send(b"quit\n")
    status = r.finish()
    if status != 0:
        raise Failure("kvmini exited with status %s after quit, expected 0" % status)


def case_user_threads(env):
    r = env.run(env.echo, ["--user", "nobody", "--disk", "path=" + env.disk])
    r.wait_for(ECHO_READY)
    check_tasks(r.kvmini_pid(), NOBODY, NOGROUP, ["kvmini-blk0", "kvmini-vcpu0"])
    quit_echo(r)


def case_group_threads(env):
    # the uid stays 0: the capabilities of every thread must go all the same
    r = env.run(env.echo, ["--group", "nogroup", "--disk", "path=" + env.disk])
    r.wait_for(ECHO_READY)
    check_tasks(r.kvmini_pid(), 0, NOGROUP, ["kvmini-blk0", "kvmini-vcpu0"])
    quit_echo(r)


def case_user_restart(env):
    # a restart re-creates the VM with the dropped privileges
    r = env.run(env.reboot, ["--user", "nobody", "--on-reboot", "restart", "--timeout", "3"])
    status = r.finish()
    if status != 124:
        raise Failure("kvmini exited with status %s, expected 124 (--timeout)" % status)
    boots = r.out.count(REBOOT_BANNER)
    if boots < 2:
        raise Failure("the guest booted %d times, expected a restart after its reboot" % boots)
    print("ok: %d boots as nobody" % boots)


def case_user_restart_disk(env):
    # the image is root's (0600): opened before the drop, kept across restarts
    r = env.run(env.reboot, ["--user", "nobody", "--on-reboot", "restart", "--timeout", "3",
                             "--disk", "path=" + env.disk])
    status = r.finish()
    if status != 124:
        raise Failure("kvmini exited with status %s, expected 124 (--timeout)" % status)
    boots = r.out.count(REBOOT_BANNER)
    if boots < 2:
        raise Failure("the guest booted %d times, expected a restart after its reboot" % boots)
    print("ok: %d boots as nobody with a disk only root may open" % boots)


def case_jail_threads(env):
    r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody",
                           "--disk", "path=" + env.disk])
    r.wait_for(ECHO_READY)
    pid = r.jailed_pid()
    check_jail(pid, env.jail, new_net=False)
    check_tasks(pid, NOBODY, NOGROUP, ["kvmini-blk0", "kvmini-vcpu0"])
    quit_echo(r)


def case_jail_root(env):
    # without --user: uid 0 stays, but without capabilities
    r = env.run(env.echo, ["--jail", env.jail])
    r.wait_for(ECHO_READY)
    pid = r.jailed_pid()
    check_jail(pid, env.jail, new_net=False)
    check_tasks(pid, 0, 0, ["kvmini-vcpu0"])
    quit_echo(r)


def case_jail_stats(env):
    # /proc/self/status is opened before the jail hides /proc
    r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody", "--stats"])
    r.wait_for(ECHO_READY)
    quit_echo(r)
    r.err.seek(0)
    # the memory line; the KVM exit counts have a line of their own
    lines = [l for l in r.err.read().decode(errors="replace").splitlines()
             if l.startswith("kvmini: stats: peak_rss_kib=")]
    if len(lines) != 1:
        raise Failure("expected one 'kvmini: stats: peak_rss_kib=' line on stderr, got %d"
                      % len(lines))
    figures = dict(f.split("=", 1) for f in lines[0].split()[2:])
    for key in ("peak_rss_kib", "rss_kib", "guest_resident_kib"):
        if int(figures.get(key, "0")) <= 0:
            raise Failure("--stats in the jail: %s is %s, expected a positive number (%s)"
                          % (key, figures.get(key), lines[0]))
    print("ok: %s" % lines[0])


def case_jail_netns_new(env):
    r = env.run(env.echo, ["--jail", env.jail, "--jail-netns", "new"])
    r.wait_for(ECHO_READY)
    check_jail(r.jailed_pid(), env.jail, new_net=True)
    quit_echo(r)


def case_jail_netns_path(env):
    helper = subprocess.Popen(["unshare", "-n", "sleep", "%.0f" % LIMIT])
    env.helpers.append(helper)
    deadline = time.monotonic() + LIMIT
    while ns_id(helper.pid, "net") == ns_id("self", "net"):
        if time.monotonic() > deadline or helper.poll() is not None:
            raise Failure("unshare -n did not create a network namespace")
        time.sleep(0.01)
    path = "/proc/%d/ns/net" % helper.pid
    r = env.run(env.echo, ["--jail", env.jail, "--jail-netns", path])
    r.wait_for(ECHO_READY)
    check_jail(r.jailed_pid(), env.jail, new_net=True, net_of=helper.pid)
    quit_echo(r)


def describe(returncode):
    if returncode < 0:
        return "ended by %s" % signal.Signals(-returncode).name
    return "exited with status %d" % returncode


def signal_case(sig, to_child):
    """@sig to the jail's parent or to its child (PID 1 of the namespace): the
    child stops the guest and the parent ends by @sig (WIFSIGNALED), not
    with a status that a guest could also report."""
    def case(env):
        r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody"])
        r.wait_for(ECHO_READY)
        parent, child = r.kvmini_pid(), r.jailed_pid()
        os.kill(child if to_child else parent, sig)
        status = r.finish()
        if status != -sig:
            raise Failure("kvmini %s after %s to the %s, expected it to end by %s"
                          % (describe(status), signal.Signals(sig).name,
                             "jailed child (PID 1)" if to_child else "parent",
                             signal.Signals(sig).name))
        if alive(child):
            raise Failure("the jailed child %d outlived its parent" % child)
        r.err.seek(0)
        if b"stopped by signal %d" % sig not in r.err.read():
            raise Failure("the jailed child did not stop the guest on %s (no 'stopped by "
                          "signal %d' on stderr)" % (signal.Signals(sig).name, sig))
        print("ok: %s to the %s: kvmini %s" % (signal.Signals(sig).name,
                                               "child" if to_child else "parent",
                                               describe(status)))
    return case


def case_jail_child_killed(env):
    """The jailed child dies by SIGKILL: the parent ends by SIGKILL too."""
    r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody"])
    r.wait_for(ECHO_READY)
    os.kill(r.jailed_pid(), signal.SIGKILL)
    status = r.finish()
    if status != -signal.SIGKILL:
        raise Failure("kvmini %s after SIGKILL to the jailed child, expected it to end "
                      "by SIGKILL" % describe(status))
    print("ok: SIGKILL to the child: kvmini %s" % describe(status))


def case_jail_seccomp(env):
    """A forbidden call in the jailed child (PID 1, which cannot raise SIGSYS on
    itself): the parent ends by SIGSYS, as kvmini does without --jail."""
    if os.environ.get("KVMINI_TEST_HOOKS", "true") != "true":
        print("SKIP: test hooks are compiled out")
        sys.exit(77)
    r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody"],
                {"KVMINI_TEST_SECCOMP": "vcpu"})
    status = r.finish()
    if status != -signal.SIGSYS:
        raise Failure("kvmini %s after a forbidden call in the jail, expected it to end by "
                      "SIGSYS" % describe(status))
    r.err.seek(0)
    if b"seccomp: system call" not in r.err.read():
        raise Failure("no seccomp message on stderr")
    print("ok: seccomp trap in the jail: kvmini %s" % describe(status))


def case_jail_parent_killed(env):
    r = env.run(env.echo, ["--jail", env.jail, "--user", "nobody"])
    r.wait_for(ECHO_READY)
    parent, child = r.kvmini_pid(), r.jailed_pid()
    os.kill(parent, signal.SIGKILL)
    while alive(child):
        if r.remaining() == 0:
            raise Failure("the jailed child %d still runs after its parent was killed" % child)
        time.sleep(0.01)
    r.finish()
    print("ok: the jailed child ended with its parent")


CASES = {
    "user-threads": case_user_threads,
    "group-threads": case_group_threads,
    "user-restart": case_user_restart,
    "user-restart-disk": case_user_restart_disk,
    "jail-threads": case_jail_threads,
    "jail-root": case_jail_root,
    "jail-stats": case_jail_stats,
    "jail-netns-new": case_jail_netns_new,
    "jail-netns-path": case_jail_netns_path,
    "jail-sigterm": signal_case(signal.SIGTERM, False),
    "jail-sigint": signal_case(signal.SIGINT, False),
    "jail-sighup": signal_case(signal.SIGHUP, False),
    "jail-sigterm-pid1": signal_case(signal.SIGTERM, True),
    "jail-sigquit": signal_case(signal.SIGQUIT, False),
    "jail-sigusr2-pid1": signal_case(signal.SIGUSR2, True),
    "jail-child-killed": case_jail_child_killed,
    "jail-seccomp": case_jail_seccomp,
    "jail-parent-killed": case_jail_parent_killed,
}


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print("usage: %s KVMINI ECHO_IMAGE REBOOT_IMAGE CASE\ncases: %s"
              % (sys.argv[0], " ".join(CASES)), file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: needs root (to switch users and create namespaces)")
        return 77
    if not os.path.exists("/dev/kvm"):
        print("SKIP: no /dev/kvm")
        return 77
    # signals ignored by whoever started us would be ignored by kvmini too
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    # kvmini ends by SIGQUIT or SIGSYS in some cases: no core files
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    env = Env(*sys.argv[1:4])
    failed = False
    try:
        CASES[sys.argv[4]](env)
    except (Failure, OSError, subprocess.SubprocessError) as e:
        print("FAIL: %s: %s" % (sys.argv[4], e))
        for r in env.runs:
            r.report()
        failed = True
    finally:
        try:
            env.cleanup()
        except Failure as e:
            print("FAIL: %s" % e)
            failed = True
    if failed:
        return 1
    print("PASS: %s" % sys.argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
