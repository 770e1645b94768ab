#!/bin/sh
# Health checks drive the kernel table: NAT picture of e2e_nat_topology, TCP_CHECK with
# delay_loop 1, retry 0, connect_timeout 1, rise 2. rs1 is removed when down; rs2 has
# inhibit_on_failure (weight 0 when down). Prints, for each step, the measured time from the
# event (httpd killed / restarted) to the table showing it:
#   RS1_DOWN_MS, RS1_UP_MS, RS2_DOWN_MS, RS2_UP_MS  (or *_NEVER when it never happened)
# and blocks of ipvsadm -Sn at each step, ANSWER lines while a server is down (prefixed by
# STEP lines), and the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_topology
conf=$E2E_DIR/lvsd.conf
{
	e2e_conf_head
	e2e_tcp_check_conf
	e2e_web_conf rr NAT 192.0.2.100 198.51.100.11 1 198.51.100.12 1 tcp 'inhibit_on_failure = true'
} >"$conf"
echo "BUDGET_MS $((1 * 1000 + 1000))"

e2e_nat_start "$conf"
e2e_block 'table start' e2e_table

rs1='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.11:80 '
rs2_0='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.12:80 -m -w 0$'
rs2_1='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.12:80 -m -w 1$'

# measure KEY present|absent ERE: prints KEY_MS <ms> once a line of ipvsadm -Sn matching ERE is
# present (absent), or KEY_NEVER <ms> when it never is.
measure() {
	if e2e_wait_sn "$2" "$3"; then echo "${1}_MS $WAITED_MS"; else echo "${1}_NEVER $WAITED_MS"; fi
}

# outage N DOWN_STATE DOWN_ERE UP_ERE: rsN's web server is killed (RSN_DOWN_* once a table line
# matching DOWN_ERE is DOWN_STATE, block `table rsN down`, then STEP rsN-down and 4 requests),
# then started again (RSN_UP_* once a line matching UP_ERE is present, block `table rsN up`).
outage() {
	eval "kill \"\$HTTPD$1\""
	measure "RS${1}_DOWN" "$2" "$3"
	e2e_block "table rs$1 down" e2e_table
	echo "STEP rs$1-down"
	e2e_request "$C" http://192.0.2.100/ 4
	eval "e2e_httpd \"\$R$1\" \"\$WWW/rs$1\"; HTTPD$1=\$HTTPD_PID"
	measure "RS${1}_UP" present "$4"
	e2e_block "table rs$1 up" e2e_table
}

outage 1 absent "$rs1" "$rs1"
outage 2 present "$rs2_0" "$rs2_1"
e2e_block 'lvsd log' cat "$E2E_LOG"
