#!/bin/sh
# Entry of a benchmark run inside the VM test bed (bench/lib/vm.ts):
# BENCH_NAME and BENCH_ARGS come from the host; the checkout is the host's.
set -e
ulimit -n 65536
exec node dist/bench/run.js "$BENCH_NAME" $BENCH_ARGS
