#!/bin/sh
# What the guest kernel offers for IPVS and LVS-TUN, printed as raw facts:
#   PROC_NET_IP_VS yes|no      /proc/net/ip_vs exists in a fresh namespace
#   IPVS_VERSION <line>        first line of /proc/net/ip_vs
#   LOADED <modules>           ip_vs* modules loaded
#   SCHED <name> ok|fail <msg> `ipvsadm -A -t ... -s <name>` in a fresh namespace
#   TUNL0 yes|no               the ipip fallback device exists in a fresh namespace
#   IPIP_LINK ok|fail <msg>    `ip link add ... type ipip` works
. "$(dirname "$0")/lib.sh"

N=cap$$
vm_netns "$N"
if ip netns exec "$N" test -e /proc/net/ip_vs; then echo "PROC_NET_IP_VS yes"; else echo "PROC_NET_IP_VS no"; fi
echo "IPVS_VERSION $(ip netns exec "$N" head -n 1 /proc/net/ip_vs 2>&1)"
echo "LOADED $(awk '$1 ~ /^ip_vs/ {print $1}' /proc/modules | sort | tr '\n' ' ')"
# "bogus" is no scheduler: its line shows the check can fail. One `ip netns exec` for the
# whole loop: every exec of a host binary costs a round of 9p lookups under emulation.
ip netns exec "$N" sh -c '
for sched in rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos bogus; do
	if msg=$(ipvsadm -A -t 192.0.2.1:80 -s "$sched" 2>&1); then
		echo "SCHED $sched ok"
		ipvsadm -D -t 192.0.2.1:80
	else
		echo "SCHED $sched fail $(echo "$msg" | head -n 1)"
	fi
done'
if ip -n "$N" link show tunl0 >/dev/null 2>&1; then echo "TUNL0 yes"; else echo "TUNL0 no"; fi
if msg=$(ip -n "$N" link add ipip$$ type ipip local 192.0.2.1 remote 192.0.2.2 2>&1); then
	echo "IPIP_LINK ok"
else
	echo "IPIP_LINK fail $msg"
fi
