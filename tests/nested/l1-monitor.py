#!/usr/bin/env python3
"""l1-monitor.py SOCKET COMMAND...: runs each human-monitor COMMAND on the QEMU whose
monitor listens on the unix SOCKET and prints "### COMMAND" and its output.
The nested bed (lib.sh) calls it when L1 has frozen, before killing L1, to record the
emulated CPU's state (halted? interrupts enabled? pending timer?) for later diagnosis."""
import socket
import sys

PROMPT = b"(qemu) "


def read_reply(sock):
    data = b""
    while not data.endswith(PROMPT):
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data[: -len(PROMPT)] if data.endswith(PROMPT) else data


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(5)
        sock.connect(sys.argv[1])
        read_reply(sock)  # the banner
        for cmd in sys.argv[2:]:
            sock.sendall(cmd.encode() + b"\n")
            reply = read_reply(sock).decode(errors="replace").replace("\r", "")
            # the first line is the monitor's echo of the command (with line-editing escapes)
            print("### " + cmd)
            print(reply.split("\n", 1)[-1].rstrip("\n"))
    except OSError as e:
        print("l1-monitor: %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
