#!/usr/bin/env python3
"""Watch a disk image's lock while a kvmini process runs.

usage: lockwatch.py IMAGE PID

Until PID has exited (or is a zombie), asks again and again whether
another open file holds a lock on byte 100 of IMAGE, the byte a kvmini
writer (like a QEMU writer) holds. F_OFD_GETLK takes no lock itself.
Prints one line: "lockwatch: N samples, held H, gaps G", G the times the
lock was free for a while and then held again (the free stretch at the end,
when kvmini closes the image before it exits, is no gap).
Exits 0 once PID is gone, 2 on a usage error.
"""
import fcntl
import os
import struct
import sys
import time

LOCK_BYTE = 100


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped while we looked
        return False


def held(fd):
    # struct flock: l_type, l_whence, l_start, l_len, l_pid
    probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, LOCK_BYTE, 1, 0)
    l_type = struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe))[0]
    return l_type != fcntl.F_UNLCK


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    fd = os.open(sys.argv[1], os.O_RDONLY)
    pid = int(sys.argv[2])
    samples = nheld = gaps = 0
    seen = free = False
    while running(pid):
        samples += 1
        if held(fd):
            if free:
                gaps += 1
            seen, free = True, False
            nheld += 1
        elif seen:
            free = True
        time.sleep(0.0002)
    print("lockwatch: %d samples, held %d, gaps %d" % (samples, nheld, gaps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
