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
	cat <<'CONF'

[check.tcp]
type = TCP_CHECK
delay_loop = 1
retry = 0
connect_timeout = 1
rise = 2
fall = 1

[virtual_server.web]
address = 192.0.2.100:80
protocol = TCP
lb_algo = rr
lb_kind = NAT
check = tcp

[real_server.web.rs1]
address = 198.51.100.11:80
weight = 1

[real_server.web.rs2]
address = 198.51.100.12:80
weight = 1
inhibit_on_failure = true
CONF
} >"$conf"
echo "BUDGET_MS $((1 * 1000 + 1000))"

e2e_lvsd_start "$conf"
e2e_wait_vip eth0 192.0.2.100
e2e_expect "$E2E_DIR/want" \
	'-A -t 192.0.2.100:80 -s rr' \
	'-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1' \
	'-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1'
e2e_wait_table "$E2E_DIR/want" 100 || e2e_fail "the table never matched the configuration at start"
e2e_block 'table start' e2e_table

rs1='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.11:80 '
rs2_0='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.12:80 -m -w 0$'
rs2_1='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.12:80 -m -w 1$'

kill "$HTTPD1"
if e2e_wait_sn absent "$rs1"; then echo "RS1_DOWN_MS $WAITED_MS"; else echo "RS1_DOWN_NEVER $WAITED_MS"; fi
e2e_block 'table rs1 down' e2e_table
echo "STEP rs1-down"
e2e_request "$C" http://192.0.2.100/ 4

e2e_httpd "$R1" "$WWW/rs1"; HTTPD1=$HTTPD_PID
if e2e_wait_sn present "$rs1"; then echo "RS1_UP_MS $WAITED_MS"; else echo "RS1_UP_NEVER $WAITED_MS"; fi
e2e_block 'table rs1 up' e2e_table

kill "$HTTPD2"
if e2e_wait_sn present "$rs2_0"; then echo "RS2_DOWN_MS $WAITED_MS"; else echo "RS2_DOWN_NEVER $WAITED_MS"; fi
e2e_block 'table rs2 down' e2e_table
echo "STEP rs2-down"
e2e_request "$C" http://192.0.2.100/ 4

e2e_httpd "$R2" "$WWW/rs2"; HTTPD2=$HTTPD_PID
if e2e_wait_sn present "$rs2_1"; then echo "RS2_UP_MS $WAITED_MS"; else echo "RS2_UP_NEVER $WAITED_MS"; fi
e2e_block 'table rs2 up' e2e_table
e2e_block 'lvsd log' cat "$E2E_LOG"
