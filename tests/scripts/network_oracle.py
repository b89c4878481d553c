#!/usr/bin/env python3
"""A black-box oracle that is not nnid: serves a network file over the subprocess protocol.

    python3 network_oracle.py NET.json [--binary] [--float32]

Reads the JSON network format of docs/file-format.md and answers f(x) for each query on
stdin, in order, flushing after each answer (docs/oracles.md):
  text (default): a query is one line of d numbers; the answer is one line (repr: exact).
  --binary:       a query is d little-endian float64; the answer one little-endian float64.
  --float32:      compute like a float32 model: weights, inputs and every intermediate
                  result rounded to float32 (the answer is a float32 value, sent as float64).

The float64 evaluation follows nnid's own summation order and nnid's activation functions
(ported below), so its answers agree with nnid's in-process network bit for bit.
"""

import json
import math
import struct
import sys


def to_f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


# nnid's activations (crates/nn-model/src/fastmath.rs), operation for operation: plain IEEE
# double arithmetic, so the values are the same bits as nnid's.
LOG2E = 1.4426950408889634
LN2_HI = 6.93145751953125e-1
LN2_LO = 1.42860682030941723212e-6
ROUND = 6755399441055744.0
EXP_P = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
EXP_Q = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
         2.00000000000000000009e0)
TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


def exp(x):
    x = min(max(x, -708.0), 709.0)
    k = x * LOG2E + ROUND
    n = k - ROUND
    r = (x - n * LN2_HI) - n * LN2_LO
    rr = r * r
    p = r * ((EXP_P[0] * rr + EXP_P[1]) * rr + EXP_P[2])
    q = ((EXP_Q[0] * rr + EXP_Q[1]) * rr + EXP_Q[2]) * rr + EXP_Q[3]
    e = 1.0 + 2.0 * p / (q - p)
    bits = struct.unpack("<Q", struct.pack("<d", k))[0]
    scale = struct.unpack("<d", struct.pack("<Q", ((bits + 1023) << 52) & (2**64 - 1)))[0]
    return e * scale


def tanh(x):
    a = abs(x)
    z = x * x
    num = (TANH_P[0] * z + TANH_P[1]) * z + TANH_P[2]
    den = ((z + TANH_Q[0]) * z + TANH_Q[1]) * z + TANH_Q[2]
    magnitude = a + a * z * (num / den) if a < 0.625 else 1.0 - 2.0 / (exp(2.0 * a) + 1.0)
    return math.copysign(magnitude, x)


def logistic(t):
    return 1.0 / (1.0 + exp(-t))


ACTIVATIONS = {"tanh": tanh, "sigmoid": logistic}


def main():
    args = sys.argv[1:]
    binary = "--binary" in args
    single = "--float32" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit("usage: network_oracle.py NET.json [--binary] [--float32]")
    with open(paths[0]) as f:
        net = json.load(f)
    r = to_f32 if single else (lambda v: v)
    d = net["input_dim"]
    a = [[r(v) for v in row] for row in net["layer1"]["weights"]]
    theta = [r(v) for v in net["layer1"]["shifts"]]
    b = [[r(v) for v in row] for row in net["layer2"]["weights"]]
    tau = [r(v) for v in net["layer2"]["shifts"]]
    g = ACTIVATIONS[net["layer1"]["activation"]]
    h = ACTIVATIONS[net["layer2"]["activation"]]

    def f(x):
        x = [r(v) for v in x]
        phi = []
        for ai, ti in zip(a, theta):
            s = 0.0
            for w, v in zip(ai, x):
                s = r(s + r(w * v))
            phi.append(r(g(r(s + ti))))
        total = 0.0
        for bl, tl in zip(b, tau):
            s = 0.0
            for w, p in zip(bl, phi):
                s = r(s + r(w * p))
            total = r(total + r(h(r(s + tl))))
        return total

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        if binary:
            chunk = inp.read(8 * d)
            if len(chunk) < 8 * d:
                break
            out.write(struct.pack("<d", f(struct.unpack("<%dd" % d, chunk))))
        else:
            line = inp.readline()
            if not line:
                break
            out.write(("%r\n" % f([float(t) for t in line.split()])).encode())
        out.flush()


if __name__ == "__main__":
    main()
