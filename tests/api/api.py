#!/usr/bin/env python3
"""The control plane: `kvmini run --name/--pidfile/--api-socket`, the API
socket's protocol, and the `kvmini list/info/pause/resume/stop` client.

    api.py KVMINI COUNTER_IMAGE PIOLOOP_IMAGE CASE

Each case boots the counter firmware (it prints "COUNT n" about every
50 ms and powers off on the ACPI power button unless counter.button=ignore)
and drives it; the stat and report cases boot the pioloop firmware,
which makes a known number of port writes to the i8042. Exits 0 on success, 1 on failure (with the tail of the
guest's output and kvmini's stderr), 77 without a usable /dev/kvm.
Every wait has a deadline (KVMINI_TEST_TIMEOUT, 120 s by default) that only
stops a hung run; nothing asserts on how long anything took.
"""
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

LIMIT = float(os.environ.get("KVMINI_TEST_TIMEOUT", "120"))
PIOLOOP = None  # the pioloop firmware image (argv)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class VM:
    """One `kvmini run` of the counter guest, stdout and stderr in files."""

    def __init__(self, kvmini, image, name, args=(), cmdline=None):
        self.kvmini = kvmini
        self.name = name
        self.dir = tempfile.TemporaryDirectory(prefix="kvmini-api-")
        self.out_path = os.path.join(self.dir.name, "out")
        self.err_path = os.path.join(self.dir.name, "err")
        cmd = [kvmini, "run", "--kernel", image]
        if name:
            cmd += ["--name", name]
        if cmdline:
            cmd += ["--cmdline", cmdline]
        cmd += list(args)
        self.cmd = cmd
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=self.err)
        self.deadline = time.monotonic() + LIMIT

    def output(self):
        """What the guest printed, in whole lines: the last one may still be half written."""
        with open(self.out_path, "rb") as f:
            data = f.read()
        return data[:data.rfind(b"\n") + 1].decode(errors="replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def count(self):
        """The last COUNT the guest printed, or -1."""
        last = -1
        for line in self.output().splitlines():
            if line.startswith("COUNT "):
                try:
                    last = int(line[6:])
                except ValueError:
                    pass
        return last

    def wait_for(self, pred, what):
        while time.monotonic() < self.deadline:
            if pred():
                return
            if self.p.poll() is not None and not pred():
                raise Failure("kvmini exited (%s) while waiting for %s" % (self.p.returncode, what))
            time.sleep(0.02)
        raise Failure("timed out waiting for %s" % what)

    def wait_counting(self, beyond=-1):
        self.wait_for(lambda: self.count() > beyond, "COUNT beyond %d" % beyond)

    def wait_exit(self):
        try:
            return self.p.wait(timeout=max(1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Failure("kvmini did not exit")

    def socket_path(self):
        return "/run/kvmini/%s.sock" % self.name if os.geteuid() == 0 else None

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.p.pid))

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.out.close()
        self.err.close()

    def tail(self):
        return ("command: %s\n--- guest output (tail) ---\n%s\n--- kvmini stderr ---\n%s" %
                (" ".join(self.cmd), "\n".join(self.output().splitlines()[-15:]),
                 self.stderr()[-3000:]))


def client(kvmini, *args, timeout=None):
    r = subprocess.run([kvmini] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout or LIMIT)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


class Conn:
    """A raw connection to the API socket, line by line."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(LIMIT)
        self.s.connect(path)
        self.buf = b""
        self.events = []  # events read while waiting for a reply

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise Failure("the API closed the connection (buffered %r)" % self.buf[:200])
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return json.loads(l)

    def maybe_closed(self):
        """Read until EOF; return the JSON lines seen."""
        seen = []
        while True:
            while b"\n" in self.buf:
                l, self.buf = self.buf.split(b"\n", 1)
                seen.append(json.loads(l))
            try:
                d = self.s.recv(65536)
            except ConnectionResetError:
                return seen
            if not d:
                return seen
            self.buf += d

    def send(self, data):
        self.s.sendall(data)

    def call(self, obj):
        self.send(json.dumps(obj).encode() + b"\n")
        while True:
            r = self.line()
            if "event" not in r:
                return r
            self.events.append(r)

    def event(self):
        if self.events:
            return self.events.pop(0)
        return self.line()

    def close(self):
        self.s.close()


def greeted(path):
    c = Conn(path)
    g = c.line()
    check(g.get("kvmini", {}).get("api") == 1, "greeting %r" % g)
    return c


def expect_error(reply, code):
    check("error" in reply and reply["error"].get("code") == code,
          "expected error %s, got %r" % (code, reply))


# ---- cases ----

def case_pause_resume(k, img):
    vm = VM(k, img, "t-pause-%d" % os.getpid())
    try:
        vm.wait_counting(3)
        rc, out, err = client(k, "pause", vm.name)
        check(rc == 0, "pause: status %d, %s" % (rc, err))
        paused_at = vm.count()
        rc, out, err = client(k, "info", "--json", vm.name)
        check(rc == 0 and json.loads(out)["state"] == "paused", "info while paused: %s %s" % (out, err))
        time.sleep(0.5)  # the guest would print about ten lines in this time
        check(vm.count() == paused_at, "counted while paused: %d -> %d" % (paused_at, vm.count()))
        rc, out, err = client(k, "pause", vm.name)
        check(rc == 1 and "already paused" in err and len(err.strip().splitlines()) == 1,
              "pause while paused: %d %r" % (rc, err))
        rc, out, err = client(k, "resume", vm.name)
        check(rc == 0, "resume: status %d, %s" % (rc, err))
        vm.wait_counting(paused_at + 3)
        rc, out, err = client(k, "resume", vm.name)
        check(rc == 1 and "not paused" in err, "resume while running: %d %r" % (rc, err))
        rc, out, err = client(k, "stop", "--force", vm.name)
        check(rc == 0, "stop --force: %d %s" % (rc, err))
        check(vm.wait_exit() == 0, "exit status %s" % vm.p.returncode)
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def case_list_info(k, img):
    vm = VM(k, img, "t-list-%d" % os.getpid(), args=["--cpus", "2", "--memory", "128M"])
    try:
        vm.wait_counting(0)
        rc, out, err = client(k, "list")
        check(rc == 0, "list: %d %s" % (rc, err))
        lines = out.splitlines()
        check(lines[0].split() == ["NAME", "PID", "STATE", "CPUS", "MEMORY", "UPTIME"],
              "list header %r" % lines[0])
        row = [l.split() for l in lines[1:] if l.split()[0] == vm.name]
        check(row and row[0][1] == str(vm.p.pid) and row[0][2] == "running" and
              row[0][3] == "2" and row[0][4] == "128M", "list row %r" % row)
        rc, out, err = client(k, "list", "--json")
        entries = [e for e in json.loads(out) if e["name"] == vm.name]
        check(rc == 0 and entries and entries[0]["pid"] == vm.p.pid, "list --json %r" % out)
        rc, out, err = client(k, "info", "--json", vm.name)
        info = json.loads(out)
        check(info["cpus"] == 2 and info["memory"] == 128 << 20 and info["kernel"] == img,
              "info %r" % info)
        names = {d["name"]: d for d in info["devices"]}
        check("com1" in names and names["com1"]["port"] == "0x3f8" and names["com1"]["irq"] == 4,
              "info devices %r" % info["devices"])
        check("pm" in names and names["pm"]["role"] == "power", "no power device %r" % names)
        rc, out, err = client(k, "info", vm.name)
        check(rc == 0 and ("state:   running" in out) and "com1" in out, "info text %r" % out)
        with open("/proc/%d/comm" % vm.p.pid) as f:
            comm = f.read().strip()
        check(comm == ("kvmini:" + vm.name)[:15], "process title %r" % comm)
        rc, out, err = client(k, "info", "no-such-vm-%d" % os.getpid())
        check(rc == 3 and len(err.strip().splitlines()) == 1 and "kvmini list" in err,
              "unknown name: %d %r" % (rc, err))
        rc, out, err = client(k, "info", "../etc")
        check(rc == 3 and len(err.strip().splitlines()) == 1, "bad name: %d %r" % (rc, err))
        rc, out, err = client(k, "stop", "--force", vm.name)
        check(rc == 0 and vm.wait_exit() == 0, "stop --force: %d %r" % (rc, err))
        check(not os.path.exists(vm.socket_path()), "socket left behind")
        rc, out, err = client(k, "list")
        check(vm.name not in out, "stopped VM still listed: %r" % out)
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def case_stop(k, img):
    vm = VM(k, img, "t-stop-%d" % os.getpid())
    try:
        vm.wait_counting(2)
        rc, out, err = client(k, "stop", "--timeout", "60", vm.name)
        check(rc == 0 and "poweroff" in out, "stop: %d %r %r" % (rc, out, err))
        check(vm.wait_exit() == 0, "kvmini exit status %s" % vm.p.returncode)
        check("POWER-BUTTON" in vm.output(), "the guest saw no power button")
        check(not os.path.exists(vm.socket_path()), "socket left behind")
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def case_stop_timeout(k, img):
    vm = VM(k, img, "t-stopto-%d" % os.getpid(), cmdline="counter.button=ignore")
    try:
        vm.wait_counting(2)
        c = greeted(vm.socket_path())
        check("return" in c.call({"execute": "events"}), "events")
        r = c.call({"execute": "stop", "arguments": {"timeout": 30}, "id": 1})
        check("return" in r and r.get("id") == 1, "stop reply %r" % r)
        # stop during stop: refused, the guest keeps running
        r = c.call({"execute": "stop", "arguments": {"timeout": 30}, "id": 2})
        expect_error(r, "already")
        vm.wait_for(lambda: "POWER-BUTTON" in vm.output(), "the button press")
        at = vm.count()
        vm.wait_counting(at + 2)
        rc, out, err = client(k, "stop", "--timeout", "0.5", vm.name)
        check(rc == 1 and "already under way" in err, "second client stop: %d %r" % (rc, err))
        rc, out, err = client(k, "stop", "--force", vm.name)
        check(rc == 0, "stop --force during stop: %d %r" % (rc, err))
        check(vm.wait_exit() == 0, "kvmini exit status %s" % vm.p.returncode)
        events = c.maybe_closed()
        kinds = [e.get("event") for e in events]
        check("STOP" in kinds, "no STOP event: %r" % events)
        stop = [e for e in events if e.get("event") == "STOP"][0]
        check(stop["data"]["reason"] == "forced" and stop["data"]["status"] == 0,
              "STOP event %r" % stop)
        # and the timeout: a guest that ignores the button is stopped hard
        vm2 = VM(k, img, "t-stopto2-%d" % os.getpid(), cmdline="counter.button=ignore")
        try:
            vm2.wait_counting(2)
            rc, out, err = client(k, "stop", "--timeout", "1", vm2.name)
            check(rc == 5 and "did not power off" in out, "stop timeout: %d %r %r" % (rc, out, err))
            check(vm2.wait_exit() == 0, "kvmini exit status %s" % vm2.p.returncode)
        except Failure:
            print(vm2.tail())
            raise
        finally:
            vm2.close()
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def case_events(k, img):
    vm = VM(k, img, "t-events-%d" % os.getpid())
    try:
        vm.wait_counting(0)
        c = greeted(vm.socket_path())
        check("return" in c.call({"execute": "events", "id": "e"}), "subscribe")
        expect_error(c.call({"execute": "events"}), "already")
        check("return" in c.call({"execute": "pause"}), "pause")
        check("return" in c.call({"execute": "resume"}), "resume")
        states = []
        while len(states) < 2:
            e = c.event()
            if e.get("event") == "STATE":
                states.append(e["data"]["state"])
        check(states == ["paused", "running"], "STATE events %r" % states)
        check("return" in c.call({"execute": "stop", "arguments": {"force": True}}), "stop")
        check(vm.wait_exit() == 0, "exit %s" % vm.p.returncode)
        rest = c.maybe_closed()
        check([e["data"]["reason"] for e in rest if e.get("event") == "STOP"] == ["forced"],
              "STOP event %r" % rest)
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def case_bad_input(k, img):
    vm = VM(k, img, "t-bad-%d" % os.getpid())
    try:
        vm.wait_counting(0)
        path = vm.socket_path()
        c = greeted(path)
        fds_before = vm.fds()
        expect_error(_raw(c, b"{not json\n"), "bad-json")
        expect_error(_raw(c, b"[1,2,3]\n"), "bad-request")
        expect_error(_raw(c, b"\"info\"\n"), "bad-request")
        expect_error(_raw(c, b"{\"execute\": 5}\n"), "bad-request")
        expect_error(_raw(c, b"{\"execute\": \"info\"} trailing\n"), "bad-json")
        expect_error(c.call({"execute": "reboot-the-host"}), "unknown-command")
        expect_error(c.call({"execute": "info", "extra": 1}), "bad-request")
        expect_error(c.call({"execute": "info", "arguments": []}), "bad-argument")
        expect_error(c.call({"execute": "info", "arguments": {"x": 1}}), "bad-argument")
        expect_error(c.call({"execute": "stop", "arguments": {"timeout": "soon"}}), "bad-argument")
        expect_error(c.call({"execute": "stop", "arguments": {"timeout": -1}}), "bad-argument")
        expect_error(c.call({"execute": "stop", "arguments": {"timeout": 1e300}}), "bad-argument")
        expect_error(c.call({"execute": "stop", "arguments": {"force": "yes"}}), "bad-argument")
        expect_error(_raw(c, b"{\"execute\": \"info\", \"id\": [[[[[[[[[[[[[1]]]]]]]]]]]]]}\n"),
                     "bad-json")
        expect_error(_raw(c, b"{\"execute\": \"in\\u0000fo\"}\n"), "unknown-command")
        expect_error(_raw(c, b"\xff\xfe\n"), "bad-json")
        # snapshot-disk: its arguments, the descriptor it needs, and descriptors nobody asked for
        expect_error(c.call({"execute": "snapshot-disk"}), "bad-argument")
        expect_error(c.call({"execute": "snapshot-disk", "arguments": {"disk": "disk0"}}),
                     "bad-argument")
        expect_error(c.call({"execute": "snapshot-disk",
                             "arguments": {"disk": "disk0", "file": "rel.qcow2"}}), "bad-argument")
        expect_error(c.call({"execute": "snapshot-disk",
                             "arguments": {"disk": "disk0", "file": "/x.qcow2", "y": 1}}),
                     "bad-argument")
        snap = {"execute": "snapshot-disk", "arguments": {"disk": "disk0", "file": "/x.qcow2"}}
        expect_error(c.call(snap), "bad-request")  # no descriptor
        with tempfile.TemporaryFile() as f:
            line = json.dumps(snap).encode() + b"\n"
            socket.send_fds(c.s, [line], [f.fileno()])
            r = c.line()
            expect_error(r, "not-found")  # this VM has no disks
            check("no disk 'disk0'" in r["error"]["message"], "snapshot-disk: %r" % r)
            # four descriptors with a plain info: the newest waits for a snapshot-disk on
            # that connection, the others are closed at once; all go with the connection
            # (the fd count below)
            extra = greeted(path)
            socket.send_fds(extra.s, [b'{"execute": "info"}\n'], [f.fileno()] * 4)
            check("return" in extra.line(), "info with descriptors")
            extra.close()
        r = c.call({"execute": "info", "id": {"any": ["json", 1]}})
        check(r.get("id") == {"any": ["json", 1]} and r["return"]["name"] == vm.name,
              "id echoed %r" % r)
        # a 10 MiB line: one error, then the connection ends
        big = Conn(path)
        big.line()
        try:
            big.send(b"{\"execute\": \"" + b"x" * (10 << 20) + b"\"}\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        seen = big.maybe_closed()
        check(seen and seen[0]["error"]["code"] == "too-long", "10 MiB line: %r" % seen[:2])
        big.close()
        # 1000 connections at once: some are served, the others told "busy"
        many = []
        for _ in range(1000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)  # blocking: waits while the backlog is full
            s.settimeout(LIMIT)
            many.append(s)
        busy = served = 0
        for s in many:
            d = b""
            while b"\n" not in d:
                x = s.recv(4096)
                if not x:
                    break
                d += x
            g = json.loads(d.split(b"\n")[0])
            if "kvmini" in g:
                served += 1
            elif g.get("error", {}).get("code") == "busy":
                busy += 1
        check(served >= 1 and busy >= 1 and served + busy == 1000,
              "1000 connections: %d served, %d busy" % (served, busy))
        for s in many:
            s.close()
        # clients that vanish mid-reply
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            try:
                s.sendall(b"{\"execute\": \"info\"}\n" * 4)
            except (BrokenPipeError, ConnectionResetError):
                pass  # told "busy" and closed: the earlier ones are still being reaped
            s.close()
        # a client that never reads: the API drops it, nobody else waits
        deaf = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deaf.connect(path)
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        deaf.setblocking(False)
        try:
            for _ in range(20000):
                deaf.send(b"{\"execute\": \"info\"}\n")
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            pass  # already dropped for its 1 MiB of unread replies, while still sending
        r = c.call({"execute": "info"})
        check("return" in r, "info after the deaf client %r" % r)
        deaf.close()
        # nothing leaked: the same fds as before, once the server caught up
        at = vm.count()
        vm.wait_counting(at + 3)
        vm.wait_for(lambda: vm.fds() == fds_before, "fd count back to %d (is %d)" %
                    (fds_before, vm.fds()))
        r = c.call({"execute": "info"})
        check(r["return"]["state"] == "running", "still running %r" % r)
        c.close()
        rc, out, err = client(k, "stop", "--force", vm.name)
        check(rc == 0 and vm.wait_exit() == 0, "stop: %d %r" % (rc, err))
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def _raw(c, data):
    c.send(data)
    while True:
        r = c.line()
        if "event" not in r:
            return r


def case_other_user(k, img):
    d = tempfile.mkdtemp(prefix="kvmini-api-user-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "vm.sock")
    vm = VM(k, img, "t-user-%d" % os.getpid(), args=["--api-socket", path])
    try:
        vm.wait_counting(0)
        st = os.stat(path)
        check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
              "socket mode %o" % st.st_mode)
        os.chmod(path, 0o666)  # only the peer check stands in the way now
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                c = Conn(path)
                seen = c.maybe_closed()
                os.write(w, json.dumps(seen).encode())
            except Exception as e:
                os.write(w, json.dumps([{"exception": str(e)}]).encode())
            os._exit(0)
        os.close(w)
        data = b""
        while True:
            x = os.read(r, 65536)
            if not x:
                break
            data += x
        os.waitpid(pid, 0)
        seen = json.loads(data)
        check(len(seen) == 1 and seen[0].get("error", {}).get("code") == "not-permitted",
              "another user's connection: %r" % seen)
        c = greeted(path)
        check("return" in c.call({"execute": "info"}), "the owner is still served")
        c.close()
        rc, out, err = client(k, "stop", "--force", path)
        check(rc == 0 and vm.wait_exit() == 0, "stop by path: %d %r" % (rc, err))
        check(not os.path.exists(path), "socket left behind")
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()
        try:
            os.rmdir(d)
        except OSError:
            pass


def case_identity(k, img):
    d = tempfile.mkdtemp(prefix="kvmini-api-id-")
    pidfile = os.path.join(d, "vm.pid")
    name = "t-id-%d" % os.getpid()
    vm = VM(k, img, name, args=["--pidfile", pidfile])
    try:
        vm.wait_counting(0)
        with open(pidfile) as f:
            check(f.read() == "%d\n" % vm.p.pid, "pidfile content")
        # the same name twice: refused in one line, the first keeps running
        r = subprocess.run([k, "run", "--kernel", img, "--name", name, "--timeout", "30"],
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=LIMIT)
        err = r.stderr.decode()
        check(r.returncode == 2 and "already running" in err and len(err.strip().splitlines()) == 1,
              "same name: %d %r" % (r.returncode, err))
        # the same pidfile twice: refused
        r = subprocess.run([k, "run", "--kernel", img, "--pidfile", pidfile, "--api-socket", "none",
                            "--timeout", "30"], capture_output=True, stdin=subprocess.DEVNULL,
                           timeout=LIMIT)
        err = r.stderr.decode()
        check(r.returncode == 2 and "locked" in err, "same pidfile: %d %r" % (r.returncode, err))
        with open(pidfile) as f:
            check(f.read() == "%d\n" % vm.p.pid, "pidfile rewritten by the refused run")
        for bad in ["", "-x", ".hidden", "a/b", "x" * 65, "sp ace"]:
            r = subprocess.run([k, "run", "--kernel", img, "--name", bad], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=LIMIT)
            check(r.returncode == 2 and "--name" in r.stderr.decode(),
                  "--name %r: %d %r" % (bad, r.returncode, r.stderr))
        vm.p.terminate()  # SIGTERM: kvmini ends by it, and cleans up first
        vm.wait_exit()
        check(not os.path.exists(pidfile), "pidfile left behind")
        check(not os.path.exists(vm.socket_path()), "socket left behind")
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()
        try:
            os.rmdir(d)
        except OSError:
            pass


def case_stale(k, img):
    name = "t-stale-%d" % os.getpid()
    # with --user (a uid that could not remove it), a helper outside the filters removes the
    # socket even after SIGKILL
    vm = VM(k, img, name, args=["--user", "nobody"])
    try:
        vm.wait_counting(0)
        path = vm.socket_path()
        vm.p.kill()
        vm.wait_exit()
        vm.wait_for(lambda: not os.path.exists(path), "the helper to remove the socket")
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()
    # otherwise (no helper) SIGKILL leaves the socket: the next start replaces it
    vm = VM(k, img, name)
    try:
        vm.wait_counting(0)
        path = vm.socket_path()
        vm.p.kill()  # SIGKILL: nothing is cleaned up
        vm.wait_exit()
        check(os.path.exists(path), "SIGKILL cannot remove the socket; where did it go?")
        rc, out, err = client(k, "info", name)
        check(rc == 3, "a stale socket is no VM: %d %r" % (rc, err))
        vm2 = VM(k, img, name)
        try:
            vm2.wait_counting(0)
            rc, out, err = client(k, "info", "--json", name)
            check(rc == 0 and json.loads(out)["pid"] == vm2.p.pid, "replaced socket: %r" % out)
            rc, out, err = client(k, "stop", "--force", name)
            check(rc == 0 and vm2.wait_exit() == 0, "stop %d" % rc)
        except Failure:
            print(vm2.tail())
            raise
        finally:
            vm2.close()
        # not a socket at the path: refused, the file kept
        d = tempfile.mkdtemp(prefix="kvmini-api-stale-")
        f = os.path.join(d, "file")
        with open(f, "w") as fh:
            fh.write("keep me")
        r = subprocess.run([k, "run", "--kernel", img, "--api-socket", f], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=LIMIT)
        check(r.returncode == 2 and "not a socket" in r.stderr.decode(), "file at path %r" % r.stderr)
        with open(f) as fh:
            check(fh.read() == "keep me", "the file was touched")
        os.unlink(f)
        os.rmdir(d)
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


PIO_COUNT = 4321


def pio_vm(k, name, args=()):
    vm = VM(k, PIOLOOP, name, args=args, cmdline="pio.count=%d" % PIO_COUNT)
    vm.wait_for(lambda: "PIO-DONE %d" % PIO_COUNT in vm.output(), "PIO-DONE")
    return vm


def stat_json(k, *args):
    rc, out, err = client(k, "stat", "-1", "-s", "0.2", "--json", *args)
    check(rc == 0, "kvmini stat %s: %d %r" % (" ".join(args), rc, err))
    return json.loads(out)


def events_of(j):
    return {e["name"]: e for e in j["events"]}


def case_stat(k, img):
    name = "t-stat-%d" % os.getpid()
    vm = pio_vm(k, name, args=["--cpus", "2"])
    try:
        j = stat_json(k, name)
        ev = events_of(j)
        check(j["vms"][0]["name"] == name and j["vms"][0]["pid"] == vm.p.pid, "vms %r" % j["vms"])
        check(ev.get("kvmini.pio.i8042", {}).get("total") == PIO_COUNT,
              "kvmini.pio.i8042 is %r, expected exactly %d" % (ev.get("kvmini.pio.i8042"), PIO_COUNT))
        check(ev["kvmini.exits.io"]["total"] >= PIO_COUNT, "kvmini.exits.io %r" % ev["kvmini.exits.io"])
        if "exits" in ev:  # KVM's binary statistics (Linux 5.14+)
            check(ev["exits"]["total"] >= PIO_COUNT, "KVM exits %r" % ev["exits"])
        # the guest has finished its writes: the count holds still
        j2 = stat_json(k, name)
        check(events_of(j2)["kvmini.pio.i8042"]["total"] == PIO_COUNT, "the count moved")
        # -f: only matching names
        j = stat_json(k, "-f", "i8042", name)
        check([e["name"] for e in j["events"]] == ["kvmini.pio.i8042"], "-f i8042: %r" % j["events"])
        j = stat_json(k, "-f", r"^kvmini\.exits\.", name)
        check(j["events"] and all(e["name"].startswith("kvmini.exits.") for e in j["events"]),
              "-f ^kvmini.exits.: %r" % j["events"])
        # -c: per vCPU, summing to the total
        j = stat_json(k, "-c", "-f", "i8042", name)
        pv = j["events"][0].get("per_vcpu")
        check(pv and len(pv) == 2 and sum(pv) == PIO_COUNT, "-c per_vcpu %r" % pv)
        # -p PID and -g NAME find the same VM
        for sel in (["-p", str(vm.p.pid)], ["-g", name], [str(vm.p.pid)]):
            j = stat_json(k, "-f", "i8042", *sel)
            check(j["events"] and j["events"][0]["total"] == PIO_COUNT, "%s: %r" % (sel, j))
        # text: the table's header and the row
        rc, out, err = client(k, "stat", "-1", "-s", "0.2", "-f", "i8042", name)
        check(rc == 0 and out.split()[:4] == ["Event", "Total", "%Total", "CurAvg/s"] and
              "kvmini.pio.i8042" in out and str(PIO_COUNT) in out, "table %r" % out)
        # -l: a header of names, then a line per interval
        rc, out, err = client_timeout(k, 1.5, "stat", "-l", "-s", "0.2", "-f", "i8042", name)
        lines = out.splitlines()
        check(lines and lines[0] == "kvmini.pio.i8042" and len(lines) >= 3 and
              all(l == "0" for l in lines[1:]), "-l output %r" % out)
        # refusals, one line each
        rc, out, err = client(k, "stat", "-1", "no-such-vm-%d" % os.getpid())
        check(rc == 3 and len(err.strip().splitlines()) == 1, "unknown name: %d %r" % (rc, err))
        rc, out, err = client(k, "stat", "-1", "-f", "(", name)
        check(rc == 2 and "-f" in err, "bad regex: %d %r" % (rc, err))
        rc, out, err = client(k, "stat", "-1", "-s", "0", name)
        check(rc == 2 and "-s" in err, "bad interval: %d %r" % (rc, err))
        rc, out, err = client(k, "stop", "--force", name)
        check(rc == 0 and vm.wait_exit() == 0, "stop: %d" % rc)
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()


def client_timeout(kvmini, secs, *args):
    """A client that runs until stopped (kvmini stat -l): SIGINT after @secs."""
    p = subprocess.Popen([kvmini] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=secs)
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=LIMIT)
    return p.returncode, out.decode(), err.decode()


def case_report(k, img):
    d = tempfile.mkdtemp(prefix="kvmini-report-")
    path = os.path.join(d, "report.json")
    name = "t-report-%d" % os.getpid()
    vm = VM(k, PIOLOOP, name, args=["--report", path, "--stats", "--timeout", "2"],
            cmdline="pio.count=%d" % PIO_COUNT)
    try:
        check(vm.wait_exit() == 124, "status %s, expected 124 (--timeout)" % vm.p.returncode)
        with open(path) as f:
            r = json.load(f)
        check(r["status"] == 124 and r["stop_reason"] == "timeout" and r["name"] == name,
              "report head %r" % {k2: r[k2] for k2 in ("status", "stop_reason", "name")})
        t = r["timestamps"]
        order = [t["exec_ms"], t["vm_ready_ms"], t["first_output_ms"], t["stop_ms"]]
        check(None not in order and order == sorted(order), "timestamps out of order: %r" % t)
        check(r["counters"].get("kvmini.pio.i8042") == PIO_COUNT, "report counters %r" %
              {k2: v for k2, v in r["counters"].items() if k2.startswith("kvmini.pio")})
        check(r["memory"]["peak_rss_kib"] > 0 and r["memory"]["guest_touched_kib"] > 0,
              "memory %r" % r["memory"])
        err = vm.stderr()
        check("kvmini: stats: busiest devices (port I/O): i8042=%d" % PIO_COUNT in err,
              "--stats summary: %r" % err)
        # an unwritable report path: refused before the guest runs
        r2 = subprocess.run([k, "run", "--kernel", PIOLOOP, "--report", "/nonexistent/dir/r.json"],
                            capture_output=True, stdin=subprocess.DEVNULL, timeout=LIMIT)
        check(r2.returncode == 2 and b"--report" in r2.stderr and not r2.stdout,
              "bad --report: %d %r" % (r2.returncode, r2.stderr))
    except Failure:
        print(vm.tail())
        raise
    finally:
        vm.close()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


CASES = {
    "stat": case_stat,
    "report": case_report,
    "pause-resume": case_pause_resume,
    "list-info": case_list_info,
    "stop": case_stop,
    "stop-timeout": case_stop_timeout,
    "events": case_events,
    "bad-input": case_bad_input,
    "other-user": case_other_user,
    "identity": case_identity,
    "stale": case_stale,
}


def main():
    global PIOLOOP
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print(__doc__)
        return 2
    kvmini, image, PIOLOOP, case = sys.argv[1:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no usable /dev/kvm")
        return 77
    if os.geteuid() != 0 and case == "other-user":
        print("SKIP: needs root to connect as another user")
        return 77
    if os.geteuid() != 0:
        print("SKIP: the cases look for sockets in /run/kvmini (root)")
        return 77
    try:
        CASES[case](kvmini, image)
    except Failure as e:
        print("FAIL: %s: %s" % (case, e))
        return 1
    print("ok: %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
