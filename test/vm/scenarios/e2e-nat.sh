#!/bin/sh
# lvsd as a LVS-NAT director (one director, VRRP alone → master), judged by ipvsadm and curl.
#   client 192.0.2.10 → VIP 192.0.2.100:80 (wrr) → rs1 198.51.100.11 (weight 1), rs2 .12 (weight 3)
# Prints: MASTER_MS (lvsd start → VIP on eth0), TABLE_MS, `=== ipvsadm -Sn` (sorted),
# `=== ipvsadm -Ln`, ANSWER lines of 8 requests, `=== stats`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_topology
conf=$E2E_DIR/lvsd.conf
{
	e2e_conf_head
	e2e_web_conf wrr NAT 192.0.2.100 198.51.100.11 1 198.51.100.12 3
} >"$conf"

e2e_now; t0=$NOW
e2e_lvsd_start "$conf"
e2e_wait_vip eth0 192.0.2.100
e2e_now; echo "MASTER_MS $((NOW - t0))"
e2e_table_check \
	'-A -t 192.0.2.100:80 -s wrr' \
	'-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1' \
	'-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 3'
echo "TABLE_MS $WAITED_MS"
e2e_block 'ipvsadm -Sn' e2e_table
e2e_block 'ipvsadm -Ln' e2e_ipvs -Ln
e2e_request "$C" http://192.0.2.100/ 8
# --stats totals are folded in by the 2 s estimator: wait until the service shows 8 conns.
e2e_wait_stats '^TCP +192\.0\.2\.100:80 +8 '
e2e_block stats e2e_ipvs -Ln --stats
e2e_block 'lvsd log' cat "$E2E_LOG"
