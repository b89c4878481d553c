#!/usr/bin/env python3
"""A black-box oracle that is not nnid: serves a network file over the subprocess protocol.

    python3 network_oracle.py NET.json [--binary] [--float32]

Reads the JSON network format of docs/file-format.md and answers f(x) for each query on
stdin, in order, flushing after each answer (docs/oracles.md):
  text (default): a query is one line of d numbers; the answer is one line (repr: exact).
  --binary:       a query is d little-endian float64; the answer one little-endian float64.
  --float32:      compute like a float32 model: weights, inputs and every intermediate
                  result rounded to float32 (the answer is a float32 value, sent as float64).

The float64 evaluation follows nnid's own summation order, so its answers agree with
nnid's in-process network bit for bit (same libm).
"""

import json
import math
import struct
import sys


def to_f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def logistic(t):
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


ACTIVATIONS = {"tanh": math.tanh, "sigmoid": logistic}


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
