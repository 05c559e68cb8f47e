#!/usr/bin/env python3
"""Snapshots on the host's /dev/kvm: `kvmini snapshot NAME DIR` and
`kvmini run --restore DIR`, with the counter firmware.

    snapshot.py KVMINI COUNTER MEMSUM KVMCLOCK SMP PIOLOOP CASE    (firmware images)

The counter prints "COUNT n" about every 50 ms from n = 0, and powers off
on the ACPI power button. A restored guest must go on counting from where
it was saved (never "COUNTER-READY" or "COUNT 0" again) and still power
off on the button; every refusal is one line naming the file, and starts
no guest. The memory case boots the memsum firmware instead, which fills
scattered pages with a known pattern and prints "SUM n checksum": the
restored guest must print the same checksum, the memory file must hold the
pattern at the pages' offsets and holes where the guest left pages zero.
The clock case boots the kvmclock firmware ("CLOCK n ms", the guest's
kvmclock): restored after a wait, its clock must have moved on by at least
that wait, so that the guest's time is right again. The smp-running case
boots the smp firmware with smp.spin: an AP counts in memory while the BSP
prints "APCOUNT n v"; after the restore both must go on. The pio-exact
case saves the pioloop firmware in the middle of its port reads, then of
its writes: the two runs together must count exactly as many as it makes,
none lost and none made twice (KVM completes an IN, and on hardware an OUT,
only at the next KVM_RUN).
Exits 0 on success, 1 on failure (with the tail of the guest's
output and kvmini's stderr), 77 without a usable /dev/kvm. Every wait has
a deadline (KVMINI_TEST_TIMEOUT, 120 s by default) that only stops a hung
run; nothing asserts on how long anything took.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

LIMIT = float(os.environ.get("KVMINI_TEST_TIMEOUT", "120"))
HEADER_LEN = 128


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class VM:
    """One `kvmini run`, its stdout and stderr in files under @tmp."""

    def __init__(self, kvmini, tmp, tag, args):
        self.out_path = os.path.join(tmp, tag + ".out")
        self.err_path = os.path.join(tmp, tag + ".err")
        self.sock = os.path.join(tmp, tag + ".sock")
        self.cmd = [kvmini, "run", "--api-socket", self.sock] + list(args)
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.out,
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

    def counts(self):
        v = []
        for line in self.output().splitlines():
            if line.startswith("COUNT "):
                try:
                    v.append(int(line[6:]))
                except ValueError:
                    pass
        return v

    def wait_for(self, pred, what):
        while time.monotonic() < self.deadline:
            if pred():
                return
            if self.p.poll() is not None and not pred():
                raise Failure("kvmini exited (%s) while waiting for %s" % (self.p.returncode,
                                                                          what))
            time.sleep(0.02)
        raise Failure("timed out waiting for %s" % what)

    def wait_counting(self, beyond):
        self.wait_for(lambda: self.counts() and self.counts()[-1] > beyond,
                      "COUNT beyond %d" % beyond)

    def wait_socket(self):
        self.wait_for(lambda: os.path.exists(self.sock), "the API socket")

    def wait_exit(self):
        try:
            return self.p.wait(timeout=max(1, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Failure("kvmini did not exit")

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


def client(kvmini, *args):
    r = subprocess.run([kvmini] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=LIMIT)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def run_guarded(vms, fn):
    """fn(); on failure the log tail of every VM in @vms is added."""
    try:
        fn()
    except Failure as e:
        raise Failure("%s\n%s" % (e, "\n".join(v.tail() for v in vms)))
    finally:
        for v in vms:
            v.close()


def take_snapshot(kvmini, image, tmp, snap, extra=(), stop=True):
    """Boot the counter, let it count, snapshot it. The last COUNT seen before."""
    vms = [VM(kvmini, tmp, "orig", ["--kernel", image] + list(extra))]
    seen = {}

    def body():
        vm = vms[0]
        vm.wait_counting(4)
        vm.wait_socket()
        seen["before"] = vm.counts()[-1]
        rc, out, err = client(kvmini, "snapshot", "--stop" if stop else "--resume", vm.sock,
                              snap)
        check(rc == 0, "kvmini snapshot: status %d, %s%s" % (rc, out, err))
        check("saved to" in out, "kvmini snapshot said %r" % out)
        if stop:
            rc = vm.wait_exit()
            check(rc == 0, "the snapshotted kvmini exited with %d, not 0" % rc)
        else:
            # it runs on: counting goes on past what was saved, then it powers off
            vm.wait_counting(vm.counts()[-1] + 3)
            rc, out, err = client(kvmini, "stop", vm.sock)
            check(rc == 0, "kvmini stop: status %d, %s%s" % (rc, out, err))
            check(vm.wait_exit() == 0, "kvmini did not exit 0 after the stop")
        check(os.path.getsize(os.path.join(snap, "memory")) > 0, "no memory file")
        st = os.stat(os.path.join(snap, "memory"))
        # sparse: the counter touches a few pages of its 256 MiB
        check(st.st_blocks * 512 < st.st_size // 4,
              "the memory file is not sparse: %d of %d bytes allocated" %
              (st.st_blocks * 512, st.st_size))
    run_guarded(vms, body)
    return seen["before"]


def restore_and_check(kvmini, tmp, snap, before, tag, extra=()):
    """Restore @snap; the guest counts on from >= @before and powers off on the button."""
    vms = [VM(kvmini, tmp, tag, ["--restore", snap] + list(extra))]
    first = {}

    def body():
        vm = vms[0]
        vm.wait_counting(before + 2)
        c = vm.counts()
        check(c[0] >= before, "restored guest started at COUNT %d, below %d seen before "
              "the snapshot" % (c[0], before))
        check(c == list(range(c[0], c[0] + len(c))), "counts are not consecutive: %r" % c[:20])
        check("COUNTER-READY" not in vm.output(), "the restored guest booted again")
        vm.wait_socket()
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0, "kvmini stop of the restored VM: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the restored kvmini did not exit 0")
        check("POWER-BUTTON" in vm.output(), "the restored guest did not see the button")
        first["count"] = c[0]
    run_guarded(vms, body)
    return first["count"]


def case_continue(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap)
    restore_and_check(kvmini, tmp, snap, before, "restored")


def case_twice(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap)
    a = restore_and_check(kvmini, tmp, snap, before, "first")
    b = restore_and_check(kvmini, tmp, snap, before, "second")
    # the first restore's writes stayed private: the second starts where the first did
    check(a == b, "the two restores started at COUNT %d and %d" % (a, b))


def case_resume(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap, stop=False)
    restore_and_check(kvmini, tmp, snap, before, "restored")


def case_smp(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap, extra=["--cpus", "2", "--memory", "64M"])
    restore_and_check(kvmini, tmp, snap, before, "restored")
    with open(os.path.join(snap, "state"), "rb") as f:
        hdr = f.read(HEADER_LEN)
    vcpus, ram = struct.unpack_from("<IQ", hdr, 36)
    check(vcpus == 2 and ram == 64 << 20, "the record says %d vCPUs, %d bytes" % (vcpus, ram))


def refuse(kvmini, tmp, snap, expect, tag, extra=()):
    """--restore @snap is refused in one line that contains every string of @expect."""
    out = os.path.join(tmp, tag + ".out")
    with open(out, "wb") as f:
        r = subprocess.run([kvmini, "run", "--restore", snap, "--api-socket", "none"] +
                           list(extra), stdin=subprocess.DEVNULL, stdout=f,
                           stderr=subprocess.PIPE, timeout=LIMIT)
    err = r.stderr.decode()
    with open(out, "rb") as f:
        guest = f.read().decode(errors="replace")
    lines = [l for l in err.splitlines() if l.strip()]
    check(r.returncode == 2, "%s: status %d, not 2; stderr:\n%s\nguest:\n%s" %
          (tag, r.returncode, err, guest[-500:]))
    check(len(lines) == 1, "%s: not one line:\n%s" % (tag, err))
    for e in expect:
        check(e in lines[0], "%s: %r not in %r" % (tag, e, lines[0]))
    check("COUNT" not in guest, "%s: a guest ran: %r" % (tag, guest[-200:]))


def copy_snap(snap, tmp, name):
    d = os.path.join(tmp, name)
    shutil.copytree(snap, d)
    return d


def rewrite_state(d, fn, fix_crc):
    p = os.path.join(d, "state")
    with open(p, "rb") as f:
        b = bytearray(f.read())
    fn(b)
    if fix_crc:
        struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])) & 0xffffffff)
    with open(p, "wb") as f:
        f.write(b)


def case_refusals(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap)
    state = lambda d: os.path.join(d, "state")
    memory = lambda d: os.path.join(d, "memory")

    d = copy_snap(snap, tmp, "short-memory")
    os.truncate(memory(d), 1 << 20)
    refuse(kvmini, tmp, d, [memory(d), "smaller than the recorded RAM"], "short-memory")

    d = copy_snap(snap, tmp, "flipped")
    rewrite_state(d, lambda b: b.__setitem__(HEADER_LEN + 40, b[HEADER_LEN + 40] ^ 0x10), False)
    refuse(kvmini, tmp, d, [state(d), "checksum"], "flipped")

    d = copy_snap(snap, tmp, "version")
    rewrite_state(d, lambda b: struct.pack_into("<I", b, 8, 2), True)
    refuse(kvmini, tmp, d, [state(d), "format version 2"], "version")

    d = copy_snap(snap, tmp, "kvmini-version")
    rewrite_state(d, lambda b: b.__setitem__(slice(16, 32), b"9.9.9".ljust(16, b"\0")), True)
    refuse(kvmini, tmp, d, [state(d), "kvmini 9.9.9"], "kvmini-version")

    d = copy_snap(snap, tmp, "magic")
    rewrite_state(d, lambda b: b.__setitem__(slice(0, 8), b"NOTASNAP"), False)
    refuse(kvmini, tmp, d, [state(d), "magic"], "magic")

    d = copy_snap(snap, tmp, "truncated")
    with open(state(d), "rb") as f:
        data = f.read()
    with open(state(d), "wb") as f:
        f.write(data[:len(data) // 2])
    refuse(kvmini, tmp, d, [state(d), "truncated"], "truncated")

    # a section claiming more bytes than the file has, with a valid checksum
    d = copy_snap(snap, tmp, "section-length")
    rewrite_state(d, lambda b: struct.pack_into("<Q", b, HEADER_LEN + 8, 1 << 40), True)
    refuse(kvmini, tmp, d, [state(d), "more than the file holds"], "section-length")

    # taken where KVM or the CPU offered more than here (bits no host has)
    d = copy_snap(snap, tmp, "kvm-caps")
    rewrite_state(d, lambda b: struct.pack_into("<I", b, 64, 0xffffffff), True)
    refuse(kvmini, tmp, d, [state(d), "KVM capabilities"], "kvm-caps")
    d = copy_snap(snap, tmp, "cpu-features")
    rewrite_state(d, lambda b: struct.pack_into("<I", b, 72, 0x7fffffff), True)
    refuse(kvmini, tmp, d, [state(d), "features this one lacks"], "cpu-features")

    d = copy_snap(snap, tmp, "no-state")
    os.unlink(state(d))
    refuse(kvmini, tmp, d, [state(d), "No such file"], "no-state")

    d = copy_snap(snap, tmp, "no-memory")
    os.unlink(memory(d))
    refuse(kvmini, tmp, d, [memory(d), "No such file"], "no-memory")

    # other devices than when it was taken: a disk more
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    refuse(kvmini, tmp, snap, ["disk0", "the same devices"], "more-devices",
           ["--disk", "path=" + disk])

    # the snapshot itself is still good
    restore_and_check(kvmini, tmp, snap, before, "after-refusals")


def case_unsaveable(kvmini, image, tmp):
    """A VM with a device without a save op refuses, names it, and runs on."""
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    snap = os.path.join(tmp, "snap")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", image, "--disk", "path=" + disk])]

    def body():
        vm = vms[0]
        vm.wait_counting(2)
        vm.wait_socket()
        # an earlier snapshot in DIR outlives a refused one
        os.mkdir(snap)
        for f in ("state", "memory"):
            with open(os.path.join(snap, f), "w") as o:
                o.write("earlier " + f)
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 1, "kvmini snapshot: status %d, not 1: %s%s" % (rc, out, err))
        check("device 'disk0' (disk) cannot be saved yet" in err, "message: %r" % err)
        check(sorted(os.listdir(snap)) == ["memory", "state"], "left in DIR: %r" %
              os.listdir(snap))
        for f in ("state", "memory"):
            with open(os.path.join(snap, f)) as o:
                check(o.read() == "earlier " + f, "the earlier %s was touched" % f)
        vm.wait_counting(vm.counts()[-1] + 2)
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the VM did not stop cleanly")
    run_guarded(vms, body)


def api_call(path, line):
    """One raw request line on a fresh connection (after the greeting); its reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(LIMIT)
    s.connect(path)
    f = s.makefile("rwb")
    json.loads(f.readline())
    f.write(line.encode() + b"\n")
    f.flush()
    r = json.loads(f.readline())
    s.close()
    return r


def case_api(kvmini, image, tmp):
    """Without its files the request is refused; a paused VM is saved and resumed."""
    snap = os.path.join(tmp, "snap")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", image])]

    def body():
        vm = vms[0]
        vm.wait_counting(2)
        vm.wait_socket()
        r = api_call(vm.sock, '{"execute":"snapshot","arguments":{"dir":"/x"},"id":1}')
        check(r.get("error", {}).get("code") == "bad-argument" and
              "SCM_RIGHTS" in r["error"].get("message", ""), "no fds: %r" % r)
        r = api_call(vm.sock, '{"execute":"snapshot","arguments":{"then":"stop"}}')
        check(r.get("error", {}).get("code") == "bad-argument", "no dir: %r" % r)
        rc, out, err = client(kvmini, "pause", vm.sock)
        check(rc == 0, "pause: %d %s" % (rc, err))
        rc, out, err = client(kvmini, "snapshot", vm.sock, snap)
        check(rc == 0, "snapshot of a paused VM: %d %s%s" % (rc, out, err))
        rc, out, err = client(kvmini, "info", "--json", vm.sock)
        check(rc == 0 and json.loads(out)["state"] == "running",
              "after snapshot --resume the VM is %r" % out)
        vm.wait_counting(vm.counts()[-1] + 2)
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the VM did not stop cleanly")
    run_guarded(vms, body)
    restore_and_check(kvmini, tmp, snap, 2, "restored")


MEMSUM = None  # the memsum firmware image (argv)
KVMCLOCK = None  # the kvmclock firmware image (argv)
SMP = None  # the smp firmware image (argv)
PIOLOOP = None  # the pioloop firmware image (argv)
PIO_WRITES = 200000
CLOCK_WAIT = 2.0  # seconds between the snapshot and the restore in the clock case
AREA, AREA_PAGES, FAR_PAGE, PAGE = 16 << 20, 16, 40 << 20, 4096


def memsum_pattern():
    """The bytes memsum.c writes: {offset: page}, in its order (xorshift64)."""
    x, pages = 0x9e3779b97f4a7c15, {}
    offsets = [AREA + i * PAGE for i in range(AREA_PAGES) if i % 4 != 3] + [FAR_PAGE]
    for off in offsets:
        words = []
        for _ in range(PAGE // 8):
            x ^= (x << 13) & (2 ** 64 - 1)
            x ^= x >> 7
            x ^= (x << 17) & (2 ** 64 - 1)
            words.append(x)
        pages[off] = struct.pack("<%dQ" % len(words), *words)
    return pages


def sums(vm):
    v = []
    for line in vm.output().splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "SUM":
            v.append((int(w[1]), w[2]))
    return v


def case_memory(kvmini, image, tmp):
    snap = os.path.join(tmp, "snap")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", MEMSUM])]
    seen = {}

    def save():
        vm = vms[0]
        vm.wait_for(lambda: len(sums(vm)) >= 3, "three SUM lines")
        vm.wait_socket()
        seen["last"] = sums(vm)[-1]
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 0, "kvmini snapshot: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the snapshotted kvmini did not exit 0")
    run_guarded(vms, save)
    n, total = seen["last"]
    with open(os.path.join(snap, "memory"), "rb") as f:
        fd = f.fileno()
        for off, page in memsum_pattern().items():
            f.seek(off)
            check(f.read(PAGE) == page, "the memory file at 0x%x is not the guest's page" % off)
        for i in range(3, AREA_PAGES, 4):
            off = AREA + i * PAGE
            f.seek(off)
            check(f.read(PAGE) == bytes(PAGE), "page 0x%x should be zero" % off)
            try:
                hole = os.lseek(fd, off, os.SEEK_HOLE)
            except OSError:
                hole = off  # no SEEK_HOLE on this file system: nothing to check
            check(hole == off, "the zero page at 0x%x was written (next hole 0x%x)" % (off, hole))
    vms = [VM(kvmini, tmp, "restored", ["--restore", snap])]

    def restored():
        vm = vms[0]
        vm.wait_for(lambda: len(sums(vm)) >= 2, "two SUM lines after the restore")
        v = sums(vm)
        check(v[0][0] >= n, "restored at SUM %d, below %d seen before" % (v[0][0], n))
        check(all(t == total for _, t in v), "checksums changed: %r (saved %s)" % (v, total))
        check("MEMSUM-READY" not in vm.output(), "the restored guest booted again")
        vm.wait_socket()
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the restored VM did not power off")
    run_guarded(vms, restored)


def case_jail(kvmini, image, tmp):
    """A jailed VM under a dropped uid saves into files it could never open itself."""
    if os.geteuid() != 0:
        raise Skip("--jail and --user need root")
    jail = os.path.join(tmp, "jail")
    os.mkdir(jail)
    snap = os.path.join(tmp, "snap")
    before = take_snapshot(kvmini, image, tmp, snap, extra=["--jail", jail, "--user", "nobody"])
    st = os.stat(os.path.join(snap, "state"))
    check(st.st_uid == 0 and st.st_mode & 0o777 == 0o600, "state is not root's, mode 0600")
    restore_and_check(kvmini, tmp, snap, before, "restored", ["--jail", jail, "--user", "nobody"])


class Skip(Exception):
    pass


def clocks(vm):
    v = []
    for line in vm.output().splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "CLOCK":
            v.append((int(w[1]), int(w[2])))
    return v


def case_clock(kvmini, image, tmp):
    """kvmclock moves on by the time between the snapshot and the restore."""
    snap = os.path.join(tmp, "snap")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", KVMCLOCK])]
    seen = {}

    def save():
        vm = vms[0]
        vm.wait_for(lambda: "KVMCLOCK-NONE" in vm.output() or len(clocks(vm)) >= 3,
                    "three CLOCK lines")
        if "KVMCLOCK-NONE" in vm.output():
            raise Skip("this KVM offers no kvmclock")
        vm.wait_socket()
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 0, "kvmini snapshot: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the snapshotted kvmini did not exit 0")
        seen["last"] = clocks(vm)[-1]
    run_guarded(vms, save)
    # the wait the guest's clock must account for, whatever the host does meanwhile
    time.sleep(CLOCK_WAIT)
    vms = [VM(kvmini, tmp, "restored", ["--restore", snap])]

    def restored():
        vm = vms[0]
        vm.wait_for(lambda: len(clocks(vm)) >= 2, "two CLOCK lines after the restore")
        (n0, ms0), (n1, ms1) = seen["last"], clocks(vm)[0]
        check(n1 > n0, "restored at CLOCK %d, not after %d" % (n1, n0))
        check(ms1 >= ms0 + CLOCK_WAIT * 1000,
              "the guest's clock read %d ms before the snapshot and %d ms after a %g s "
              "wait: it did not move on" % (ms0, ms1, CLOCK_WAIT))
        vm.wait_socket()
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the restored VM did not power off")
    run_guarded(vms, restored)


def apcounts(vm):
    v = []
    for line in vm.output().splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "APCOUNT":
            v.append((int(w[1]), int(w[2])))
    return v


def case_smp_running(kvmini, image, tmp):
    """Two vCPUs both running (BSP printing, AP counting) are saved and go on."""
    snap = os.path.join(tmp, "snap")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", SMP, "--cpus", "2", "--cmdline", "smp.spin"])]
    seen = {}

    def save():
        vm = vms[0]
        vm.wait_for(lambda: len(apcounts(vm)) >= 3 and apcounts(vm)[-1][1] > 0,
                    "three APCOUNT lines, the AP counting")
        vm.wait_socket()
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 0, "kvmini snapshot: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the snapshotted kvmini did not exit 0")
        seen["last"] = apcounts(vm)[-1]
    run_guarded(vms, save)
    vms = [VM(kvmini, tmp, "restored", ["--restore", snap])]

    def restored():
        vm = vms[0]
        vm.wait_for(lambda: len(apcounts(vm)) >= 1, "an APCOUNT line after the restore")
        (n0, v0), (n1, v1) = seen["last"], apcounts(vm)[0]
        check(n1 > n0 and v1 >= v0, "restored at APCOUNT %d %d, saved after %d %d" %
              (n1, v1, n0, v0))
        vm.wait_for(lambda: apcounts(vm)[-1][1] > v1, "the AP counting on after the restore")
        check("smp: MADT" not in vm.output(), "the restored guest booted again")
        vm.wait_socket()
        rc, out, err = client(kvmini, "stop", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the restored VM did not power off")
    run_guarded(vms, restored)


def case_chain(kvmini, image, tmp):
    """A restored VM is saved again into its own DIR, and that snapshot restores."""
    snap = os.path.join(tmp, "snap")
    first = take_snapshot(kvmini, image, tmp, snap)
    vms = [VM(kvmini, tmp, "second", ["--restore", snap])]
    seen = {}

    def again():
        vm = vms[0]
        vm.wait_counting(first + 3)
        vm.wait_socket()
        # its RAM is a private mapping of snap/memory, which this replaces
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 0, "kvmini snapshot of a restored VM: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the restored kvmini did not exit 0 after its snapshot")
        seen["before"] = vm.counts()[-1]
    run_guarded(vms, again)
    check(seen["before"] > first, "the second snapshot is not later than the first")
    restore_and_check(kvmini, tmp, snap, seen["before"], "third")


def pio_count(report):
    with open(report) as f:
        return json.load(f)["counters"].get("kvmini.pio.i8042", 0)


def case_pio_exact(kvmini, image, tmp):
    """Port accesses cut by a snapshot are neither lost nor made twice."""
    for op in ("in", "out"):
        pio_exact(kvmini, tmp, op)


def pio_exact(kvmini, tmp, op):
    tmp = os.path.join(tmp, op)
    os.mkdir(tmp)
    snap = os.path.join(tmp, "snap")
    r1, r2 = os.path.join(tmp, "orig.json"), os.path.join(tmp, "restored.json")
    vms = [VM(kvmini, tmp, "orig", ["--kernel", PIOLOOP, "--cmdline",
                                    "pio.count=%d pio.op=%s" % (PIO_WRITES, op), "--report", r1])]

    def save():
        vm = vms[0]
        vm.wait_for(lambda: "PIO-START" in vm.output(), "PIO-START")
        vm.wait_socket()
        rc, out, err = client(kvmini, "snapshot", "--stop", vm.sock, snap)
        check(rc == 0, "kvmini snapshot: status %d, %s%s" % (rc, out, err))
        check(vm.wait_exit() == 0, "the snapshotted kvmini did not exit 0")
        if "PIO-DONE" in vm.output():
            raise Skip("the guest made its %d writes before the snapshot" % PIO_WRITES)
    run_guarded(vms, save)
    vms = [VM(kvmini, tmp, "restored", ["--restore", snap, "--report", r2])]

    def restored():
        vm = vms[0]
        vm.wait_for(lambda: "PIO-DONE" in vm.output(), "PIO-DONE after the restore")
        check("PIO-START" not in vm.output(), "the restored guest started again")
        vm.wait_socket()
        rc, out, err = client(kvmini, "stop", "--force", vm.sock)
        check(rc == 0 and vm.wait_exit() == 0, "the restored VM did not stop")
        a, b = pio_count(r1), pio_count(r2)
        check(a > 0 and b > 0, "writes before and after: %d and %d" % (a, b))
        check(a + b == PIO_WRITES, "%d writes before the snapshot and %d after: %d, not %d" %
              (a, b, a + b, PIO_WRITES))
    run_guarded(vms, restored)


CASES = {
    "pio-exact": case_pio_exact,
    "chain": case_chain,
    "smp-running": case_smp_running,
    "clock": case_clock,
    "jail": case_jail,
    "memory": case_memory,
    "api": case_api,
    "continue": case_continue,
    "twice": case_twice,
    "resume": case_resume,
    "smp": case_smp,
    "refusals": case_refusals,
    "unsaveable": case_unsaveable,
}


def main():
    global MEMSUM, KVMCLOCK, SMP, PIOLOOP
    if len(sys.argv) != 8 or sys.argv[7] not in CASES:
        print(__doc__)
        return 2
    kvmini, image, MEMSUM, KVMCLOCK, SMP, PIOLOOP, case = sys.argv[1:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no usable /dev/kvm")
        return 77
    tmp = tempfile.mkdtemp(prefix="kvmini-snap-")
    try:
        CASES[case](kvmini, image, tmp)
    except Failure as e:
        print("FAIL: %s: %s" % (case, e))
        return 1
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
