#!/usr/bin/env python3
"""Reads QOM properties over a QEMU QMP socket (tests/e2e/lib.sh qom_get,
qom_watch).

  qmp_qom.py get SOCKET QUIT OBJECT PROPERTY...
      prints "PROPERTY VALUE" for each, then quits QEMU if QUIT is not
      empty.  Exits non-zero with QMP's message if QEMU refuses one or does
      not answer within 10 s.
  qmp_qom.py watch SOCKET OBJECT PROPERTY...
      for each line on stdin, prints one line: the values in order,
      space-separated, or "-" when QEMU cannot be reached (not up yet, or
      gone) or takes over 3 s.  Connects on the first request and again after a failure, so
      one process serves a whole boot: a poll costs a QMP round trip, not
      a Python start-up (about 0.1 s of CPU, which a 2-core benchmark
      machine feels twice a second).
"""
import json
import socket
import sys


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.file.readline()                        # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise OSError("QMP connection closed")
            reply = json.loads(line)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QMPError("QMP %s: %s" % (name, reply["error"]["desc"]))

    def close(self):
        self.sock.close()


def get(path, quit_qemu, obj, props):
    try:
        qmp = QMP(path, 10)
        for prop in props:
            print(prop, qmp.cmd("qom-get", path=obj, property=prop))
        if quit_qemu:
            qmp.cmd("quit")
    except (OSError, ValueError, QMPError) as e:
        sys.exit(str(e))


def watch(path, obj, props):
    qmp = None
    for _ in sys.stdin:
        try:
            if qmp is None:
                qmp = QMP(path, 3)     # well inside qom_watch_read's wait
            values = [str(qmp.cmd("qom-get", path=obj, property=p)) for p in props]
            print(" ".join(values), flush=True)
        except Exception:              # never die: the shell writes to us
            if qmp is not None:
                qmp.close()
                qmp = None
            print("-", flush=True)


def main():
    argv = sys.argv[1:]
    if len(argv) >= 4 and argv[0] == "get":
        get(argv[1], argv[2], argv[3], argv[4:])
    elif len(argv) >= 3 and argv[0] == "watch":
        watch(argv[1], argv[2], argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
