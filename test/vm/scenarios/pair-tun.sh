#!/bin/sh
# lvs-realserver in TUN mode, where the VM's kernel has ipip (the host's has not):
#
#   client .10, director .11 (VIP 192.0.2.100 /32 on eth0, ipvsadm -i), r1 .21, one bridge
#
# The real server answers through the tunnel only once the script has set it up, and no more
# after teardown. The director is plain ipvsadm: this scenario judges the script, not lvsd.
# Prints raw facts for test/vm/pair.test.ts:
#   CHECK_BEFORE <status> <lines joined by ;>
#   SETUP <status> <lines> ; SETUP_AGAIN <status> <lines> ; CHECK <status> <lines>
#   TUNL0 <flags> <addresses>    tunl0 as `ip -br addr` shows it after setup
#   RP_FILTER <all> <tunl0>
#   ANSWER <n> <body|ERROR>      2 requests through the VIP after setup
#   TEARDOWN <status> <lines> ; CHECK_AFTER <status> <lines>
#   ANSWER_AFTER <body|ERROR>    a request through the VIP after teardown
#   CHECK6_BEFORE / SETUP6 / CHECK6 / TEARDOWN6 <status> <lines>   IPv6 VIP on ip6tnl0
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pair/lib.sh"

s=$$
C=c$s D=d$s R=r$s
VIP=192.0.2.100
VIP6=2001:db8::100
for ns in $C $D $R; do vm_netns "$ns"; done
vm_bridge "b$s"
vm_attach "$C" eth0 "b$s" 192.0.2.10/24
vm_attach "$D" eth0 "b$s" 192.0.2.11/24
vm_attach "$R" eth0 "b$s" 192.0.2.21/24
ip -n "$D" addr add $VIP/32 dev eth0 || fail "VIP on the director"

www=$PAIR_W/www
mkdir -p "$www"
echo r1 >"$www/index.html"
vm_bg ip netns exec "$R" busybox httpd -f -p 80 -h "$www"
ip netns exec "$D" ipvsadm -A -t $VIP:80 -s rr || fail "ipvsadm -A"
ip netns exec "$D" ipvsadm -a -t $VIP:80 -r 192.0.2.21:80 -i || fail "ipvsadm -a -i"

# step KEY ARGS...: run the script in the real server's namespace and print KEY status lines.
step() {
	key=$1
	shift
	out=$(ip netns exec "$R" "$RSCRIPT" "$@" 2>&1)
	rc=$?
	echo "$key $rc $(echo "$out" | tr '\n' ';')"
}

step CHECK_BEFORE check --mode tun $VIP
step SETUP setup --mode tun $VIP
step SETUP_AGAIN setup --mode tun $VIP
step CHECK check --mode tun $VIP
echo "TUNL0 $(ip -n "$R" -o link show dev tunl0 | sed 's/.*<\([^>]*\)>.*/\1/') $(ip -n "$R" -4 -o addr show dev tunl0 | awk '{ print $4 }' | tr '\n' ' ')"
echo "RP_FILTER $(ip netns exec "$R" cat /proc/sys/net/ipv4/conf/all/rp_filter) $(ip netns exec "$R" cat /proc/sys/net/ipv4/conf/tunl0/rp_filter)"
for n in 1 2; do
	echo "ANSWER $n $(vm_get "$C" "http://$VIP/" 2>/dev/null || echo ERROR)"
done
step TEARDOWN teardown --mode tun $VIP
step CHECK_AFTER check --mode tun $VIP
echo "ANSWER_AFTER $(ip netns exec "$C" curl -sS --max-time 3 "http://$VIP/" 2>/dev/null || echo ERROR)"

step CHECK6_BEFORE check --mode tun $VIP6
step SETUP6 setup --mode tun $VIP6
step CHECK6 check --mode tun $VIP6
echo "IP6TNL0 $(ip -n "$R" -6 -o addr show dev ip6tnl0 | awk '{ print $4 }' | tr '\n' ' ')"
step TEARDOWN6 teardown --mode tun $VIP6
step CHECK6_AFTER check --mode tun $VIP6
echo "--- ipvsadm -Ln --stats"
ip netns exec "$D" ipvsadm -Ln --stats
