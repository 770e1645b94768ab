# The scale-out site's nearest equivalent with an active/standby pair, for bench/scale-out.ts:
# sourced by test/vm/scenarios/bgp-pair-lvsd.sh and bgp-pair-keepalived.sh, which set
# PAIR_DAEMON. Same router, real servers and client as bgp-scale-out.sh (test/vm/bgp/lib.sh),
# but the router reaches the VIP on its link (a /32 on eth0, resolved by ARP), and two
# directors d1 (priority 150) and d2 (100) hold it by VRRP (v3, advert_int 1) on eth0, with
# the kernel's connection sync (master on the VRRP master, backup on the backup) so flows
# survive a takeover. IPVS: the same mh with mh-port, DR, r1..r4, TCP_CHECK every second.
#
# Events, each judged like bgp-scale-out's (WINDOW and DIRECTORS lines):
#   add    d2 starts beside the serving d1: ADD_MS <start to d2's backup sync daemon running>
#   crash  d1 dies (frozen, link down, killed): TAKEOVER_MS <crash to the router's ARP entry
#          for the VIP holding d2's MAC>, WINDOW crash (broken, last_bad)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pair/lib.sh"
. "$(dirname "$0")/../bgp/lib.sh"

LONG=${BGP_LONG:-200}
RATE=${BGP_RATE:-5}
echo "MODE pair-$PAIR_DAEMON long $LONG rate $RATE"
[ "$PAIR_DAEMON" = keepalived ] && ! command -v keepalived >/dev/null 2>&1 && fail "keepalived missing (apt-get install keepalived on the host)"

pairx_exit() {
	st=$?
	pair_t "exit $st"
	[ -n "$BGP_R" ] && ip -n "$BGP_R" neigh show 2>&1 | sed 's/^/--- DIAG router neigh: /'
	for n in 1 2; do
		[ -f "$PAIR_W/ka-d$n.log" ] && { echo "--- DIAG keepalived d$n log tail"; tail -n 30 "$PAIR_W/ka-d$n.log"; }
	done
	[ -n "$PAIR_DIRECTORS" ] && pair_diag
	for ns in $C $BGP_R $D1 $D2 $D3 $D4 $R1 $R2 $R3 $R4; do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
	done
	vm_cleanup
	rm -rf "$PAIR_W"
	exit "$st"
}
trap pairx_exit EXIT

bgp_site
ip link set "bu$$" type bridge mcast_snooping 0
bgp_realservers
ip -n "$BGP_R" route add $BGP_VIP/32 dev eth0
pair_t site

# pairx_start N PRIORITY: director N's daemon.
pairx_start() {
	ns=$(eval echo "\$D$1")
	if [ "$PAIR_DAEMON" = keepalived ]; then
		{
			cat <<EOF
global_defs {
	router_id d$1
	vrrp_version 3
	lvs_sync_daemon eth0 VI_1 id 2
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 61
	priority $2
	advert_int 1
	virtual_ipaddress {
		$BGP_VIP/32 dev eth0
	}
}
virtual_server $BGP_VIP 80 {
	delay_loop 1
	lb_algo mh
	mh-port
	mh-fallback
	lb_kind DR
	protocol TCP
EOF
			for r in 1 2 3 4; do
				printf '\treal_server %s 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 1\n\t\t\tretry 1\n\t\t}\n\t}\n' "$(bgp_rs_addr "$r")"
			done
			echo "}"
		} >"$PAIR_W/ka-d$1.conf"
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
		ip netns exec "$ns" keepalived -n -l -D -f "$PAIR_W/ka-d$1.conf" -p "$PAIR_W/ka-d$1.pid" \
			-c "$PAIR_W/ka-d$1-check.pid" -r "$PAIR_W/ka-d$1-vrrp.pid" >"$PAIR_W/ka-d$1.log" 2>&1 &
		VM_PIDS="$VM_PIDS $!"
		PAIR_DIRECTORS="$PAIR_DIRECTORS ka$1:$ns"
	else
		mkdir -p "$PAIR_W/d$1-state"
		{
			cat <<EOF
[global]
router_id = d$1
control_socket = $PAIR_W/d$1.sock
state_dir = $PAIR_W/d$1-state
log_level = info
lvs_sync_daemon = eth0 VI_1 id 2

$(pair_instance VI_1 eth0 61 "$2" $BGP_VIP/32)

[check.tcp80]
type = TCP_CHECK
connect_timeout = 1
delay_loop = 1
retry = 1

[virtual_server.web]
address = $BGP_VIP:80
protocol = TCP
lb_algo = mh
mh-port = true
mh-fallback = true
lb_kind = DR
check = tcp80
EOF
			for r in 1 2 3 4; do
				printf '\n[real_server.web.r%s]\naddress = %s:80\nweight = 1\n' "$r" "$(bgp_rs_addr "$r")"
			done
		} >"$PAIR_W/d$1.conf"
		pair_lvsd "d$1" "$ns" "$PAIR_W/d$1.conf"
	fi
}

# pairx_mac N: director N's eth0 MAC.
pairx_mac() {
	ip -n "$(eval echo "\$D$1")" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2
}

pairx_start 1 150
pair_wait "$D1" 240 "d1 holding the VIP" "$(has_vip eth0 $BGP_VIP)"
pair_wait "$D1" 60 "d1's IPVS table with 4 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 4 ]"
pair_t d1 master
bgp_client "$LONG" "$RATE"
pair_t client ready
T_ALL=$(now_ms)

# add: the backup starts.
bgp_snap
t0=$(now_ms)
pairx_start 2 100
pair_wait "$D2" 240 "d2's backup sync daemon" "ipvsadm -L --daemon | grep -q '^backup'"
echo "ADD_MS $(($(now_ms) - t0))"
pair_wait "$D2" 60 "d2's IPVS table with 4 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 4 ]"
sleep 5
bgp_deltas add
bgp_window add "$t0" "$(now_ms)"
pair_t add done

# crash: the master dies.
mac2=$(pairx_mac 2)
bgp_snap
bgp_crash 1
t0=$BGP_T0
ip netns exec "$BGP_R" sh -c "
	end=\$((\$(date +%s) + 60))
	until ip neigh show $BGP_VIP dev eth0 | grep -q 'lladdr $mac2 '; do
		[ \$(date +%s) -ge \$end ] && exit 1
		sleep 0.02
	done" || fail "the router's ARP entry for $BGP_VIP never moved to d2 ($mac2): $(ip -n "$BGP_R" neigh show $BGP_VIP)"
echo "TAKEOVER_MS $(($(now_ms) - t0))"
sleep 8
bgp_deltas crash
bgp_window crash "$t0" "$(now_ms)"
bgp_broken_lines "$t0" "$(now_ms)"
pair_t crash done

bgp_client_stop
bgp_window all "$T_ALL" "$(now_ms)"
