#!/usr/bin/env python3
"""free_ports.py N - prints N distinct free TCP ports on 127.0.0.1, chosen at
random below the kernel's ephemeral range (so that no outgoing connection
of the tests can take one as its source port before the listener that
owns it starts) and checked by binding them (SO_REUSEADDR, as the
harness's listeners do)."""
import random
import socket
import sys


def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def main():
    want = int(sys.argv[1])
    high = ephemeral_low() - 1
    low = max(10000, high - 20000)
    if high - low < 1000:
        # Hardly any room below the ephemeral ports: take high ones.
        low, high = 20000, 60999
    chosen = []
    for _ in range(10000):
        p = random.randint(low, high)
        if p not in chosen and free(p):
            chosen.append(p)
            if len(chosen) == want:
                print(" ".join(map(str, chosen)))
                return 0
    print("no free ports found", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
