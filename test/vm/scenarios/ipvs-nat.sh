#!/bin/sh
# LVS-NAT through a real IPVS director, all inside the VM:
#   client 192.0.2.10 --[bridge c]-- 192.0.2.1 director 198.51.100.1 --[bridge i]-- rs1 .11, rs2 .12
# VIP 192.0.2.100:80, scheduler rr, forwarding masquerade (-m). The real servers are busybox
# httpd answering their own name; their default route is the director's inside address.
# Prints raw facts for the host-side test to judge:
#   ANSWER <n> <body>        one per request through the VIP (4 requests)
#   ROOT-NS-SERVICES <count> IPVS services in the guest's root namespace (IPVS is per netns)
#   then `ipvsadm -Ln` and `ipvsadm -Ln --stats` of the director.
. "$(dirname "$0")/lib.sh"

s=$$
C=c$s D=d$s R1=r1$s R2=r2$s
vm_netns "$C"; vm_netns "$D"; vm_netns "$R1"; vm_netns "$R2"
vm_bridge "bc$s"; vm_bridge "bi$s"
vm_attach "$C" eth0 "bc$s" 192.0.2.10/24
vm_attach "$D" eth0 "bc$s" 192.0.2.1/24
vm_attach "$D" eth1 "bi$s" 198.51.100.1/24
vm_attach "$R1" eth0 "bi$s" 198.51.100.11/24
vm_attach "$R2" eth0 "bi$s" 198.51.100.12/24
ip -n "$D" addr add 192.0.2.100/32 dev eth0 || fail "VIP on director"
ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward"
ip -n "$R1" route add default via 198.51.100.1 || fail "rs1 default route"
ip -n "$R2" route add default via 198.51.100.1 || fail "rs2 default route"

www=$(mktemp -d)
for rs in rs1 rs2; do mkdir "$www/$rs" && echo "$rs" >"$www/$rs/index.html"; done
vm_bg ip netns exec "$R1" busybox httpd -f -p 80 -h "$www/rs1"
vm_bg ip netns exec "$R2" busybox httpd -f -p 80 -h "$www/rs2"
vm_wait_http "$D" http://198.51.100.11/ rs1
vm_wait_http "$D" http://198.51.100.12/ rs2

ip netns exec "$D" ipvsadm -A -t 192.0.2.100:80 -s rr || fail "ipvsadm -A"
ip netns exec "$D" ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -m || fail "ipvsadm -a rs1"
ip netns exec "$D" ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.12:80 -m || fail "ipvsadm -a rs2"

for n in 1 2 3 4; do
	body=$(vm_get "$C" http://192.0.2.100/ 2>&1) || body="ERROR $body"
	echo "ANSWER $n $body"
done

echo "ROOT-NS-SERVICES $(ipvsadm -Sn | grep -c '^-A')"
echo "--- ipvsadm -Ln"
ip netns exec "$D" ipvsadm -Ln
# The 6.1 kernel folds its per-CPU counters into the --stats totals only from the 2 s rate
# estimator timer: wait (10 s at most) until the totals show the 4 connections.
deadline=$(($(date +%s) + 10))
while [ "$(date +%s)" -lt "$deadline" ] &&
	! ip netns exec "$D" ipvsadm -Ln --stats | grep -Eq '^TCP +192\.0\.2\.100:80 +4 '; do
	sleep 0.3
done
echo "--- ipvsadm -Ln --stats"
ip netns exec "$D" ipvsadm -Ln --stats
rm -rf "$www"
