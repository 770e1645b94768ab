#!/bin/sh
# Active/active directors behind a router's ECMP (issue 13), one site in one boot
# (topology: test/vm/bgp/lib.sh): a router running BIRD with BGP + BFD to each director, up to
# four directors announcing VIP 192.0.2.100 through their own BIRD, four DR real servers, and
# a client behind the router holding $BGP_LONG (200) slow downloads and opening $BGP_RATE
# (10) new connections a second. The directors' IPVS: mh with mh-port, the same real
# servers in the same order, sloppy_tcp, so a flow the router moves to another director
# keeps its real server.
#
# BGP_MODE=lvsd (default): each director runs lvsd (announce = bgp, table 100) beside BIRD;
# BGP_MODE=manual: ipvsadm programs the directors and `ip route ... table 100` announces
# (the bed without lvsd).
#
# Events, each judged from the client (WINDOW lines) and every director's IPVS counters
# (DIRECTORS lines, new connections/in packets per director) and tables (IPVS lines):
#   s1 d1 d2 d3 announce          HOPS s1 <router's next hops>
#   s2 d2 drained                 WITHDRAW_MS <drain to the router's hops without d2> <d2's
#                                 table 100 change to the router's>, then ANNOUNCE_MS alike
#                                 once undrained
#   s3 d4 starts                  JOIN_MS <start to four hops> <d4's route in table 100 to then>
#   s4 d1 crashes                 BFD_MS (crash to hops without d1), WINDOW s4 (last_bad:
#                                 when every new connection succeeds again)
#   s5 r4's listener dies         RS_DOWN_MS (until every live director gives r4 weight 0 or
#                                 drops it), QUORUM_WITHDRAW_MS <d3 (quorum 4) leaves the hops>
#                                 <d3's table 100 change to then>
# and CLIENT_END, WINDOW all, ROUTER_DOWN <ms since the client was ready> <director> for
# each BGP session the router lost (d1's crash; any other is BFD on a stalled machine), then
# DIAG blocks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pair/lib.sh"
. "$(dirname "$0")/../bgp/lib.sh"

BGP_MODE=${BGP_MODE:-lvsd}
LONG=${BGP_LONG:-200}
RATE=${BGP_RATE:-5}
echo "MODE $BGP_MODE long $LONG rate $RATE"

bgp_exit() {
	st=$?
	pair_t "exit $st"
	[ -n "$BGP_R" ] && bgp_diag
	[ -n "$PAIR_DIRECTORS" ] && pair_diag
	for ns in $C $BGP_R $D1 $D2 $D3 $D4 $R1 $R2 $R3 $R4; do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
	done
	vm_cleanup
	rm -rf "$PAIR_W"
	exit "$st"
}
trap bgp_exit EXIT

bgp_site
bgp_realservers
bgp_bird router "$BGP_R" "$(bgp_router_conf 1 2 3 4)"
[ "$BGP_MODE" = lvsd ] && [ ! -f "$REPO/dist/src/main/lvsd.js" ] && fail "no lvsd build at $REPO/dist"
pair_t site
bgp_load "site"

# bgp_start N: director N's IPVS and announcement, then its BIRD. Director 3 asks for all
# four real servers (quorum 4), the others for one.
bgp_start() {
	ns=$(eval echo "\$D$1")
	q=1
	[ "$1" = 3 ] && q=4
	if [ "$BGP_MODE" = manual ]; then
		ip netns exec "$ns" sh -c "
			sysctl -qw net.ipv4.vs.sloppy_tcp=1 net.ipv4.vs.expire_nodest_conn=1
			ip addr add $BGP_VIP/32 dev lo
			ipvsadm -A -t $BGP_VIP:80 -s mh -b mh-port,mh-fallback
			for r in 1 2 3 4; do ipvsadm -a -t $BGP_VIP:80 -r 203.0.113.2\$r:80 -g -w 1; done
			ip route add $BGP_VIP/32 dev lo table $BGP_TABLE" || fail "manual director d$1"
	else
		bgp_lvsd "$1" "$q"
	fi
	bgp_bird "d$1" "$ns" "$(bgp_director_bird_conf "$1")"
}

# bgp_drain N / bgp_undrain N: director N stops / resumes announcing.
bgp_drain() {
	if [ "$BGP_MODE" = manual ]; then
		ip -n "$(eval echo "\$D$1")" route del $BGP_VIP/32 table $BGP_TABLE
	else
		"$REPO/bin/lvsctl" --socket "$PAIR_W/d$1.sock" drain >"$PAIR_W/drain.out" 2>&1 || fail "lvsctl drain: $(cat "$PAIR_W/drain.out")"
	fi
}
bgp_undrain() {
	if [ "$BGP_MODE" = manual ]; then
		ip -n "$(eval echo "\$D$1")" route add $BGP_VIP/32 dev lo table $BGP_TABLE
	else
		"$REPO/bin/lvsctl" --socket "$PAIR_W/d$1.sock" undrain >"$PAIR_W/drain.out" 2>&1 || fail "lvsctl undrain: $(cat "$PAIR_W/drain.out")"
	fi
}

# bgp_rs_gone N: true when every director in "$BGP_LIVE" has r4 at weight 0 or not at all.
bgp_rs_gone() {
	for n in $BGP_LIVE; do
		w=$(ip netns exec "$(eval echo "\$D$n")" ipvsadm -Ln | awk '$2 == "203.0.113.24:80" { print $4 }')
		[ -z "$w" ] || [ "$w" = 0 ] || return 1
	done
}


for n in 1 2 3; do bgp_start "$n"; done
pair_t directors started
bgp_load "directors started"
bgp_wait_hops "$(bgp_want 1 2 3)" 240
pair_t announced
bgp_load "announced"
bgp_client "$LONG" "$RATE"
pair_t client ready
bgp_load "client ready"
T_ALL=$(now_ms)

# s1: three directors share the flows.
bgp_snap
a=$(now_ms)
sleep 6
# A BFD flap on a stalled machine may have the router without a session a while: wait it out.
bgp_wait_hops "$(bgp_want 1 2 3)" 60
echo "HOPS s1 $(bgp_hops)"
bgp_window s1 "$a" "$(now_ms)"
bgp_deltas s1
bgp_ipvs s1
bgp_load s1

# s2: d2 drained, then undrained.
t0=$(now_ms)
bgp_watch_local 2 absent
bgp_drain 2
bgp_wait_hops "$(bgp_want 1 3)" 30
bgp_timed WITHDRAW_MS "$t0" 2
sleep 1
bgp_snap
sleep 5
# A BFD flap on a stalled machine may have the router without a session a while: wait it out.
bgp_wait_hops "$(bgp_want 1 3)" 60
echo "HOPS s2 $(bgp_hops)"
bgp_deltas s2
bgp_window s2 "$t0" "$(now_ms)"
t1=$(now_ms)
bgp_watch_local 2 present
bgp_undrain 2
bgp_wait_hops "$(bgp_want 1 2 3)" 30
bgp_timed ANNOUNCE_MS "$t1" 2
pair_t s2 done
bgp_load "s2 done"

# s3: a fourth director starts.
t0=$(now_ms)
bgp_watch_local 4 present
bgp_start 4
bgp_wait_hops "$(bgp_want 1 2 3 4)" 240
bgp_timed JOIN_MS "$t0" 4
bgp_snap
sleep 5
# A BFD flap on a stalled machine may have the router without a session a while: wait it out.
bgp_wait_hops "$(bgp_want 1 2 3 4)" 60
echo "HOPS s3 $(bgp_hops)"
bgp_deltas s3
bgp_window s3 "$t0" "$(now_ms)"
bgp_broken_lines "$t0" "$(now_ms)"
pair_t s3 done
bgp_load "s3 done"

# s4: d1 dies.
bgp_crash 1
t0=$BGP_T0
bgp_wait_hops "$(bgp_want 2 3 4)" 60
echo "BFD_MS $(($(now_ms) - t0))"
bgp_snap
sleep 8
# A BFD flap on a stalled machine may have the router without a session a while: wait it out.
bgp_wait_hops "$(bgp_want 2 3 4)" 60
echo "HOPS s4 $(bgp_hops)"
bgp_deltas s4
bgp_window s4 "$t0" "$(now_ms)"
bgp_broken_lines "$t0" "$(now_ms)"
pair_t s4 done
bgp_load "s4 done"

# s5: r4's web server stops listening (its running downloads go on); d3 (quorum 4) loses quorum.
BGP_LIVE="2 3 4"
t0=$(now_ms)
kill "$PID_rs4"
bgp_watch_local 3 absent
if [ "$BGP_MODE" = manual ]; then
	for n in $BGP_LIVE; do
		ip netns exec "$(eval echo "\$D$n")" ipvsadm -e -t $BGP_VIP:80 -r 203.0.113.24:80 -g -w 0
	done
	ip -n "$D3" route del $BGP_VIP/32 table $BGP_TABLE
fi
end=$(($(date +%s) + 60))
until bgp_rs_gone; do
	[ "$(date +%s)" -ge "$end" ] && fail "r4 still has weight on some director 60 s after it died"
	sleep 0.2
done
echo "RS_DOWN_MS $(($(now_ms) - t0))"
bgp_wait_hops "$(bgp_want 2 4)" 60
bgp_timed QUORUM_WITHDRAW_MS "$t0" 3
sleep 1
bgp_snap
a=$(now_ms)
sleep 5
# A BFD flap on a stalled machine may have the router without a session a while: wait it out.
bgp_wait_hops "$(bgp_want 2 4)" 60
echo "HOPS s5 $(bgp_hops)"
bgp_deltas s5
bgp_window s5 "$a" "$(now_ms)"
bgp_ipvs s5
pair_t s5 done
bgp_load "s5 done"

bgp_client_stop
# A long connection reads every 10 s: one broken by r4's death may tell only after s5's
# window, so s5all runs to the client's end (s5 is the last event).
bgp_window s5all "$t0" "$(now_ms)"
bgp_broken_lines "$t0" "$(now_ms)"
bgp_window all "$T_ALL" "$(now_ms)"
bgp_router_downs "$T_ALL"
