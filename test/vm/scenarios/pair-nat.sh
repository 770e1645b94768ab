#!/bin/sh
# A NAT director pair running lvsd, with connection sync, and a master crash mid-download:
#
#   client .10 ──[bc]── eth0 d1 .11 / d2 .12 eth1 ──[bi]── r1 198.51.100.21, r2 .22
#            VIP 192.0.2.100:80 (VI_OUTSIDE)     gateway VIP 198.51.100.254 (VI_INSIDE)
#
# d1 (priority 150) and d2 (100) run bin/lvsd with one sync group holding both instances
# (VRRP v3, advert_int 1) and `lvs_sync_daemon = eth1 VI_INSIDE id 1`. The real servers
# (busybox httpd) route through the gateway VIP. A download of a 6 MB file, slowed by a 3 Mbit/s shaper on the real servers,
# through the VIP runs while d1 "crashes" (lvsd frozen, its links down, then kill -9).
# Prints raw facts for test/vm/pair.test.ts:
#   SIZE <bytes>                 the file's size
#   MASTER_BEFORE <d1|d2|none> <holders of the VIP> <holders of the gateway VIP>
#   DAEMON_BEFORE <dir> <ipvsadm -L --daemon line>
#   SYNCED <ipvsadm -Lnc line>   the download's connection, as the backup d2 shows it
#   PARTIAL_AT_KILL <bytes>      downloaded when d1 died
#   TAKEOVER_MS <ms>             from the crash to d2 holding both VIPs
#   FIRST_NEW_MS <ms>            from the crash to the first new request answered
#   DOWNLOAD <curl status> <bytes> <same|differs>   once the download ended
#   ANSWER <n> <body>            4 new requests through the VIP after the takeover
#   DAEMON_AFTER d2 <line>
#   then the DIAG blocks (pair/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pair/lib.sh"

s=$$
C=c$s D1=da$s D2=db$s R1=ra$s R2=rb$s
VIP=192.0.2.100
GW=198.51.100.254
for ns in $C $D1 $D2 $R1 $R2; do vm_netns "$ns"; done
pair_bridge "bc$s"
pair_bridge "bi$s"
vm_attach "$C" eth0 "bc$s" 192.0.2.10/24
vm_attach "$D1" eth0 "bc$s" 192.0.2.11/24
vm_attach "$D2" eth0 "bc$s" 192.0.2.12/24
vm_attach "$D1" eth1 "bi$s" 198.51.100.11/24
vm_attach "$D2" eth1 "bi$s" 198.51.100.12/24
vm_attach "$R1" eth0 "bi$s" 198.51.100.21/24
vm_attach "$R2" eth0 "bi$s" 198.51.100.22/24
ip -n "$R1" route add default via $GW || fail "r1 default route"
ip -n "$R2" route add default via $GW || fail "r2 default route"

www=$PAIR_W/www
mkdir -p "$www/r1" "$www/r2"
pair_t topology
head -c 6291456 /dev/urandom >"$PAIR_W/big"
for r in r1 r2; do
	echo "$r" >"$www/$r/index.html"
	cp "$PAIR_W/big" "$www/$r/big"
done
echo "SIZE $(wc -c <"$PAIR_W/big")"
# The long download's pace: curl 7.88's --limit-rate does not hold on a fast link, so the
# real servers' uplinks are shaped instead (3 Mbit/s: 6 MB in about 17 s).
modprobe sch_tbf 2>/dev/null
for r in $R1 $R2; do
	ip netns exec "$r" tc qdisc add dev eth0 root tbf rate 3mbit burst 16kb latency 200ms || fail "tc tbf on $r"
done
vm_bg ip netns exec "$R1" busybox httpd -f -p 80 -h "$www/r1"
vm_bg ip netns exec "$R2" busybox httpd -f -p 80 -h "$www/r2"

# conf NAME PRIORITY: the director's lvsd.conf (the same on both but for name and priority).
conf() {
	mkdir -p "$PAIR_W/$1-state"
	cat >"$PAIR_W/$1.conf" <<EOF
[global]
router_id = $1
control_socket = $PAIR_W/$1.sock
state_dir = $PAIR_W/$1-state
log_level = info
lvs_sync_daemon = eth1 VI_INSIDE id 1

[vrrp_sync_group.DIRECTOR]
group[] = VI_OUTSIDE
group[] = VI_INSIDE

[vrrp_instance.VI_OUTSIDE]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = $2
advert_int = 1
version = 3
virtual_ipaddress[] = $VIP/24

[vrrp_instance.VI_INSIDE]
state = BACKUP
interface = eth1
virtual_router_id = 52
priority = $2
advert_int = 1
version = 3
virtual_ipaddress[] = $GW/24

[check.tcp80]
type = TCP_CHECK
connect_timeout = 2
delay_loop = 2
retry = 1

[virtual_server.web]
address = $VIP:80
protocol = TCP
lb_algo = rr
lb_kind = NAT
check = tcp80

[real_server.web.r1]
address = 198.51.100.21:80
weight = 1

[real_server.web.r2]
address = 198.51.100.22:80
weight = 1
EOF
	echo "$PAIR_W/$1.conf"
}
pair_lvsd d1 "$D1" "$(conf d1 150)"
pair_lvsd d2 "$D2" "$(conf d2 100)"

# Both directors hold the table (health checks passed) and d1 holds both VIPs.
pair_t lvsd started
pair_wait "$D1" 120 "d1's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
pair_wait "$D2" 120 "d2's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
pair_t tables ready
pair_wait "$D1" 60 "d1 holding both VIPs" "$(has_vip eth0 $VIP) && $(has_vip eth1 $GW)"
sleep 2 # a few adverts, so a late-starting d2 has settled as backup
master=none
[ "$(pair_holds "$D1" $VIP)$(pair_holds "$D1" $GW)" = 11 ] && master=d1
echo "MASTER_BEFORE $master $(pair_holds "$D1" $VIP)+$(pair_holds "$D2" $VIP) $(pair_holds "$D1" $GW)+$(pair_holds "$D2" $GW)"
pair_wait "$D1" 20 "d1's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
pair_wait "$D2" 20 "d2's backup sync daemon" "ipvsadm -L --daemon | grep -q '^backup'"
echo "DAEMON_BEFORE d1 $(ip netns exec "$D1" ipvsadm -L --daemon | tr '\n' ';')"
echo "DAEMON_BEFORE d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
pair_wait "$C" 20 "an answer through the VIP" "curl -s --max-time 1 http://$VIP/ | grep -q '^r[12]\$'"

pair_t serving
# The long download: 6 MB at 3 Mbit/s, about 17 s.
ip netns exec "$C" curl -sS --max-time 150 -o "$PAIR_W/dl" -w '%{http_code}\n' "http://$VIP/big" \
	>"$PAIR_W/curl.out" 2>&1 &
CURL=$!
VM_PIDS="$VM_PIDS $CURL"

pair_wait "$C" 20 "the download to start" "[ \$(wc -c <$PAIR_W/dl 2>/dev/null || echo 0) -gt 100000 ]"
pair_t downloading
# Sync works: the backup's table shows the master's connection.
pair_wait "$D2" 20 "the download's connection in d2's table" \
	"ipvsadm -Lnc | grep -Eq '^TCP .* ESTABLISHED +192\\.0\\.2\\.10:[0-9]+ +192\\.0\\.2\\.100:80 '"
echo "SYNCED $(ip netns exec "$D2" ipvsadm -Lnc | grep -E 'ESTABLISHED +192\.0\.2\.10:' | head -n 1)"
echo "--- d1 ipvsadm -Lnc (master)"
ip netns exec "$D1" ipvsadm -Lnc
echo "--- d2 ipvsadm -Lnc (backup)"
ip netns exec "$D2" ipvsadm -Lnc
sleep 2

pair_crash d1 "$D1" eth0 eth1
t0=$PAIR_CRASH_T0
echo "PARTIAL_AT_KILL $(wc -c <"$PAIR_W/dl")"
pair_wait "$D2" 30 "d2 holding both VIPs" "$(has_vip eth0 $VIP) && $(has_vip eth1 $GW)"
echo "TAKEOVER_MS $(($(now_ms) - t0))"
ip netns exec "$C" sh -c "
	end=\$((\$(date +%s) + 20))
	until curl -s --max-time 1 http://$VIP/ >/dev/null; do [ \$(date +%s) -ge \$end ] && exit 1; done" ||
	fail "no new request answered within 20 s of the takeover"
echo "FIRST_NEW_MS $(($(now_ms) - t0))"
for n in 1 2 3 4; do
	echo "ANSWER $n $(vm_get "$C" "http://$VIP/" 2>&1 || echo ERROR)"
done
echo "PROGRESS_AFTER_TAKEOVER $(wc -c <"$PAIR_W/dl")"

wait "$CURL"
rc=$?
same=differs
cmp -s "$PAIR_W/big" "$PAIR_W/dl" && same=same
echo "DOWNLOAD $rc $(wc -c <"$PAIR_W/dl") $same $(tr -d '\n' <"$PAIR_W/curl.out")"
echo "DOWNLOAD_DONE_MS $(($(now_ms) - t0))"
pair_wait "$D2" 20 "d2's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
echo "DAEMON_AFTER d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
