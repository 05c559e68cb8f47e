#!/usr/bin/env python3
"""Hold an image the way a QEMU writer does, then run a command.

usage: qemu-lock.py IMAGE CMD [ARGS...]
IMAGE is created (1 MiB) if missing. QEMU locks single bytes with shared
OFD locks; a writer holds byte 101 ("write" permission). The command's
exit status is ours.
"""
import fcntl
import os
import struct
import subprocess
import sys

image, cmd = sys.argv[1], sys.argv[2:]
fd = os.open(image, os.O_RDWR | os.O_CREAT, 0o644)
if os.fstat(fd).st_size == 0:
    os.ftruncate(fd, 1 << 20)
# struct flock: l_type, l_whence, l_start, l_len, l_pid
lock = struct.pack('hhqqi4x', fcntl.F_RDLCK, os.SEEK_SET, 101, 1, 0)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lock)
sys.exit(subprocess.call(cmd))
