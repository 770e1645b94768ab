#!/bin/sh
# IpvsClient against the guest's IPVS: runs the driver half of test/vm/ipvs-netlink.test.ts
# (compiled to dist/) inside a fresh network namespace, so IPVS starts empty and ipvsadm
# there sees only what the driver made. Needs `npx tsc -p .` on the host first.
set -u
driver="$(pwd)/dist/test/vm/ipvs-netlink.test.js"
[ -f "$driver" ] || { echo "not ok - driver missing: $driver (run npx tsc -p . in the checkout)"; exit 1; }
command -v ipvsadm >/dev/null || { echo "not ok - ipvsadm missing on the host (apt-get install ipvsadm)"; exit 1; }
ns="ipvsnl$$"
ip netns add "$ns" || exit 1
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link add dummy0 type dummy && ip -n "$ns" link set dummy0 up || exit 1
ip netns exec "$ns" node "$driver"
