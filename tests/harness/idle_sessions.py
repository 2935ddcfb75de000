#!/usr/bin/env python3
"""idle_sessions.py HOST PORT N - opens N SMTP sessions that say nothing
after the greeting, then, while they stay open, sends one message on
another connection; it must be accepted within a generous bound.  Then
checks the idle sessions are all still open (nobody was dropped to serve
the other client).  Prints PASS/FAIL lines like smtp_probe.py."""
import smtplib
import socket
import sys
import time


def check(name, ok, detail=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, detail)))
    sys.stdout.flush()


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    idle = []
    try:
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=20)
            idle.append(s)
        greeted = 0
        for s in idle:
            if s.recv(512).startswith(b"220"):
                greeted += 1
        check("%d idle sessions greeted" % n, greeted == n,
              "%d greeted" % greeted)

        start = time.time()
        smtp = smtplib.SMTP(host, port, timeout=30)
        smtp.ehlo("busy.test")
        refused = smtp.sendmail(
            "alice@example.com", ["bob@example.org"],
            b"From: alice@example.com\r\nTo: bob@example.org\r\n"
            b"Subject: beside idle sessions\r\n"
            b"Message-ID: <idle-neighbour@harness.test>\r\n\r\nhello\r\n")
        smtp.quit()
        took = time.time() - start
        check("a message beside %d idle sessions is accepted" % n,
              refused == {} and took < 30, "took %.1f s" % took)

        alive = 0
        for s in idle:
            s.setblocking(False)
            try:
                alive += s.recv(1) != b""   # data would be unexpected
            except BlockingIOError:
                alive += 1                  # nothing to read: still open
        check("the %d idle sessions are still open" % n, alive == n,
              "%d open" % alive)
    except (OSError, smtplib.SMTPException) as e:
        check("idle sessions scenario ran to the end", False, repr(e))
        return 1
    finally:
        for s in idle:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
