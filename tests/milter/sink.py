#!/usr/bin/python3
"""An SMTP sink that keeps every message it accepts, byte for byte.

    sink.py --port P --dir DIR

Listens on 127.0.0.1:P (ESMTP with 8BITMIME and SIZE), and writes each
accepted message to DIR/NNNNNN.eml (header, empty line, body; CRLF line
ends, dots unstuffed), written under a temporary name and renamed, so a
file that exists is complete.  Runs until SIGTERM.
"""

import argparse
import asyncore
import itertools
import os
import signal
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import smtpd


class Sink(smtpd.SMTPServer):
    def __init__(self, port, outdir):
        super().__init__(("127.0.0.1", port), None,
                         data_size_limit=64 * 1024 * 1024,
                         decode_data=False)
        self.outdir = outdir
        self.seq = itertools.count(1)

    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        # smtpd joins the received lines with LF: SMTP's CRLF again.
        data = data.replace(b"\n", b"\r\n")
        name = "%06d.eml" % next(self.seq)
        tmp = os.path.join(self.outdir, "." + name)
        with open(tmp, "wb") as f:
            f.write(data if data.endswith(b"\r\n") else data + b"\r\n")
        os.rename(tmp, os.path.join(self.outdir, name))
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    Sink(a.port, a.dir)
    asyncore.loop()


if __name__ == "__main__":
    main()
