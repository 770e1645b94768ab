#!/bin/sh
# Reload by difference: NAT picture, rr, weights 1/1; a rate-limited download through the VIP
# holds one connection; then rs-other's weight goes 1 → 5 in the file and `lvsctl reload`.
# Prints DL_CONN/DL_RS (the download's IPVS connection), blocks `Sn before`/`Sn after`,
# `Ln before`/`Ln after`, `Lnc after`, CONN_KEPT yes|no, the reload's JSON answer, the
# download's result, RELOAD_MS (lvsctl start → weight visible) and the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_topology
conf=$E2E_DIR/lvsd.conf
e2e_nat_conf "$conf" 1 1
e2e_lvsd_start "$conf"
e2e_wait_vip eth0 192.0.2.100
e2e_expect "$E2E_DIR/want" \
	'-A -t 192.0.2.100:80 -s rr' \
	'-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1' \
	'-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1'
e2e_wait_table "$E2E_DIR/want" 100 || e2e_fail "the table never matched the configuration at start"

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
if e2e_ipvs -Lnc | awk '{print $1, $3, $4, $5, $6}' | grep -qxF "$DL_CONN"; then echo "CONN_KEPT yes"; else echo "CONN_KEPT no"; fi
e2e_download_wait
e2e_block 'lvsd log' cat "$E2E_LOG"
