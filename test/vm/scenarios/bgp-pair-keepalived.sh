#!/bin/sh
# The active/standby keepalived pair beside the scale-out site, for bench/scale-out.ts (test/vm/bgp/pair.sh).
PAIR_DAEMON=keepalived
. "$(dirname "$0")/../bgp/pair.sh"
