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

pair_t topology
pair_webservers

# conf NAME PRIORITY: the director's lvsd.conf (the same on both but for name and priority).
conf() {
	pair_conf "$1" "eth1 VI_INSIDE id 1" NAT 198.51.100.21 198.51.100.22 "[vrrp_sync_group.DIRECTOR]
group[] = VI_OUTSIDE
group[] = VI_INSIDE

$(pair_instance VI_OUTSIDE eth0 51 "$2" $VIP/24)

$(pair_instance VI_INSIDE eth1 52 "$2" $GW/24)"
}
# Both directors hold the table (health checks passed) and d1 holds both VIPs.
pair_start conf
pair_wait "$D1" 60 "d1 holding both VIPs" "$(has_vip eth0 $VIP) && $(has_vip eth1 $GW)"
sleep 2 # a few adverts, so a late-starting d2 has settled as backup
master=none
[ "$(pair_holds "$D1" $VIP)$(pair_holds "$D1" $GW)" = 11 ] && master=d1
echo "MASTER_BEFORE $master $(pair_holds "$D1" $VIP)+$(pair_holds "$D2" $VIP) $(pair_holds "$D1" $GW)+$(pair_holds "$D2" $GW)"
pair_serving
# The long download: 6 MB at 3 Mbit/s, about 17 s. Sync works: the backup's table shows the
# master's connection.
pair_download
sleep 2

pair_failover "d2 holding both VIPs" "$(has_vip eth0 $VIP) && $(has_vip eth1 $GW)" eth0 eth1
for n in 1 2 3 4; do
	echo "ANSWER $n $(vm_get "$C" "http://$VIP/" 2>&1 || echo ERROR)"
done
echo "PROGRESS_AFTER_TAKEOVER $(wc -c <"$PAIR_W/dl")"

pair_download_end
