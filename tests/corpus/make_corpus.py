#!/usr/bin/python3
"""Writes the interop corpus: awkward but legal messages for DKIM signers
and verifiers to agree on.

    /usr/bin/python3 tests/corpus/make_corpus.py OUTDIR

The content is deterministic (fixed dates, seeded random), so a failure can
be reproduced from the file name alone.  Every message has From, To,
Subject, Date and Message-ID.  Line ends are CRLF unless the file name says
otherwise.
"""

import base64
import os
import random
import sys

CRLF = b"\r\n"
LF = b"\n"
SEED = 6376  # RFC 6376

DOMAIN = b"example.com"


def std_headers(n, subject, extra=()):
    """The five mandatory fields plus extra ones, as a list of field lines
    (without line ends; continuation lines joined with LF, converted to
    the message's line end by build())."""
    return [
        b"From: Alice Example <alice@example.com>",
        b"To: Bob Example <bob@example.net>",
        b"Subject: " + subject,
        b"Date: Mon, 04 Mar 2024 10:%02d:00 +0000" % n,
        b"Message-ID: <corpus-%02d.20240304@example.com>" % n,
    ] + list(extra)


def build(headers, body, eol=CRLF, blank=True, final_eol=True):
    """headers: list of fields (LF inside a field marks a fold);
    body: list of lines (bytes) or None;
    blank: write the blank line that separates header and body;
    final_eol: end the last line with eol."""
    out = []
    for h in headers:
        out.append(h.replace(LF, eol) + eol)
    if blank:
        out.append(eol)
    if body:
        out.append(eol.join(body))
        if final_eol:
            out.append(eol)
    data = b"".join(out)
    if not final_eol and data.endswith(eol):
        data = data[: -len(eol)]
    return data


def words(rng, n):
    vocab = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"consectetur",
             b"adipiscing", b"elit", b"sed", b"do", b"eiusmod", b"tempor",
             b"incididunt", b"ut", b"labore", b"et", b"dolore", b"magna",
             b"aliqua", b"signature", b"selector", b"domain", b"canonical",
             b"header", b"body", b"hash", b"relaxed", b"simple"]
    return b" ".join(rng.choice(vocab) for _ in range(n))


def text_lines(rng, count, width=72):
    lines = []
    for _ in range(count):
        line = b""
        while len(line) < width - 12:
            line += (b" " if line else b"") + words(rng, 1)
        lines.append(line)
    return lines


def corpus():
    rng = random.Random(SEED)
    msgs = {}

    # 01: the control case.
    msgs["01-plain-small.eml"] = build(
        std_headers(1, b"A plain small message",
                    [b"MIME-Version: 1.0",
                     b"Content-Type: text/plain; charset=us-ascii"]),
        [b"Hello Bob,", b"", b"this is a small plain message.", b"",
         b"-- ", b"Alice"])

    # 02: folded and repeated header fields.
    h = [
        b"Received: from mx1.example.net (mx1.example.net [192.0.2.1])\n"
        b"\tby mx2.example.com (Postfix) with ESMTPS id 4TqAbc1234\n"
        b"\tfor <bob@example.net>; Mon, 04 Mar 2024 10:02:05 +0000",
        b"Received: from client.example.org (client.example.org [198.51.100.7])\n"
        b"        by mx1.example.net with ESMTP id 9XyZ;\n"
        b"        Mon, 04 Mar 2024 10:02:01 +0000",
    ] + std_headers(2, b"A subject that is folded\n over two lines\n\tand a third",
                    [b"To: Carol <carol@example.org>,\n Dave <dave@example.org>",
                     b"Cc: Eve <eve@example.org>",
                     b"MIME-Version: 1.0",
                     b"Content-Type: text/plain;\n\tcharset=us-ascii;\n\tformat=flowed"])
    msgs["02-folded-repeated-headers.eml"] = build(
        h, [b"Two Received fields, two To fields, folded Subject."])

    # 03: header names in odd case.
    msgs["03-mixed-case-names.eml"] = build(
        [b"fROM: Alice Example <alice@example.com>",
         b"tO: bob@example.net",
         b"SUBJECT: Mixed case header names",
         b"dAtE: Mon, 04 Mar 2024 10:03:00 +0000",
         b"MESSAGE-ID: <corpus-03.20240304@example.com>",
         b"mime-VERSION: 1.0",
         b"CONTENT-type: text/plain"],
        [b"Header names in every case."])

    # 04: whitespace: trailing blanks, whitespace-only lines, tabs, runs.
    msgs["04-whitespace.eml"] = build(
        std_headers(4, b"Whitespace   runs\tand\t\ttabs   ",
                    [b"X-Trailing: value with trailing blanks \t ",
                     b"X-Folded-Blank: first\n   \t second",
                     b"Content-Type:\ttext/plain;   charset=us-ascii"]),
        [b"line with trailing spaces   ",
         b"line with trailing tab\t",
         b"   ",
         b"\t",
         b"words  separated   by    runs\tof\t\twhitespace",
         b" \t leading whitespace",
         b"",
         b"  \t  ",
         b"last line"])

    # 05: empty body (header, blank line, nothing).
    msgs["05-empty-body.eml"] = build(std_headers(5, b"Empty body"), None)

    # 06: no body at all: the header ends the message, no blank line.
    msgs["06-no-body.eml"] = build(std_headers(6, b"No body, no blank line"),
                                   None, blank=False)

    # 07: bare LF line ends everywhere, with folding and trailing lines.
    msgs["07-bare-lf.eml"] = build(
        std_headers(7, b"Bare LF line ends\n folded",
                    [b"Received: from a.example.org by b.example.com;\n"
                     b"\tMon, 04 Mar 2024 10:07:00 +0000",
                     b"Content-Type: text/plain"]),
        [b"Every line of this message ends in a bare LF.", b"",
         b"trailing spaces  ", b"\tand a tab", b"", b""], eol=LF)

    # 08: the last body line has no line end.
    msgs["08-no-final-eol.eml"] = build(
        std_headers(8, b"No final line end"),
        [b"The last line of this body", b"has no CRLF at the end"],
        final_eol=False)

    # 09: raw UTF-8 (RFC 6532 style) in Subject and display names.
    msgs["09-utf8-headers.eml"] = build(
        [b"From: \xc3\x89lodie G\xc3\xa9rard <elodie@example.com>",
         b"To: \xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e <taro@example.net>",
         "Subject: Gr\u00fc\u00dfe, \u00e7a va? \u2014 \u65e5\u672c\u8a9e \U0001F600".encode(),
         b"Date: Mon, 04 Mar 2024 10:09:00 +0000",
         b"Message-ID: <corpus-09.20240304@example.com>",
         b"MIME-Version: 1.0",
         b"Content-Type: text/plain; charset=utf-8",
         b"Content-Transfer-Encoding: 8bit"],
        ["Bonjour, \u00e7a va tr\u00e8s bien.".encode(),
         "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c".encode(),
         "na\u00efve caf\u00e9 \u2014 \u00bd".encode()])

    # 10: 8-bit body in latin-1 (not UTF-8).
    latin = [bytes(range(0xa0, 0xc0)), bytes(range(0xc0, 0xe0)),
             bytes(range(0xe0, 0x100)),
             "Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a co\u00fbte 5\u00a3".encode("latin-1")]
    msgs["10-8bit-latin1-body.eml"] = build(
        std_headers(10, b"Latin-1 8-bit body",
                    [b"MIME-Version: 1.0",
                     b"Content-Type: text/plain; charset=iso-8859-1",
                     b"Content-Transfer-Encoding: 8bit"]),
        latin)

    # 11: very long lines.
    nospace = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789")
                    for _ in range(5000))
    spaced = b""
    while len(spaced) < 5000:
        spaced += words(rng, 1) + rng.choice([b" ", b"  ", b"\t", b" \t "])
    spaced = spaced[:5000].rstrip() + b"end"
    msgs["11-long-lines.eml"] = build(
        std_headers(11, b"Lines of 5000 bytes"),
        [b"next line has 5000 bytes without spaces:", nospace,
         b"next line has spaces and tabs:", spaced, b"done"])

    # 12: dot lines (as on disk, i.e. not dot-stuffed).
    msgs["12-dot-lines.eml"] = build(
        std_headers(12, b"Lines that are or start with a dot"),
        [b"a line", b".", b".leading dot", b"..two dots", b". dot space",
         b"", b".", b"end"])

    # 13: several blank lines at the end of the body.
    msgs["13-trailing-blank-lines.eml"] = build(
        std_headers(13, b"Trailing blank lines"),
        [b"body text", b"", b"", b"", b"   ", b"", b""])

    # 14: multipart/mixed with a ~1 MB base64 attachment.
    blob = rng.randbytes(768 * 1024)
    b64 = base64.b64encode(blob)
    att = [b64[i:i + 76] for i in range(0, len(b64), 76)]
    boundary = b"=_vdkim_corpus_boundary_14"
    body = ([b"This is a multi-part message in MIME format.", b"",
             b"--" + boundary,
             b"Content-Type: text/plain; charset=us-ascii", b"",
             b"Please find the data attached.", b"",
             b"--" + boundary,
             b"Content-Type: application/octet-stream; name=\"data.bin\"",
             b"Content-Transfer-Encoding: base64",
             b"Content-Disposition: attachment; filename=\"data.bin\"", b""]
            + att + [b"", b"--" + boundary + b"--", b""])
    msgs["14-multipart-1mb-attachment.eml"] = build(
        std_headers(14, b"Multipart with a 1 MB attachment",
                    [b"MIME-Version: 1.0",
                     b"Content-Type: multipart/mixed;\n\tboundary=\"" + boundary + b"\""]),
        body)

    # 15: a ~5 MB text message.
    lines = []
    size = 0
    while size < 5 * 1024 * 1024:
        line = words(rng, rng.randint(0, 14))
        if rng.random() < 0.05:
            line += b"  "  # some trailing whitespace
        lines.append(line)
        size += len(line) + 2
    msgs["15-large-5mb.eml"] = build(
        std_headers(15, b"About five megabytes of text",
                    [b"MIME-Version: 1.0", b"Content-Type: text/plain"]),
        lines)

    # 16: bare LF and no final line end together, with trailing spaces.
    msgs["16-bare-lf-no-final-eol.eml"] = build(
        std_headers(16, b"Bare LF, no final line end"),
        [b"first", b"second  ", b"", b"last without LF"], eol=LF,
        final_eol=False)

    # 17: header-only message whose last field is folded (no blank line).
    msgs["17-no-body-folded-last.eml"] = build(
        std_headers(17, b"No body",
                    [b"X-Last: a folded\n\tlast field"]), None, blank=False)

    # 18: body of only blank and whitespace lines.
    msgs["18-blank-only-body.eml"] = build(
        std_headers(18, b"Only blank lines"), [b"", b" ", b"\t", b""])

    # 19: long header fields folded many times (Cc, References).
    long_to = b",\n ".join(b"user%03d@example.org" % i for i in range(60))
    msgs["19-long-folded-header.eml"] = build(
        std_headers(19, b"A long folded To field",
                    [b"Cc: " + long_to,
                     b"References: " + b"\n\t".join(
                         b"<ref%02d.%d@example.net>" % (i, rng.randint(10**8, 10**9))
                         for i in range(30))]),
        [b"Short body."])

    return msgs


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make_corpus.py OUTDIR\n")
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, data in sorted(corpus().items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
