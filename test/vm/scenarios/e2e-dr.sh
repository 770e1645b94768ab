#!/bin/sh
# lvsd as a LVS-DR director: client, director and two real servers on one bridge (192.0.2.0/24).
# The real servers carry the VIP 192.0.2.100/32 on lo with arp_ignore=1/arp_announce=2 and
# answer the client directly. Prints MAC director|rs1|rs2, `=== ipvsadm -Sn`, `=== ipvsadm -Ln`,
# ANSWER lines, REPLY_MAC lines (source MACs of the replies the client received, from
# tcpdump -e in the client) and `=== stats` (the director's counters: inbound only).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

s=$$
C=c$s D=d$s R1=ra$s R2=rb$s
E2E_NS=$D
vm_netns "$C"; vm_netns "$D"; vm_netns "$R1"; vm_netns "$R2"
vm_bridge "bl$s"
vm_attach "$C" eth0 "bl$s" 192.0.2.10/24
vm_attach "$D" eth0 "bl$s" 192.0.2.1/24
vm_attach "$R1" eth0 "bl$s" 192.0.2.11/24
vm_attach "$R2" eth0 "bl$s" 192.0.2.12/24
for r in "$R1" "$R2"; do
	ip netns exec "$r" sh -c 'sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 && ip addr add 192.0.2.100/32 dev lo' ||
		fail "DR real server setup in $r"
done
e2e_web_servers 192.0.2.11 192.0.2.12
e2e_macs

conf=$E2E_DIR/lvsd.conf
{
	e2e_conf_head
	e2e_web_conf rr DR 192.0.2.100 192.0.2.11 1 192.0.2.12 2
} >"$conf"

e2e_lvsd_start "$conf"
e2e_wait_vip eth0 192.0.2.100
e2e_table_check \
	'-A -t 192.0.2.100:80 -s rr' \
	'-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 1' \
	'-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 2'
e2e_direct_return "$C" eth0 192.0.2.100
