#!/bin/sh
# A DR director pair running lvsd, real servers prepared by packaging/realserver/lvs-realserver,
# and a master crash while requests and a download run:
#
#   client .10, d1 .11, d2 .12, r1 .21, r2 .22, all on one bridge; VIP 192.0.2.100:80
#
# d1 (priority 150) and d2 (100): one VRRP v3 instance VI_1 (advert_int 1) and
# `lvs_sync_daemon = eth0 VI_1 id 2`; virtual server rr, lb_kind DR, TCP_CHECK.
# The real servers carry the VIP on lo with arp_ignore/arp_announce: only the script sets
# that up. Their uplinks are shaped to 3 Mbit/s so a 6 MB download lasts about 17 s.
# Prints raw facts for test/vm/pair.test.ts:
#   RS_CHECK_BEFORE <rs> <status> <lines joined by ;>   check before setup
#   RS_SETUP <rs> <status> ; RS_CHECK <rs> <status> <lines>   after setup
#   RS_ARP <replies>           ARP replies the client got for the VIP with no director up
#   MASTER_BEFORE, DAEMON_BEFORE, SYNCED, PARTIAL_AT_KILL, TAKEOVER_MS, FIRST_NEW_MS,
#   ANSWER, DOWNLOAD, DAEMON_AFTER: as in pair-nat.sh
#   REQ <start> <end> <body|FAIL>   the client's request loop (every ~200 ms; ms since the crash)
#   then the DIAG blocks (pair/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pair/lib.sh"

s=$$
C=c$s D1=da$s D2=db$s R1=ra$s R2=rb$s
VIP=192.0.2.100
for ns in $C $D1 $D2 $R1 $R2; do vm_netns "$ns"; done
pair_bridge "b$s"
vm_attach "$C" eth0 "b$s" 192.0.2.10/24
vm_attach "$D1" eth0 "b$s" 192.0.2.11/24
vm_attach "$D2" eth0 "b$s" 192.0.2.12/24
vm_attach "$R1" eth0 "b$s" 192.0.2.21/24
vm_attach "$R2" eth0 "b$s" 192.0.2.22/24
pair_t topology

# The real servers: the script, and nothing else, makes them DR real servers.
for pair in "r1 $R1" "r2 $R2"; do
	r=${pair% *}
	ns=${pair#* }
	out=$(ip netns exec "$ns" "$RSCRIPT" check --mode dr $VIP)
	rc=$?
	echo "RS_CHECK_BEFORE $r $rc $(echo "$out" | tr '\n' ';')"
	out=$(ip netns exec "$ns" "$RSCRIPT" setup --mode dr $VIP)
	rc=$?
	echo "RS_SETUP $r $rc $(echo "$out" | tr '\n' ';')"
	out=$(ip netns exec "$ns" "$RSCRIPT" check --mode dr $VIP)
	rc=$?
	echo "RS_CHECK $r $rc $(echo "$out" | tr '\n' ';')"
done
# No director holds the VIP yet: whoever answers ARP for it now is a real server doing wrong.
echo "RS_ARP $(ip netns exec "$C" arping -c 2 -w 2 -I eth0 $VIP 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')"

www=$PAIR_W/www
mkdir -p "$www/r1" "$www/r2"
head -c 6291456 /dev/urandom >"$PAIR_W/big"
for r in r1 r2; do
	echo "$r" >"$www/$r/index.html"
	cp "$PAIR_W/big" "$www/$r/big"
done
echo "SIZE $(wc -c <"$PAIR_W/big")"
modprobe sch_tbf 2>/dev/null
for r in $R1 $R2; do
	ip netns exec "$r" tc qdisc add dev eth0 root tbf rate 3mbit burst 16kb latency 200ms || fail "tc tbf on $r"
done
vm_bg ip netns exec "$R1" busybox httpd -f -p 80 -h "$www/r1"
vm_bg ip netns exec "$R2" busybox httpd -f -p 80 -h "$www/r2"

conf() {
	mkdir -p "$PAIR_W/$1-state"
	cat >"$PAIR_W/$1.conf" <<EOF
[global]
router_id = $1
control_socket = $PAIR_W/$1.sock
state_dir = $PAIR_W/$1-state
log_level = info
lvs_sync_daemon = eth0 VI_1 id 2

[vrrp_instance.VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 61
priority = $2
advert_int = 1
version = 3
virtual_ipaddress[] = $VIP/24

[check.tcp80]
type = TCP_CHECK
connect_timeout = 2
delay_loop = 2
retry = 1

[virtual_server.web]
address = $VIP:80
protocol = TCP
lb_algo = rr
lb_kind = DR
check = tcp80

[real_server.web.r1]
address = 192.0.2.21:80
weight = 1

[real_server.web.r2]
address = 192.0.2.22:80
weight = 1
EOF
	echo "$PAIR_W/$1.conf"
}
pair_lvsd d1 "$D1" "$(conf d1 150)"
pair_lvsd d2 "$D2" "$(conf d2 100)"
pair_t lvsd started
pair_wait "$D1" 120 "d1's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
pair_wait "$D2" 120 "d2's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
pair_t tables ready
pair_wait "$D1" 60 "d1 holding the VIP" "$(has_vip eth0 $VIP)"
sleep 2
master=none
[ "$(pair_holds "$D1" $VIP)" = 1 ] && master=d1
echo "MASTER_BEFORE $master $(pair_holds "$D1" $VIP)+$(pair_holds "$D2" $VIP)"
pair_wait "$D1" 20 "d1's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
pair_wait "$D2" 20 "d2's backup sync daemon" "ipvsadm -L --daemon | grep -q '^backup'"
echo "DAEMON_BEFORE d1 $(ip netns exec "$D1" ipvsadm -L --daemon | tr '\n' ';')"
echo "DAEMON_BEFORE d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
pair_wait "$C" 20 "an answer through the VIP" "curl -s --max-time 1 http://$VIP/ | grep -q '^r[12]\$'"
pair_t serving

ip netns exec "$C" curl -sS --max-time 150 -o "$PAIR_W/dl" -w '%{http_code}\n' "http://$VIP/big" \
	>"$PAIR_W/curl.out" 2>&1 &
CURL=$!
VM_PIDS="$VM_PIDS $CURL"
pair_wait "$C" 20 "the download to start" "[ \$(wc -c <$PAIR_W/dl 2>/dev/null || echo 0) -gt 100000 ]"
pair_t downloading
pair_wait "$D2" 20 "the download's connection in d2's table" \
	"ipvsadm -Lnc | grep -Eq '^TCP .* ESTABLISHED +192\\.0\\.2\\.10:[0-9]+ +192\\.0\\.2\\.100:80 '"
echo "SYNCED $(ip netns exec "$D2" ipvsadm -Lnc | grep -E 'ESTABLISHED +192\.0\.2\.10:' | head -n 1)"
echo "--- d1 ipvsadm -Lnc (master)"
ip netns exec "$D1" ipvsadm -Lnc | head -n 12
echo "--- d2 ipvsadm -Lnc (backup)"
ip netns exec "$D2" ipvsadm -Lnc | head -n 12
# The request loop starts after the sync check, so the connection seen there is the download's.
pair_http_loop "$C" "http://$VIP/" "$PAIR_W/loop"
sleep 3

pair_crash d1 "$D1" eth0
t0=$PAIR_CRASH_T0
echo "PARTIAL_AT_KILL $(wc -c <"$PAIR_W/dl")"
pair_wait "$D2" 30 "d2 holding the VIP" "$(has_vip eth0 $VIP)"
echo "TAKEOVER_MS $(($(now_ms) - t0))"
ip netns exec "$C" sh -c "
	end=\$((\$(date +%s) + 20))
	until curl -s --max-time 1 http://$VIP/ >/dev/null; do [ \$(date +%s) -ge \$end ] && exit 1; done" ||
	fail "no new request answered within 20 s of the takeover"
echo "FIRST_NEW_MS $(($(now_ms) - t0))"
sleep 6 # the loop keeps going a while on d2
touch "$PAIR_W/stop-loop"
wait "$PAIR_LOOP_PID"
awk -v t0="$t0" '$1 == "REQ" { print "REQ", $2 - t0, $3 - t0, $4 }' "$PAIR_W/loop"
for n in 1 2 3 4; do
	echo "ANSWER $n $(vm_get "$C" "http://$VIP/" 2>&1 || echo ERROR)"
done

wait "$CURL"
rc=$?
same=differs
cmp -s "$PAIR_W/big" "$PAIR_W/dl" && same=same
echo "DOWNLOAD $rc $(wc -c <"$PAIR_W/dl") $same $(tr -d '\n' <"$PAIR_W/curl.out")"
echo "DOWNLOAD_DONE_MS $(($(now_ms) - t0))"
pair_wait "$D2" 20 "d2's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
echo "DAEMON_AFTER d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
