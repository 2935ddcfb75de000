#!/usr/bin/env python3
"""smtp_probe.py HOST PORT SCENARIO - SMTP protocol checks at the socket
level, where the exact bytes and their grouping into packets matter.

Prints one line per check, "PASS name" or "FAIL name: detail"; the caller
counts them.  Scenarios:

  protocol  sequence errors (503), unknown command (500), EHLO keywords,
            too many recipients (452, needs max-recipients = 5), RSET,
            NOOP, over-long command and data lines (500), SIZE= and
            DATA over the limit (552, needs max-message-size < 6.5 MB),
            bad address (501), MAIL and RCPT syntax and parameters (501,
            555), pipelined commands in one packet, a
            dot-stuffed line, ".\\r\\nQUIT" in one packet, QUIT (221, then
            the server closes), a client that half-closes its side
  hostile   EHLO/HELO arguments that are not a domain or an address
            literal (control bytes, 8-bit bytes: 501 5.5.2) and liberal
            ones that are (underscore, final dot, [IPv4], [IPv6:]); 8-bit
            MAIL and RCPT addresses (553 5.6.7, no SMTPUTF8), control
            bytes in them or their parameters (501); then a message
            (Message-ID probe-hostile@harness.test; the last good HELO
            was localhost, the refused ones came after it)
  timeout   an idle session is closed with a 421 (needs a short
            session-timeout)
"""
import socket
import sys
import time

def check(name, ok, detail=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, detail)))
    sys.stdout.flush()


class Conn:
    def __init__(self, host, port, timeout=20):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """A whole reply: (code, [lines])."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), lines

    def cmd(self, text):
        """text: str, or bytes for what UTF-8 cannot say (a lone 8-bit
        byte)."""
        self.send(text + (b"\r\n" if isinstance(text, bytes) else "\r\n"))
        return self.reply()

    def closed(self):
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b""
        except OSError:
            return True


def expect(name, got, code):
    c, lines = got
    check(name, c == code, "expected %d, got %s" % (code, " / ".join(lines)))
    return c == code


def protocol(host, port):
    c = Conn(host, port)
    expect("greeting is 220", c.reply(), 220)
    expect("MAIL before EHLO is 503", c.cmd("MAIL FROM:<a@example.com>"), 503)
    expect("unknown command is 500", c.cmd("FROBNICATE now"), 500)
    code, lines = c.cmd("EHLO probe.test")
    text = " ".join(lines)
    check("EHLO is 250 with PIPELINING, SIZE, 8BITMIME",
          code == 250 and "PIPELINING" in text and "SIZE " in text
          and "8BITMIME" in text, text)
    expect("RCPT before MAIL is 503", c.cmd("RCPT TO:<x@example.org>"), 503)
    expect("DATA before MAIL is 503", c.cmd("DATA"), 503)
    expect("MAIL is 250", c.cmd("MAIL FROM:<a@example.com>"), 250)
    expect("nested MAIL is 503", c.cmd("MAIL FROM:<a@example.com>"), 503)
    expect("DATA before RCPT is 503", c.cmd("DATA"), 503)
    expect("RCPT without a domain is 501", c.cmd("RCPT TO:<nodomain>"), 501)
    ok = all(c.cmd("RCPT TO:<r%d@example.org>" % i)[0] == 250
             for i in range(5))
    check("5 recipients accepted", ok)
    expect("6th recipient is 452", c.cmd("RCPT TO:<r5@example.org>"), 452)
    expect("RSET is 250", c.cmd("RSET"), 250)
    expect("RCPT after RSET is 503", c.cmd("RCPT TO:<x@example.org>"), 503)
    expect("NOOP is 250", c.cmd("NOOP"), 250)
    expect("over-long command line is 500", c.cmd("NOOP " + "x" * 3000), 500)
    expect("in step after the long line", c.cmd("NOOP"), 250)
    expect("MAIL with SIZE over the limit is 552",
           c.cmd("MAIL FROM:<a@example.com> SIZE=999999999"), 552)
    expect("MAIL with BODY=8BITMIME is 250",
           c.cmd("MAIL FROM:<a@example.com> BODY=8BITMIME"), 250)
    expect("RSET is 250 again", c.cmd("RSET"), 250)
    expect("unknown MAIL parameter is 555",
           c.cmd("MAIL FROM:<a@example.com> FOO=1"), 555)
    # MAIL and RCPT syntax and parameters, in this order (the good MAIL
    # opens the transaction the RCPT lines need).
    for name, command, code in (
            ("MAIL without FROM: is 501", "MAIL <a@example.com>", 501),
            ("MAIL with SIZE not a number is 501",
             "MAIL FROM:<a@example.com> SIZE=ten", 501),
            ("MAIL with BODY=BINARYMIME is 501",
             "MAIL FROM:<a@example.com> BODY=BINARYMIME", 501),
            ("MAIL after refused ones is 250",
             "MAIL FROM:<a@example.com> SIZE=100 BODY=7BIT", 250),
            ("RCPT without TO: is 501", "RCPT <x@example.org>", 501),
            ("RCPT with a parameter is 555",
             "RCPT TO:<x@example.org> NOTIFY=NEVER", 555),
            ("RSET is 250 a third time", "RSET", 250)):
        expect(name, c.cmd(command), code)

    # DATA over the size limit: read to the end, then 552.
    c.cmd("MAIL FROM:<a@example.com>")
    c.cmd("RCPT TO:<big@example.org>")
    expect("DATA is 354", c.cmd("DATA"), 354)
    line = b"y" * 998 + b"\r\n"
    c.send(b"Subject: too big\r\n\r\n" + line * 6700 + b".\r\n")
    expect("message over max-message-size is 552", c.reply(), 552)
    expect("in step after the big message", c.cmd("NOOP"), 250)

    # A data line over max-line-length.
    c.cmd("MAIL FROM:<a@example.com>")
    c.cmd("RCPT TO:<long@example.org>")
    c.cmd("DATA")
    c.send(b"Subject: long line\r\n\r\n" + b"z" * 3000 + b"\r\n.\r\n")
    expect("data line over max-line-length is 500", c.reply(), 500)

    # Pipelining: the whole envelope in one packet, then the message, the
    # final dot and QUIT in another.
    c.send("MAIL FROM:<pipe@example.com>\r\nRCPT TO:<p1@example.org>\r\n"
           "RCPT TO:<p2@example.org>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    check("pipelined MAIL, RCPT, RCPT, DATA: 250 250 250 354",
          codes == [250, 250, 250, 354], str(codes))
    msg = ("From: pipe@example.com\r\nTo: p1@example.org\r\n"
           "Subject: pipelined\r\nMessage-ID: <probe-pipelined@harness.test>\r\n"
           "\r\nfirst line\r\n..dot-stuffed line\r\n...two dots\r\n"
           "last line\r\n.\r\nQUIT\r\n")
    c.send(msg)
    code, lines = c.reply()
    check("message then QUIT in one packet: 250", code == 250, lines)
    expect("then 221", c.reply(), 221)
    check("the server closes after QUIT", c.closed())

    # A client that half-closes after its last command still gets every
    # answer.
    c = Conn(host, port)
    c.send("EHLO halfclose.test\r\nNOOP\r\nQUIT\r\n")
    c.s.shutdown(socket.SHUT_WR)
    codes = [c.reply()[0] for _ in range(4)]
    check("half-closed client: 220 250 250 221",
          codes == [220, 250, 250, 221], str(codes))


def hostile(host, port):
    """What a hostile client sends in EHLO, MAIL and RCPT: control bytes,
    8-bit bytes.  Refused, and nothing of it reaches a header."""
    c = Conn(host, port)
    expect("greeting is 220", c.reply(), 220)
    # Each command and the start of its reply.  The good EHLOs first: a
    # refused one must not replace the last good one, which the
    # Received: field then names.
    for name, command, want in (
            ("EHLO with an underscore is 250", b"EHLO host_1.example", "250"),
            ("EHLO with a final dot is 250", b"EHLO host.example.", "250"),
            ("EHLO [IPv4] is 250", b"EHLO [192.0.2.1]", "250"),
            ("EHLO [IPv6:] is 250", b"EHLO [IPv6:2001:db8::1]", "250"),
            ("HELO with one label is 250", b"HELO localhost", "250"),
            ("EHLO with an ESC is 501 5.5.2", b"EHLO bad\x1bname.test",
             "501 5.5.2"),
            ("EHLO with a DEL is 501 5.5.2", b"EHLO bad\x7fname.test",
             "501 5.5.2"),
            ("EHLO with 8-bit bytes is 501 5.5.2", b"EHLO caf\xc3\xa9.test",
             "501 5.5.2"),
            ("EHLO with a tab is 501 5.5.2", b"EHLO tab\tname.test",
             "501 5.5.2"),
            ("EHLO with an empty label is 501 5.5.2", b"EHLO a..test",
             "501 5.5.2"),
            ("EHLO with a bad address literal is 501 5.5.2",
             b"EHLO [192.0.2.1\x01]", "501 5.5.2"),
            ("HELO with a bare CR and an ESC is 501 5.5.2",
             b"HELO evil\rX-Injected:yes\x1b[31m", "501 5.5.2"),
            ("MAIL with an 8-bit address is 553 5.6.7",
             b"MAIL FROM:<caf\xc3\xa9@example.com>", "553 5.6.7"),
            ("MAIL with a lone 8-bit byte is 553 5.6.7",
             b"MAIL FROM:<a\xff@example.com>", "553 5.6.7"),
            ("MAIL with an ESC in a parameter is 501",
             b"MAIL FROM:<a@example.com> X\x1b[31m=1", "501"),
            ("MAIL after the refused ones is 250",
             b"MAIL FROM:<a@example.com>", "250"),
            ("RCPT with an 8-bit address is 553 5.6.7",
             b"RCPT TO:<\xc3\xa9l\xc3\xa8ve@example.org>", "553 5.6.7"),
            ("RCPT with an ESC is 501", b"RCPT TO:<a\x1b@example.org>",
             "501"),
            ("RCPT after the refused ones is 250",
             b"RCPT TO:<hostile@example.org>", "250")):
        _, lines = c.cmd(command)
        check(name, lines[-1].startswith(want), " / ".join(lines))
    expect("DATA is 354", c.cmd("DATA"), 354)
    c.send("From: a@example.com\r\nTo: hostile@example.org\r\n"
           "Subject: hostile client\r\n"
           "Message-ID: <probe-hostile@harness.test>\r\n\r\nbody\r\n.\r\n")
    expect("the message after them is 250", c.reply(), 250)
    expect("QUIT is 221", c.cmd("QUIT"), 221)


def timeout(host, port):
    c = Conn(host, port, timeout=30)
    expect("greeting is 220", c.reply(), 220)
    c.cmd("EHLO idle.test")
    start = time.time()
    try:
        code, lines = c.reply()
    except (EOFError, OSError) as e:
        check("idle session gets a 421", False, str(e))
        return
    check("idle session gets a 421 after session-timeout",
          code == 421 and time.time() - start < 25, lines)
    check("and is closed", c.closed())


def main():
    host, port, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        {"protocol": protocol, "hostile": hostile,
         "timeout": timeout}[scenario](host, port)
    except (OSError, EOFError, ValueError) as e:
        check("scenario %s ran to the end" % scenario, False, repr(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
