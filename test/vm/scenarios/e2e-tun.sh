#!/bin/sh
# lvsd as a LVS-TUN director. The client reaches the VIP 198.51.100.100 through a plain router
# RT; the director forwards in IPIP to the real servers, which carry the VIP /32 on tunl0
# (rp_filter=0) and answer through RT, not through the director:
#   C 203.0.113.10 --[bc]-- 203.0.113.1 RT 192.0.2.1 --[bs]-- D 192.0.2.2, R1 .11, R2 .12
# Prints MAC director|rs1|rs2|router, `=== ipvsadm -Sn`, `=== ipvsadm -Ln`, ANSWER lines,
# REPLY_MAC lines (source MACs of the replies arriving at RT's server-side link) and
# `=== stats` (the director's counters).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

s=$$
C=c$s RT=rt$s D=d$s R1=ra$s R2=rb$s
E2E_NS=$D
vm_netns "$C"; vm_netns "$RT"; vm_netns "$D"; vm_netns "$R1"; vm_netns "$R2"
vm_bridge "bc$s"; vm_bridge "bs$s"
vm_attach "$C" eth0 "bc$s" 203.0.113.10/24
vm_attach "$RT" eth0 "bc$s" 203.0.113.1/24
vm_attach "$RT" eth1 "bs$s" 192.0.2.1/24
vm_attach "$D" eth0 "bs$s" 192.0.2.2/24
vm_attach "$R1" eth0 "bs$s" 192.0.2.11/24
vm_attach "$R2" eth0 "bs$s" 192.0.2.12/24
ip -n "$C" route add default via 203.0.113.1 || fail "client route"
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1 || fail "router ip_forward"
ip -n "$RT" route add 198.51.100.100/32 via 192.0.2.2 || fail "router route to the VIP"
ip -n "$D" route add default via 192.0.2.1 || fail "director route"
for r in "$R1" "$R2"; do
	ip netns exec "$r" sh -c 'ip route add default via 192.0.2.1 && ip link set tunl0 up &&
		ip addr add 198.51.100.100/32 dev tunl0 &&
		sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
			net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2' ||
		fail "TUN real server setup in $r"
done
e2e_web_servers 192.0.2.11 192.0.2.12
e2e_macs
echo "MAC router $(ip netns exec "$RT" cat /sys/class/net/eth1/address)"

conf=$E2E_DIR/lvsd.conf
{
	cat <<CONF
[global]
router_id = e2e-tun
control_socket = $E2E_SOCK
state_dir = $E2E_DIR/state

[vrrp_instance.VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 52
priority = 150
advert_int = 0.2
version = 3
virtual_ipaddress[] = 198.51.100.100/32
CONF
	e2e_web_conf rr TUN 198.51.100.100 192.0.2.11 1 192.0.2.12 1
} >"$conf"

e2e_lvsd_start "$conf"
e2e_wait_vip eth0 198.51.100.100
e2e_table_check \
	'-A -t 198.51.100.100:80 -s rr' \
	'-a -t 198.51.100.100:80 -r 192.0.2.11:80 -i -w 1 --tun-type ipip' \
	'-a -t 198.51.100.100:80 -r 192.0.2.12:80 -i -w 1 --tun-type ipip'
e2e_direct_return "$RT" eth1 198.51.100.100
