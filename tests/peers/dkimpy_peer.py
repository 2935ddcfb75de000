#!/usr/bin/python3
"""dkimpy (python3-dkim) as a reference signer and verifier.

    dkimpy_peer.py verify FILE...
        One line per signature:
            FILE dkim=RESULT d=D s=S a=ALG [(detail)]
        RESULT is pass, fail, temperror or permerror ("none" when the
        message has no signature).  Keys come from DNS (dnspython, which
        reads /etc/resolv.conf).  Exit 0 only if every file has at least
        one passing signature.

    dkimpy_peer.py sign --key FILE --selector S --domain D
                        [--alg rsa-sha256|ed25519-sha256] [--canon H/B]
                        [--headers a:b:c] < msg > signed
    dkimpy_peer.py sign ...same options... --outdir DIR FILE...
        Prints the message with a DKIM-Signature field prepended, folded
        with the message's own line end (or, with --outdir, writes each
        signed FILE to DIR/basename: one process for many messages).  Ed25519 keys may be PKCS#8 PEM
        (what vdkimctl keygen writes) or base64 of the 32-byte seed.

Run it with /usr/bin/python3 (Debian's interpreter with python3-dkim).
"""

import argparse
import base64
import logging
import os
import re
import sys

import dkim
import dkim.util

# PKCS#8 wrapping of an Ed25519 private key (RFC 8410): fixed prefix, then
# the 32-byte seed.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


class Collect(logging.Handler):
    """Keeps what dkimpy logs at warning level and above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.msgs = []

    def emit(self, record):
        self.msgs.append(record.getMessage())


# What dkimpy logs while verifying, kept for the result line.
LOG = logging.getLogger("dkimpy_peer")
LOG.propagate = False
COLLECT = Collect()
LOG.addHandler(COLLECT)


def one_line(s):
    return re.sub(r"\s+", " ", str(s)).strip()


def classify(detail):
    """dkimpy reports most problems as text: map them to a result."""
    d = detail.lower()
    if "dnstimeout" in d or "timeout" in d:
        return "temperror"
    if "body hash mismatch" in d or d == "signature did not verify":
        return "fail"
    return "permerror"


def verify_file(path):
    try:
        with open(path, "rb") as f:
            msg = f.read()
    except OSError as e:
        print("%s dkim=error (cannot read: %s)" % (path, one_line(e)))
        return False
    col = COLLECT
    col.msgs.clear()
    log = LOG
    try:
        d = dkim.DKIM(msg, logger=log)
    except dkim.DKIMException as e:
        print("%s dkim=permerror (message: %s)" % (path, one_line(e)))
        return False
    sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    if not sigs:
        print("%s dkim=none (no signature)" % path)
        return False
    passed = 0
    for idx, raw in enumerate(sigs):
        tags = {}
        try:
            tags = dkim.util.parse_tag_value(raw)
        except Exception:  # reported by verify() below
            pass
        dom = tags.get(b"d", b"?").decode("ascii", "replace")
        sel = tags.get(b"s", b"?").decode("ascii", "replace")
        alg = tags.get(b"a", b"?").decode("ascii", "replace")
        col.msgs.clear()
        try:
            ok = d.verify(idx=idx)
            detail = "; ".join(one_line(m) for m in col.msgs) or (
                "" if ok else "signature did not verify")
        except dkim.DKIMException as e:
            ok = False
            detail = "%s: %s" % (type(e).__name__, one_line(e))
        except Exception as e:  # a crash inside dkimpy is a failure too
            ok = False
            detail = "exception %s: %s" % (type(e).__name__, one_line(e))
        if ok:
            passed += 1
            res = "pass"
        else:
            res = classify(detail)
        print("%s dkim=%s d=%s s=%s a=%s%s" % (
            path, res, dom, sel, alg, " (%s)" % detail if detail else ""))
    sys.stdout.flush()
    return passed > 0


def load_key(path, alg):
    with open(path, "rb") as f:
        data = f.read()
    if alg == b"rsa-sha256":
        return data
    # ed25519: dkimpy wants base64 of the 32-byte seed.
    if b"-----BEGIN" in data:
        body = re.sub(rb"-----[^-]+-----|\s", b"", data)
        der = base64.b64decode(body)
        if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
            raise ValueError("%s: not a PKCS#8 Ed25519 key" % path)
        return base64.b64encode(der[len(ED25519_PKCS8_PREFIX):])
    raw = base64.b64decode(re.sub(rb"\s", b"", data))
    if len(raw) == 64:  # seed + public key
        raw = raw[:32]
    if len(raw) != 32:
        raise ValueError("%s: not an Ed25519 seed" % path)
    return base64.b64encode(raw)


def sign(argv):
    ap = argparse.ArgumentParser(prog="dkimpy_peer.py sign")
    ap.add_argument("--key", required=True)
    ap.add_argument("--selector", required=True)
    ap.add_argument("--domain", required=True)
    ap.add_argument("--alg", default="rsa-sha256",
                    choices=["rsa-sha256", "ed25519-sha256"])
    ap.add_argument("--canon", default="relaxed/relaxed")
    ap.add_argument("--headers", default=None,
                    help="colon-separated h= list (default: dkimpy's)")
    ap.add_argument("--outdir", default=None,
                    help="sign each FILE into OUTDIR/FILENAME")
    ap.add_argument("files", nargs="*", metavar="FILE")
    a = ap.parse_args(argv)
    if bool(a.files) != bool(a.outdir):
        ap.error("FILE... and --outdir go together")
    alg = a.alg.encode()
    hc, _, bc = a.canon.partition("/")
    canon = (hc.encode(), (bc or hc).encode())
    key = load_key(a.key, alg)
    include = None
    if a.headers:
        include = [h.strip().encode() for h in a.headers.split(":")]

    def sign_one(msg):
        first = msg.find(b"\n")
        eol = b"\r\n" if first <= 0 or msg[first - 1:first] == b"\r" else b"\n"
        d = dkim.DKIM(msg, linesep=eol)
        return d.sign(a.selector.encode(), a.domain.encode(), key,
                      signature_algorithm=alg, canonicalize=canon,
                      include_headers=include) + msg

    if not a.files:
        out = sys.stdout.buffer
        out.write(sign_one(sys.stdin.buffer.read()))
        out.flush()
        return 0
    rc = 0
    for path in a.files:
        try:
            with open(path, "rb") as f:
                signed = sign_one(f.read())
            with open(os.path.join(a.outdir, os.path.basename(path)), "wb") as f:
                f.write(signed)
        except (dkim.DKIMException, OSError) as e:
            sys.stderr.write("dkimpy_peer: %s: %s\n" % (path, one_line(e)))
            rc = 1
    return rc


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    if sys.argv[1] == "verify":
        if len(sys.argv) < 3:
            sys.stderr.write(__doc__)
            return 2
        ok = True
        for path in sys.argv[2:]:
            if not verify_file(path):
                ok = False
        return 0 if ok else 1
    if sys.argv[1] == "sign":
        try:
            return sign(sys.argv[2:])
        except (dkim.DKIMException, ValueError, OSError) as e:
            sys.stderr.write("dkimpy_peer: %s\n" % one_line(e))
            return 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
