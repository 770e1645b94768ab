#!/bin/sh
# Reload by difference: NAT picture, rr, weights 1/1; a rate-limited download through the VIP
# holds one connection; then rs-other's weight goes 1 → 5 in the file and `lvsctl reload`.
# Prints DL_CONN/DL_RS (the download's IPVS connection), blocks `Sn before`/`Sn after`,
# `Ln before`/`Ln after`, `Lnc after`, CONN_KEPT yes|no, the reload's JSON answer, the
# download's result, RELOAD_MS (lvsctl start → weight visible) and the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_up

e2e_download 3000000 100k
echo "DL_CONN $DL_CONN"
echo "DL_RS $DL_RS"
if [ "$DL_RS" = 198.51.100.11:80 ]; then e2e_nat_conf "$conf" 1 5; other=198.51.100.12; else e2e_nat_conf "$conf" 5 1; other=198.51.100.11; fi
echo "CHANGED $other:80"
e2e_block 'Sn before' e2e_table
e2e_block 'Ln before' e2e_ipvs -Ln
e2e_now; t0=$NOW
echo "=== reload answer"
ip netns exec "$E2E_NS" node "$E2E_LVSCTL" --socket "$E2E_SOCK" --json reload 2>&1
echo "RELOAD_EXIT $?"
echo "=== end"
e2e_wait_sn present "^-a -t 192\\.0\\.2\\.100:80 -r ${other}:80 -m -w 5\$" 100 || echo "RELOAD_NEVER"
e2e_now; echo "RELOAD_MS $((NOW - t0))"
e2e_block 'Sn after' e2e_table
e2e_block 'Ln after' e2e_ipvs -Ln
e2e_block 'Lnc after' e2e_ipvs -Lnc
echo "CONN_KEPT $(e2e_conn_kept)"
e2e_download_wait
e2e_block 'lvsd log' cat "$E2E_LOG"
