#!/usr/bin/env python3
# Write the layout `tierlab bench-frame --two-hundred-nodes --qps Q` measures (src/app/bench.rs,
# `two_hundred_nodes`) as a RON file, to run it headless: two clients, a balancer, 195 app
# servers, a cache and a database, every app server wired to both, default parameters.
# usage: scripts/two-hundred-nodes.py OUT.ron [QPS, default 100000]
#        target/speed/tierlab run OUT.ron --seconds 20
import sys

out = sys.argv[1]
qps = float(sys.argv[2]) if len(sys.argv) > 2 else 100000.0
nodes, wires = [], []


def add(name, kind, x, y):
    nodes.append('(id: %d, name: "%s", pos: (x: %d, y: %d), kind: %s)' % (len(nodes), name, x, y, kind))
    return len(nodes) - 1


c1 = add("client-1", "client(qps: %r)" % (qps / 2), 0, 0)
c2 = add("client-2", "client(qps: %r)" % (qps / 2), 0, 200)
lb = add("lb", "load_balancer()", 200, 100)
apps = [add("app-%d" % i, "app_server()", 400 + (i // 20) * 160, (i % 20) * 80) for i in range(195)]
cache = add("cache", "cache()", 2100, 400)
db = add("db", "database()", 2100, 1000)
wire = lambda a, b, ms: wires.append("(from: %d, to: %d, latency_ms: %s)" % (a, b, ms))
wire(c1, lb, 1.0)
wire(c2, lb, 1.0)
for a in apps:
    wire(lb, a, 0.2)
    wire(a, cache, 0.3)
    wire(a, db, 0.5)
with open(out, "w") as f:
    f.write('(version: 1, name: "200 nodes", seed: 1, tick_ms: 1.0,\n nodes: [\n  %s],\n wires: [\n  %s])\n'
            % (",\n  ".join(nodes), ",\n  ".join(wires)))
