#!/usr/bin/env python3
"""load_client.py HOST PORT OUT FIRST COUNT PARALLEL [IDS_FILE]

Submits messages <load-I@harness.test> for I in FIRST..FIRST+COUNT-1 (or
the ids listed in IDS_FILE) over PARALLEL connections, and appends one line
per message to OUT as soon as its outcome is known:

  ACCEPTED I    the server answered 250 to the final dot
  REFUSED I     it certainly did not take it: the connection failed or
                was refused before the final dot left, or a 4xx/5xx
  UNKNOWN I     the final dot was sent but no answer came (the server may
                or may not have queued it: the SMTP duplicate window)

The DATA phase is written by hand (not smtplib's sendmail) to tell REFUSED
from UNKNOWN exactly."""
import smtplib
import socket
import sys
import threading


def message(i):
    return ("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
            "Subject: load %d\r\nMessage-ID: <load-%d@harness.test>\r\n\r\n"
            "Message %d of the kill -9 test.\r\n.starts with a dot\r\n"
            % (i, i, i)).replace("\r\n.", "\r\n..").encode()


class Outcome:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def put(self, word, i):
        with self.lock:
            self.f.write("%s %d\n" % (word, i))
            self.f.flush()


def send_one(conn, i):
    """Returns ACCEPTED, REFUSED or UNKNOWN; raises nothing."""
    try:
        if conn.mail("alice@example.com")[0] != 250:
            return "REFUSED"
        if conn.rcpt("bob@example.org")[0] != 250:
            return "REFUSED"
        if conn.docmd("DATA")[0] != 354:
            return "REFUSED"
        # sendall() fails only if the last bytes (the dot) never reached
        # the kernel, so the server cannot have seen the end.
        conn.sock.sendall(message(i) + b".\r\n")
    except (OSError, smtplib.SMTPException):
        return "REFUSED"
    try:
        code = conn.getreply()[0]
    except (OSError, smtplib.SMTPException):
        return "UNKNOWN"
    return "ACCEPTED" if code == 250 else "REFUSED"


def worker(host, port, ids, lock, out):
    conn = None
    while True:
        with lock:
            if not ids:
                break
            i = ids.pop()
        if conn is None:
            try:
                conn = smtplib.SMTP(host, port, timeout=20)
                conn.ehlo("load.test")
            except (OSError, smtplib.SMTPException):
                conn = None
                out.put("REFUSED", i)
                continue
        result = send_one(conn, i)
        out.put(result, i)
        if result != "ACCEPTED":
            try:
                conn.close()
            except OSError:
                pass
            conn = None
    if conn is not None:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            pass


def main():
    host, port, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first, count, parallel = map(int, sys.argv[4:7])
    if len(sys.argv) > 7:
        with open(sys.argv[7]) as f:
            ids = [int(x) for x in f.read().split()]
    else:
        ids = list(range(first, first + count))
    ids.reverse()
    lock = threading.Lock()
    out = Outcome(out_path)
    threads = [threading.Thread(target=worker,
                                args=(host, port, ids, lock, out))
               for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(20)
    sys.exit(main())
