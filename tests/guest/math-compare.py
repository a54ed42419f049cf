#!/usr/bin/env python3
"""Compares the host's and the guest's mathcheck output.

usage: math-compare.py HOST_OUTPUT GUEST_OUTPUT

Every line must be equal, byte for byte, except lines starting "x87t "
(results of glibc long double functions that end in an x87 transcendental
instruction; see mathcheck.c): there the 80-bit result may differ by one
unit in the last place and the precision flag (x87 PE, 0x2000 in the
printed flags) may differ, because processors differ there themselves;
nothing else may. Prints the differences and exits 1 on any other.
"""
import re
import sys

RESULT = re.compile(r"^(x87t .*) = \S+ \[([0-9a-f]{4}):([0-9a-f]{16})\] "
                    r"fl ([0-9a-f]{4})$")
PRECISION_FLAG = 0x2000


def tolerated(host, guest):
    h, g = RESULT.match(host), RESULT.match(guest)
    if not h or not g or h.group(1) != g.group(1):
        return False
    # Sign, exponent and significand as one integer: neighbours differ by
    # one, also across a power of two.
    host_value = int(h.group(2), 16) << 64 | int(h.group(3), 16)
    guest_value = int(g.group(2), 16) << 64 | int(g.group(3), 16)
    flags = int(h.group(4), 16) ^ int(g.group(4), 16)
    return abs(host_value - guest_value) <= 1 and flags & ~PRECISION_FLAG == 0


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        host = f.read().split("\n")
    with open(sys.argv[2]) as f:
        guest = f.read().split("\n")
    if len(host) != len(guest):
        print(f"FAIL: {len(guest)} guest lines against {len(host)} host lines")
    failures = allowed = 0
    for number, (h, g) in enumerate(zip(host, guest), 1):
        if h == g:
            continue
        if tolerated(h, g):
            allowed += 1
            print(f"allowed x87 difference, line {number}:\n  host:  {h}\n  guest: {g}")
            continue
        failures += 1
        if failures <= 20:
            print(f"FAIL: line {number} differs:\n  host:  {h}\n  guest: {g}")
    equal = sum(1 for h, g in zip(host, guest) if h == g)
    print(f"{equal} lines equal byte for byte, {allowed} x87 transcendental "
          f"lines within one ulp and the precision flag, {failures} differ")
    sys.exit(1 if failures or len(host) != len(guest) else 0)


main()
