#!/bin/sh
# The active/standby lvsd pair beside the scale-out site, for bench/scale-out.ts (test/vm/bgp/pair.sh).
PAIR_DAEMON=lvsd
. "$(dirname "$0")/../bgp/pair.sh"
