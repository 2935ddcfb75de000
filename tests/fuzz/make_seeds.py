#!/usr/bin/python3
"""Writes the fuzz harnesses' seed corpora, from the tree's test data:

    /usr/bin/python3 tests/fuzz/make_seeds.py VDKIMCTL [OUTDIR]

OUTDIR defaults to tests/fuzz; each harness gets NAME/seeds-*.  Messages
come from tests/corpus/make_corpus.py (the large ones cut to 16 KB) and
tests/data; signatures are made with vdkimctl and RFC 8463's test keys,
whose records the harnesses' static key map holds.  Run once to start a
corpus; the committed corpora (tests/fuzz/NAME/corpus) are these seeds
grown by fuzzing and minimized with -merge=1 (tests/fuzz/README.md).
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")
DOMAIN = "football.example.com"
KEYS = {"test": os.path.join(DATA, "rfc8463_rsa.pem"),
        "brisbane": os.path.join(DATA, "rfc8463_ed25519.seed")}
MAX_MSG = 16 * 1024


def write(outdir, name, seed, data):
    d = os.path.join(outdir, name, "corpus")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + seed), "wb") as f:
        f.write(data)


def messages():
    """(name, bytes) of the interop corpus and RFC 8463's message."""
    with tempfile.TemporaryDirectory() as t:
        subprocess.run([sys.executable,
                        os.path.join(ROOT, "tests", "corpus", "make_corpus.py"),
                        t], check=True, stdout=subprocess.DEVNULL)
        out = []
        for n in sorted(os.listdir(t)):
            with open(os.path.join(t, n), "rb") as f:
                out.append((n[:-4], f.read()[:MAX_MSG]))
    with open(os.path.join(DATA, "rfc8463_message.eml"), "rb") as f:
        out.append(("rfc8463", f.read()))
    return out


def sign(ctl, msg, sel, canon, extra=()):
    # Signatures the engine refuses to make (e.g. no From) are no seeds.
    p = subprocess.run([ctl, "sign", "--domain", DOMAIN, "--selector", sel,
                        "--key", KEYS[sel], "--canon", canon] + list(extra),
                       input=msg, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return p.stdout if p.returncode == 0 else None


def body_of(msg):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = msg.find(sep)
        if i >= 0:
            return msg[i + len(sep):]
    return b""


def dkim_values(signed):
    """The DKIM-Signature values at the top of a signed message."""
    vals = []
    lines = signed.replace(b"\r\n", b"\n").split(b"\n")
    cur = None
    for line in lines:
        if line.startswith((b" ", b"\t")) and cur is not None:
            cur += b"\r\n" + line
            continue
        if cur is not None:
            vals.append(cur)
            cur = None
        if line.lower().startswith(b"dkim-signature:"):
            cur = line[len(b"dkim-signature:"):]
        elif line == b"":
            break
    if cur is not None:
        vals.append(cur)
    return vals


def main():
    ctl = sys.argv[1]
    outdir = sys.argv[2] if len(sys.argv) > 2 else HERE
    msgs = messages()
    variants = [("test", "relaxed/relaxed", []),
                ("brisbane", "simple/simple", []),
                ("test", "simple/relaxed", ["--body-length"]),
                ("brisbane", "relaxed/simple",
                 ["--identity", "joe@sub." + DOMAIN, "--expire-after", "1d"])]
    for i, (name, msg) in enumerate(msgs):
        sel, canon, extra = variants[i % len(variants)]
        signed = sign(ctl, msg, sel, canon, extra)
        if signed is not None:
            write(outdir, "verify", name, bytes([i]) + signed)
            for j, v in enumerate(dkim_values(signed)):
                write(outdir, "tag_list", "%s-%d" % (name, j), v)
        write(outdir, "verify", name + "-unsigned", bytes([i]) + msg)
        write(outdir, "sign", name, bytes([i % 64, i]) + msg)
        write(outdir, "body_canon", name + "-simple",
              bytes([2 * i, 0]) + body_of(msg))
        write(outdir, "body_canon", name + "-relaxed-l",
              bytes([2 * i + 1, 0x80 | i]) + body_of(msg))

    with open(os.path.join(DATA, "rfc8463_records.txt"), "rb") as f:
        for i, line in enumerate(f):
            write(outdir, "key_record", "rfc8463-%d" % i,
                  line.rstrip(b"\r\n").split(b" ", 1)[1])
    for name, rec in [
            ("revoked", b"v=DKIM1; k=rsa; p="),
            ("testing-strict", b"v=DKIM1; t=y:s; h=sha256; s=email; "
             b"k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
            ("sha1-only", b"v=DKIM1; h=sha1; k=rsa; n=notes; p=MIIB"),
            ("service", b"s=other:*; k=ed25519; p=AAAA"),
            ("unknown-k", b"k=dsa; p=AAAA")]:
        write(outdir, "key_record", name, rec)

    for d in (os.path.join(DATA, "policy"), os.path.join(ROOT, "conf-examples")):
        for n in sorted(os.listdir(d)):
            if n.endswith(".conf"):
                with open(os.path.join(d, n), "rb") as f:
                    write(outdir, "conf", os.path.basename(d) + "-" + n,
                          f.read())

    write(outdir, "rot_state", "rotation",
          b"# written by vdkimctl rotation check\nvdkim-rotation-state 1\n"
          b"record example.com s2024 matching 1700000000 1700003600\n"
          b"record example.com s2025 missing 0 1700003600\nend 2\n")
    write(outdir, "rot_state", "dns-check",
          b"vdkim-dns-check-state 1\n"
          b"record a.example sel weak 1 2\nrecord b.example s testing 0 0\n"
          b"record c.example s revoked 5 6\nend 3\n")
    write(outdir, "rot_state", "truncated",
          b"vdkim-rotation-state 1\nrecord example.com s1 matching 1 2\n")

    for name, parts in [
            ("plain", (4, [b"Joe <joe@football.example.com>"])),
            ("sender", (0, [b"a@other.example", b"list@football.example.com"])),
            ("options", (4, [b"joe@football.example.com", b"",
                             b"d=football.example.com; s=brisbane; "
                             b"i=@sub.football.example.com; key-list=tenant42",
                             b"bounce@football.example.com"])),
            ("fixed", (1, [b"x@y.example"])),
            ("strict", (2 | 8, [b"\"Joe\" <joe@FOOTBALL.example.com>"])),
            ("idn", (4, [b"j@b\xc3\xbccher.example", b"",
                         b"i=a@b\xc3\xbccher.example"]))]:
        write(outdir, "decide", name,
              bytes([parts[0]]) + b"\0".join(parts[1]))

    session = (b"EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=100 "
               b"BODY=8BITMIME\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    for i, (name, msg) in enumerate(msgs[:8]):
        data = msg.replace(b"\r\n.", b"\r\n..")
        write(outdir, "smtp", name, bytes([i]) + session + data +
              (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\nQUIT\r\n")
    for name, s in [
            ("helo-ctl", b"HELO evil\rX-Injected:yes\x1b[31m\r\nQUIT\r\n"),
            ("pipelined", b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\n"
             b"RCPT TO:<z@y>\r\nDATA\r\nSubject: x\r\n\r\n.\r\nRSET\r\n"
             b"NOOP\r\nVRFY x\r\nHELP\r\nQUIT\r\n"),
            ("8bit-mail-from", b"EHLO c\r\nMAIL FROM:<\xc3\xa9@y>\r\n"
             b"MAIL FROM:<a\x01@y>\r\nQUIT\r\n"),
            ("literal", b"EHLO [127.0.0.1]\r\nEHLO [IPv6:::1]\r\n"
             b"HELO a..b\r\nSTARTTLS\r\nBDAT 10\r\n")]:
        write(outdir, "smtp", name, b"\0" + s)

    good = b"1xVPM6-0007uS-1R"
    body = b"From: a@b\nSubject: x\n\nbody\n"
    write(outdir, "exim_spool", "flat", b"\0" + good + b"-D\n" + body)
    write(outdir, "exim_spool", "split-queue", b"\3" + good + b"-D\n" + body)
    write(outdir, "exim_spool", "foreign", b"\0" + b"1xVPM6-0007uS-99-D\n")
    write(outdir, "exim_spool", "bad-id", b"\4../../etc\0" + body)
    write(outdir, "exim_spool", "id-497",
          b"\5" + b"1xVPM6-0007uS-1RAAAAAA" + b"\0" + b"1xVPM6-0007uS-1RAAAAAA-D\n")

    def script(*steps):
        return b"".join(steps)

    def hdr(n, v):
        return b"\3" + n + b"\0" + v + b"\0"
    for i, (name, msg) in enumerate(msgs[:6]):
        m = msg.replace(b"\r\n", b"\n")
        head, _, b = m.partition(b"\n\n")
        steps = [b"\x08\x00" if i % 2 else b"", b"\0out-a\0",
                 b"\1<joe@football.example.com>\0", b"\2<x@dest.example>\0"]
        for line in head.split(b"\n"):
            if b":" in line and not line.startswith((b" ", b"\t")):
                n, _, v = line.partition(b":")
                steps.append(hdr(n, v.lstrip(b" ")))
        steps += [b"\4", b"\5" + b.replace(b"\n", b"\r\n").replace(b"\0", b"")
                  + b"\0", b"\6"]
        write(outdir, "milter", name, script(*steps))
    write(outdir, "milter", "x-vmta-options", script(
        b"\0out-b\0", b"\1<>\0", b"\2<x@dest.example>\0",
        hdr(b"From", b"joe@football.example.com"),
        hdr(b"X-Virtual-MTA", b"fixed"),
        hdr(b"X-DKIM-Options", b"d=football.example.com; s=test"),
        b"\4\5hi\r\n\0\6\7\1<a@b>\0\6"))


if __name__ == "__main__":
    main()
