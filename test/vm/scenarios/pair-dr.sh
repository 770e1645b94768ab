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

pair_webservers

# conf NAME PRIORITY: the director's lvsd.conf (the same on both but for name and priority).
conf() {
	pair_conf "$1" "eth0 VI_1 id 2" DR 192.0.2.21 192.0.2.22 "$(pair_instance VI_1 eth0 61 "$2" $VIP/24)"
}
pair_start conf
pair_wait "$D1" 60 "d1 holding the VIP" "$(has_vip eth0 $VIP)"
sleep 2
master=none
[ "$(pair_holds "$D1" $VIP)" = 1 ] && master=d1
echo "MASTER_BEFORE $master $(pair_holds "$D1" $VIP)+$(pair_holds "$D2" $VIP)"
pair_serving
pair_download 12
# The request loop starts after the sync check, so the connection seen there is the download's.
pair_http_loop "$C" "http://$VIP/" "$PAIR_W/loop"
sleep 3

pair_failover "d2 holding the VIP" "$(has_vip eth0 $VIP)" eth0
sleep 6 # the loop keeps going a while on d2
touch "$PAIR_W/stop-loop"
wait "$PAIR_LOOP_PID"
awk -v t0="$t0" '$1 == "REQ" { print "REQ", $2 - t0, $3 - t0, $4 }' "$PAIR_W/loop"
for n in 1 2 3 4; do
	echo "ANSWER $n $(vm_get "$C" "http://$VIP/" 2>&1 || echo ERROR)"
done

pair_download_end
