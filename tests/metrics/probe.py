#!/usr/bin/python3
"""tests/metrics/probe.py - the metrics test's SMTP client and HTTP probes.

  probe.py send PORT VMTA FROM COUNT CODE   COUNT messages in one SMTP
        session, each with X-Virtual-MTA: VMTA and From: FROM; exit 0 when
        every DATA got reply CODE (250, 451 ...)
  probe.py get PORT                      GET /metrics: the body on stdout,
        exit 0 on 200 with Content-Type text/plain; version=0.0.4
  probe.py status PORT REQUEST CODE      sends REQUEST (\\n: CRLF), exit 0
        when the status is CODE
  probe.py idle PORT SECONDS             connects and says nothing
"""
import smtplib
import socket
import sys
import time

TIMEOUT = 20


def send(port, vmta, sender, count, code):
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=TIMEOUT)
    s.ehlo("probe.test")
    bad = 0
    for i in range(int(count)):
        msg = ("From: <%s>\r\nTo: <bob@example.org>\r\nSubject: metrics %d\r\n"
               "Message-ID: <m%d.%f@probe.test>\r\nX-Virtual-MTA: %s\r\n\r\n"
               "body %d\r\n" % (sender, i, i, time.time(), vmta, i))
        s.mail(sender)
        s.rcpt("bob@example.org")
        got, text = s.data(msg.encode())
        if got != int(code):
            print("DATA answered %d %s, expected %s" % (got, text, code))
            bad += 1
        s.rset()
    s.quit()
    return 1 if bad else 0


def request(port, raw):
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    c.sendall(raw)
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def get(port):
    head, body = request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    lines = head.split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200") or \
            "Content-Type: text/plain; version=0.0.4; charset=utf-8" not in lines:
        print(head)
        return 1
    sys.stdout.write(body.decode())
    return 0


def status(port, req, code):
    head, _ = request(port, req.replace("\\n", "\r\n").encode())
    if head.split(" ")[1:2] != [code]:
        print(head)
        return 1
    return 0


def idle(port, seconds):
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    time.sleep(float(seconds))
    c.close()
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "send":
        return send(*argv[2:7])
    if cmd == "get":
        return get(argv[2])
    if cmd == "status":
        return status(argv[2], argv[3], argv[4])
    if cmd == "idle":
        return idle(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
