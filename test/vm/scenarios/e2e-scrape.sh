#!/bin/sh
# Issue 14 on the real kernel: status and metrics read the IPVS table of 1,000 services ×
# 10 real servers with one batched read. Runs the driver half of test/vm/ipvs-scrape.test.ts
# (compiled to dist/) in a fresh network namespace (IPVS starts empty there), which prints one
# `ok - NAME` / `not ok - NAME: why` line per check and `# KEY value` figures.
# Needs `npx tsc -p .` on the host first.
set -u
driver="$(pwd)/dist/test/vm/ipvs-scrape.test.js"
[ -f "$driver" ] || { echo "not ok - driver missing: $driver (run npx tsc -p . in the checkout)"; exit 1; }
ns="ipvsscr$$"
ip netns add "$ns" || exit 1
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip netns exec "$ns" node "$driver"
