#!/usr/bin/python3
"""Sends messages over one SMTP session, with DATA or with BDAT (CHUNKING).

    smtp_send.py --port P [--host H] [--from A] [--to B]... [--bdat]
                 [--chunk BYTES] [--8bit] FILE...

Each FILE is a whole message (header, empty line, body; LF or CRLF line
ends).  All go through one connection, one transaction each (to every
--to recipient; default rcpt@dest.example), and for each the final reply
is printed:

    FILE CODE TEXT

--bdat sends each message in BDAT chunks of --chunk bytes (default 1 MiB;
the server must offer CHUNKING, else exit 2); --8bit adds BODY=8BITMIME.
A transaction refused by the server is reset (RSET) and the session goes
on.  Exit 0 when every message got a 2xx reply, 1 when one did not, 2 on
a usage or connection problem.
"""

import argparse
import smtplib
import sys


def crlf(data):
    """The message with CRLF line ends (SMTP's), as a client would send."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def send_bdat(smtp, data, chunk):
    """Sends data in BDAT chunks; the reply to the last one."""
    pos = 0
    while True:
        piece = data[pos:pos + chunk]
        pos += len(piece)
        last = pos >= len(data)
        smtp.putcmd("BDAT", "%d%s" % (len(piece), " LAST" if last else ""))
        smtp.send(piece)
        code, text = smtp.getreply()
        if last or code != 250:
            return code, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sender", default="sender@sign.example")
    ap.add_argument("--to", action="append")
    ap.add_argument("--bdat", action="store_true")
    ap.add_argument("--chunk", type=int, default=1 << 20)
    ap.add_argument("--8bit", dest="eightbit", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    try:
        smtp = smtplib.SMTP(a.host, a.port, timeout=120)
        smtp.ehlo("client.test.invalid")
    except (OSError, smtplib.SMTPException) as e:
        print("smtp_send: cannot talk to %s:%d: %s" % (a.host, a.port, e),
              file=sys.stderr)
        return 2
    if a.bdat and not smtp.has_extn("chunking"):
        print("smtp_send: the server does not offer CHUNKING",
              file=sys.stderr)
        return 2
    opts = ["BODY=8BITMIME"] if a.eightbit else []
    rcpts = a.to or ["rcpt@dest.example"]
    rc = 0
    for name in a.files:
        with open(name, "rb") as f:
            data = crlf(f.read())
        code, text = smtp.mail(a.sender, opts)
        for rcpt in rcpts:
            if code not in (250, 251):
                break
            code, text = smtp.rcpt(rcpt)
        if code in (250, 251):
            if a.bdat:
                code, text = send_bdat(smtp, data, a.chunk)
            else:
                try:
                    code, text = smtp.data(data)
                except smtplib.SMTPDataError as e:
                    code, text = e.smtp_code, e.smtp_error
        print("%s %d %s" % (name, code, text.decode(errors="replace")))
        sys.stdout.flush()
        if code // 100 != 2:
            rc = 1
            smtp.rset()
    smtp.quit()
    return rc


if __name__ == "__main__":
    sys.exit(main())
