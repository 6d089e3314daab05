#!/usr/bin/env python3
"""Placement vectors from the reference implementations, for Gateway.Tests/Routing.

carbon_ch comes from Graphite's own carbon/hashing.py (Debian: apt install graphite-carbon).
fnv1a_ch and jump_fnv1a_ch come from carbon-c-relay's test mode, which prints where each metric
would be sent (Debian: apt install carbon-c-relay).

Run from this folder: python3 make_vectors.py   (writes carbon_ch.tsv, fnv1a_ch.tsv, jump_fnv1a_ch.tsv)
Each file: a "# ring N: dest,dest,..." line per ring (dest = host:port or host:port:instance), then one line
per metric: the name, then the index (into that ring's list) of the destination that owns it, per ring.
"""
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from carbon.hashing import ConsistentHashRing  # noqa: E402

RINGS = [
    ["10.0.0.1:2003"],
    ["10.0.0.1:2003", "10.0.0.2:2003"],
    ["10.0.0.1:2003", "10.0.0.2:2003", "10.0.0.3:2003"],
    ["10.0.0.1:2003", "10.0.0.2:2004", "10.0.0.3:2005", "10.0.0.4:2006"],
    ["192.168.1.10:2003", "192.168.1.11:2003", "192.168.1.12:2003", "192.168.1.13:2003", "192.168.1.14:2003"],
    ["10.1.0.%d:2003" % i for i in range(1, 9)],
    ["10.0.0.1:2003:a", "10.0.0.1:2004:b", "10.0.0.2:2003:c"],
    ["10.2.0.%d:%d:%s" % (i % 4 + 1, 2003 + i, inst) for i, inst in enumerate(["7", "12", "3", "x", "alpha", "1", "beta", "20"])],
]


def names(count=10000, seed=20261130):
    rnd = random.Random(seed)
    words = ["web", "db", "cache", "app", "cpu", "load", "mem", "disk", "rate", "errors", "p99", "latency",
             "requests", "eu-west-1", "us_east", "prod", "stage", "k8s", "node", "pod"]
    out = set()
    while len(out) < count:
        kind = rnd.random()
        parts = [rnd.choice(words) + (str(rnd.randint(0, 99)) if rnd.random() < 0.5 else "")
                 for _ in range(rnd.randint(1, 8))]
        name = ".".join(parts)
        if kind < 0.05:
            name += ";dc=" + rnd.choice(["eu", "us", "ap"]) + ";host=h" + str(rnd.randint(0, 999))
        elif kind < 0.08:
            name += "." + rnd.choice(["métrique", "データ", "ünïcode", "naïve"])
        elif kind < 0.10:
            name = "x" * rnd.randint(60, 200) + "." + name
        out.add(name)
    return sorted(out)


def parse(dest):
    parts = dest.split(":")
    return parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else None)


def carbon_ch(ring, metrics):
    keys = [(host, inst) for host, _, inst in map(parse, ring)]
    chr_ = ConsistentHashRing(keys)
    return [keys.index(chr_.get_node(m)) for m in metrics]


def relay(kind, ring, metrics):
    conf = "cluster c\n    %s\n" % kind
    for host, port, inst in map(parse, ring):
        conf += "        %s:%d%s\n" % (host, port, "" if inst is None else "=" + inst)
    conf += "    ;\nmatch * send to c stop;\n"
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(conf)
        f.flush()
        data = "".join("%s 1 1700000000\n" % m for m in metrics)
        out = subprocess.run(["carbon-c-relay", "-t", "-f", f.name], input=data.encode(),
                             capture_output=True, check=True).stdout.decode()
    where = {"%s:%d" % (h, p): i for i, (h, p, _) in enumerate(map(parse, ring))}
    placed, current = [], None
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("* -> "):
            current = s[5:]
        elif current is not None and s in where:
            placed.append(where[s])
            current = None
    assert len(placed) == len(metrics), (kind, len(placed), len(metrics))
    return placed


def write(path, columns, metrics):
    with open(path, "w", encoding="utf-8") as f:
        for i, ring in enumerate(RINGS):
            f.write("# ring %d: %s\n" % (i, ",".join(ring)))
        for row, m in enumerate(metrics):
            f.write(m + "\t" + "\t".join(str(col[row]) for col in columns) + "\n")


def main():
    metrics = names()
    write("carbon_ch.tsv", [carbon_ch(r, metrics) for r in RINGS], metrics)
    write("fnv1a_ch.tsv", [relay("fnv1a_ch", r, metrics) for r in RINGS], metrics)
    write("jump_fnv1a_ch.tsv", [relay("jump_fnv1a_ch", r, metrics) for r in RINGS], metrics)


if __name__ == "__main__":
    main()
