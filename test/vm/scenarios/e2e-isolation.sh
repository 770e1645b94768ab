#!/bin/sh
# Issue 11.5 on a real kernel: a virtual server the kernel refuses (lb_algo twos: Debian's
# 6.1 kernel has no ip_vs_twos module, "Scheduler not found" = ENOENT) beside a healthy one
# (web, NAT picture of e2e_nat_topology, TCP_CHECK delay_loop 1, retry 0, rise 2). Prints:
#   ODD_IN_KERNEL yes|no        whether 192.0.2.100:81 ever made it into the table
#   RS1_DOWN_MS / RS1_UP_MS     rs1 killed / restarted → the table shows it (or *_NEVER)
#   WEB_WRITES_DOWN n           lvsd's IPVS write lines for web from the kill to the table change
#   FULL_READ_ERRORS n          "reading the IPVS table" errors (a whole-table retry) in the log
#   ODD_ATTEMPTS n              lines of lvsd's log for the refused add (first error + retries)
#   RETRY_IN_MS a b c ...       the retry delays lvsd announced for it, in order
#   SHOW_ERROR_LINES n          lines of `lvsctl show services` naming the refused service
#   JSON_ERRORS n               entries of `lvsctl --json show services` .errors
# and blocks: the table at each step, the show services output, requests while rs1 is down
# (STEP rs1-down, ANSWER lines) and the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_topology
conf=$E2E_DIR/lvsd.conf
{
	e2e_conf_head
	e2e_tcp_check_conf
	e2e_web_conf rr NAT 192.0.2.100 198.51.100.11 1 198.51.100.12 1 tcp
	cat <<'CONF'

[virtual_server.odd]
address = 192.0.2.100:81
protocol = TCP
lb_algo = twos
lb_kind = NAT

[real_server.odd.a]
address = 198.51.100.11:80
CONF
} >"$conf"

e2e_nat_start "$conf"
e2e_block 'table start' e2e_table
e2e_block 'show services' ip netns exec "$D" node "$E2E_LVSCTL" --socket "$E2E_SOCK" show services
echo "SHOW_ERROR_LINES $(ip netns exec "$D" node "$E2E_LVSCTL" --socket "$E2E_SOCK" show services | grep -c '192\.0\.2\.100:81.*\(IPVS error\|twos: \)')"
echo "JSON_ERRORS $(ip netns exec "$D" node "$E2E_LVSCTL" --socket "$E2E_SOCK" --json show services | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log((j.errors||[]).filter((e)=>e.virtualServer==="odd"&&e.code==="ENOENT").length)})')"

rs1='^-a -t 192\.0\.2\.100:80 -r 198\.51\.100\.11:80 '
mark=$(wc -l <"$E2E_LOG")
kill "$HTTPD1"
if e2e_wait_sn absent "$rs1"; then echo "RS1_DOWN_MS $WAITED_MS"; else echo "RS1_DOWN_NEVER $WAITED_MS"; fi
e2e_block 'table rs1 down' e2e_table
echo "STEP rs1-down"
e2e_request "$C" http://192.0.2.100/ 4
echo "WEB_WRITES_DOWN $(tail -n +"$((mark + 1))" "$E2E_LOG" | grep 'ipvs: ' | grep -c '192\.0\.2\.100:80')"
e2e_httpd "$R1" "$WWW/rs1"; HTTPD1=$HTTPD_PID
if e2e_wait_sn present "$rs1"; then echo "RS1_UP_MS $WAITED_MS"; else echo "RS1_UP_NEVER $WAITED_MS"; fi
e2e_block 'table rs1 up' e2e_table
# Let the refused service's retries run a while (1 + 2 + 4 s …).
sleep 8
if e2e_ipvs -Ln | grep -q '192\.0\.2\.100:81'; then echo "ODD_IN_KERNEL yes"; else echo "ODD_IN_KERNEL no"; fi
echo "FULL_READ_ERRORS $(grep -c 'reading the IPVS table' "$E2E_LOG")"
echo "ODD_ATTEMPTS $(grep -c 'add service TCP 192\.0\.2\.100:81 twos' "$E2E_LOG")"
echo "RETRY_IN_MS $(grep 'add service TCP 192\.0\.2\.100:81 twos' "$E2E_LOG" | sed -n 's/.*retry_in_ms[=:"]* *\([0-9]*\).*/\1/p' | tr '\n' ' ')"
e2e_block 'lvsd log' cat "$E2E_LOG"
