#!/bin/sh
# npm run demo -- --mode tun, inside the VM (whose kernel has IPVS): the whole LVS-TUN story
# of test/demo/ipvs.ts. test/demo/vm-launch.ts (the host's demo) and test/vm/demo-modes.test.ts
# run it; DEMO_ARGS carries the demo's other options (--advert-int, --calm).
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
[ -f "$REPO/dist/test/demo/demo.js" ] || { echo "FAIL: $REPO/dist missing: run npx tsc -p . on the host first"; exit 1; }
# shellcheck disable=SC2086 # DEMO_ARGS is a list of words
exec node "$REPO/dist/test/demo/demo.js" --mode tun ${DEMO_ARGS:-}
