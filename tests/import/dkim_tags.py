#!/usr/bin/python3
"""The first DKIM-Signature of each message, for comparing two signers.

    dkim_tags.py FILE...

One line per FILE: "d=D s=S h=a:b:c" (h= as the set of signed field
names, lower case, sorted: over-signing a field twice does not change the
set), or "unsigned".
"""

import re
import sys


def header_fields(data):
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    fields, cur = [], None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur += b" " + line.strip()
        else:
            if cur is not None:
                fields.append(cur)
            cur = line
    if cur is not None:
        fields.append(cur)
    return fields


def main():
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            data = f.read()
        sig = None
        for field in header_fields(data):
            name, _, value = field.partition(b":")
            if name.strip().lower() == b"dkim-signature":
                sig = value.decode("ascii", "replace")
                break
        if sig is None:
            print("unsigned")
            continue
        tags = {}
        for part in sig.split(";"):
            k, eq, v = part.partition("=")
            if eq:
                tags[k.strip()] = re.sub(r"\s+", "", v)
        h = sorted(set(x.lower() for x in tags.get("h", "").split(":") if x))
        print("d=%s s=%s h=%s" % (tags.get("d", "").lower(), tags.get("s", ""),
                                  ":".join(h)))


if __name__ == "__main__":
    main()
