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
WWW=$E2E_DIR/www
e2e_www "$WWW/rs1" rs1; e2e_www "$WWW/rs2" rs2
e2e_httpd "$R1" "$WWW/rs1"
e2e_httpd "$R2" "$WWW/rs2"
vm_wait_http "$D" http://192.0.2.11/ rs1
vm_wait_http "$D" http://192.0.2.12/ rs2
echo "MAC director $(ip netns exec "$D" cat /sys/class/net/eth0/address)"
echo "MAC rs1 $(ip netns exec "$R1" cat /sys/class/net/eth0/address)"
echo "MAC rs2 $(ip netns exec "$R2" cat /sys/class/net/eth0/address)"

conf=$E2E_DIR/lvsd.conf
{
	e2e_conf_head
	cat <<'CONF'

[virtual_server.web]
address = 192.0.2.100:80
protocol = TCP
lb_algo = rr
lb_kind = DR

[real_server.web.rs1]
address = 192.0.2.11:80
weight = 1

[real_server.web.rs2]
address = 192.0.2.12:80
weight = 2
CONF
} >"$conf"

e2e_lvsd_start "$conf"
e2e_wait_vip eth0 192.0.2.100
e2e_expect "$E2E_DIR/want" \
	'-A -t 192.0.2.100:80 -s rr' \
	'-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 1' \
	'-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 2'
e2e_wait_table "$E2E_DIR/want" 100 || echo "TABLE_NEVER_MATCHED"
e2e_block 'ipvsadm -Sn' e2e_table
e2e_block 'ipvsadm -Ln' e2e_ipvs -Ln
e2e_capture_start "$C" eth0 'tcp and src port 80'
e2e_request "$C" http://192.0.2.100/ 4
e2e_capture_stop
e2e_wait_stats '^TCP +192\.0\.2\.100:80 +4 '
e2e_block stats e2e_ipvs -Ln --stats
e2e_block 'lvsd log' cat "$E2E_LOG"
