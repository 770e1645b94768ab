# Helpers for the scale-out test bed (test/vm/scenarios/bgp-*.sh); source it after
# ../scenarios/lib.sh and ../pair/lib.sh. Runs in the VM as root (the routing part, BIRD and
# the kernel tables, runs on the host's kernel as well; IPVS needs the VM's).
#
# The site, all on documentation ranges:
#
#   client 198.51.100.10 --- 198.51.100.1 router 203.0.113.1 ---+--- d1..d4 203.0.113.11-14
#                                                                 +--- r1..r4 203.0.113.21-24
#   VIP 192.0.2.100:80 (TCP), DR: the real servers hold it on lo and answer the client
#   through the router; the directors hold it on lo and forward by MAC.
#
# The router runs BIRD 2 with one BGP session (and BFD, 100 ms x 3) per director and puts the
# VIP's best routes into its kernel as one multipath route (merge paths on, L4 hashing). Each
# director runs BIRD, whose kernel protocol learns kernel table 100 and exports it to the
# router with next hop self; whoever fills table 100 (lvsd, or `ip route` in manual mode)
# decides what the director announces.

BGP_VIP=192.0.2.100
BGP_TABLE=100
BGP_ROUTER=203.0.113.1
BIRD=${BIRD:-/usr/sbin/bird}
# BFD on every session: interval (ms) and multiplier, the same on both ends. 100 ms x 3 (the
# issue's figure, fine on an idle machine) flapped every few seconds in this emulated VM on a
# busy 2-core host (sessions lost at once on all directors: the guest stalls > 300 ms), so
# the bed detects in 2 s, still fifteen times faster than the 30 s hold time.
BGP_BFD_MS=${BGP_BFD_MS:-400}
BGP_BFD_MULT=${BGP_BFD_MULT:-5}
CLIENT_JS="$REPO/dist/test/vm/bgp/client.js"

# bgp_dir_addr N: director N's address.
bgp_dir_addr() {
	echo "203.0.113.1$1"
}

# bgp_rs_addr N: real server N's address.
bgp_rs_addr() {
	echo "203.0.113.2$1"
}

# bgp_router_conf DIRECTORS...: the router's bird.conf (one BGP session per director number).
bgp_router_conf() {
	f=$PAIR_W/router-bird.conf
	cat >"$f" <<EOF
log "$PAIR_W/router-bird.log" all;
debug protocols { states };
router id $BGP_ROUTER;
protocol device { scan time 10; }
# One route with every director's path as a next hop (ECMP).
protocol kernel {
	merge paths on;
	ipv4 { import none; export all; };
}
protocol bfd {
	interface "eth0" { min rx interval $BGP_BFD_MS ms; min tx interval $BGP_BFD_MS ms; multiplier $BGP_BFD_MULT; };
}
# Hold time 30 s: a director that leaves faster than that was seen by BFD, not by BGP.
template bgp director {
	local $BGP_ROUTER as 65000;
	bfd on;
	graceful restart off;
	connect retry time 1;
	error wait time 1, 5;
	hold time 30;
	keepalive time 10;
	ipv4 { import all; export none; };
}
EOF
	for n in "$@"; do
		echo "protocol bgp d$n from director { neighbor $(bgp_dir_addr "$n") as 65001; }" >>"$f"
	done
	echo "$f"
}

# bgp_director_bird_conf N: director N's bird.conf: table 100 learned, exported to the router.
bgp_director_bird_conf() {
	f=$PAIR_W/d$1-bird.conf
	cat >"$f" <<EOF
log "$PAIR_W/d$1-bird.log" all;
router id $(bgp_dir_addr "$1");
ipv4 table vips;
protocol device { scan time 10; }
# What lvsd announces: its routes in kernel table $BGP_TABLE.
protocol kernel kvips {
	kernel table $BGP_TABLE;
	learn;
	scan time 10;
	ipv4 { table vips; import all; export none; };
}
protocol bfd {
	interface "eth0" { min rx interval $BGP_BFD_MS ms; min tx interval $BGP_BFD_MS ms; multiplier $BGP_BFD_MULT; };
}
protocol bgp uplink {
	local $(bgp_dir_addr "$1") as 65001;
	neighbor $BGP_ROUTER as 65000;
	bfd on;
	graceful restart off;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	hold time 30;
	keepalive time 10;
	ipv4 { table vips; import none; export all; next hop self; };
}
EOF
	echo "$f"
}

# bgp_bird NAME NS CONF: BIRD in NS in the foreground (pid in PID_bird_NAME), control socket
# $PAIR_W/NAME-bird.ctl. Real-time priority: on a router BFD's 100 ms timers must not wait
# behind the client and the web servers of this one small VM.
bgp_bird() {
	ip netns exec "$2" chrt -f 10 "$BIRD" -f -c "$3" -s "$PAIR_W/$1-bird.ctl" -P "$PAIR_W/$1-bird.pid" \
		>>"$PAIR_W/$1-bird.out" 2>&1 &
	eval "PID_bird_$1=$!"
	VM_PIDS="$VM_PIDS $!"
}

# bgp_hops: the router's next hops for the VIP, sorted, comma-separated ("" when none).
bgp_hops() {
	ip -n "$BGP_R" -4 route show "$BGP_VIP/32" | grep -o 'via [0-9.]*' | cut -d' ' -f2 | sort | paste -sd, -
}

# bgp_want N...: the hop list the router has when exactly directors N... announce.
bgp_want() {
	for n in "$@"; do bgp_dir_addr "$n"; done | sort | paste -sd, -
}

# bgp_wait_hops WANT SECONDS: poll (inside the router namespace) until the VIP's next hops
# are WANT; prints nothing; fails after SECONDS.
bgp_wait_hops() {
	ip netns exec "$BGP_R" sh -c "
		end=\$((\$(date +%s) + $2))
		until [ \"\$(ip -4 route show $BGP_VIP/32 | grep -o 'via [0-9.]*' | cut -d' ' -f2 | sort | paste -sd, -)\" = '$1' ]; do
			[ \$(date +%s) -ge \$end ] && exit 1
			sleep 0.02
		done" || fail "the router's next hops for $BGP_VIP are '$(bgp_hops)', not '$1' after $2 s"
}

# bgp_site: namespaces, links and addresses of the whole site (directors' and real servers'
# daemons are started separately). Sets C, BGP_R, D1..D4, R1..R4.
bgp_site() {
	s=$$
	C=c$s BGP_R=rt$s
	D1=d1$s D2=d2$s D3=d3$s D4=d4$s R1=r1$s R2=r2$s R3=r3$s R4=r4$s
	for ns in $C $BGP_R $D1 $D2 $D3 $D4 $R1 $R2 $R3 $R4; do vm_netns "$ns"; done
	vm_bridge "bu$s"
	ip link set "bu$s" type bridge forward_delay 0
	vm_attach "$BGP_R" eth0 "bu$s" $BGP_ROUTER/24
	for n in 1 2 3 4; do
		vm_attach "$(eval echo "\$D$n")" eth0 "bu$s" "$(bgp_dir_addr "$n")/24"
		vm_attach "$(eval echo "\$R$n")" eth0 "bu$s" "$(bgp_rs_addr "$n")/24"
	done
	# The client's link: a veth straight into the router.
	ip link add "cl$s" type veth peer name eth1 netns "$BGP_R" || fail "veth cl$s"
	VM_LINKS="$VM_LINKS cl$s"
	ip link set "cl$s" netns "$C"
	ip -n "$C" link set "cl$s" name eth0
	ip -n "$C" addr add 198.51.100.10/24 dev eth0
	ip -n "$C" link set eth0 up
	ip -n "$C" route add default via 198.51.100.1
	ip -n "$BGP_R" addr add 198.51.100.1/24 dev eth1
	ip -n "$BGP_R" link set eth1 up
	ip netns exec "$BGP_R" sh -c 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1'
	# Small receive buffers: the client's slow reads close the window and keep downloads slow.
	ip netns exec "$C" sysctl -qw net.ipv4.tcp_rmem="4096 4096 4096"
	for n in 1 2 3 4; do
		ns=$(eval echo "\$D$n")
		ip -n "$ns" route add default via $BGP_ROUTER
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	done
}

# bgp_realservers: r1..r4 as DR real servers (VIP on lo, arp_ignore/arp_announce, replies
# through the router), each busybox httpd serving its name at / and a 16 MB /big that
# starts with its name. pids of the listeners in PID_rs1..4.
bgp_realservers() {
	head -c 16777216 /dev/zero >"$PAIR_W/zero"
	for n in 1 2 3 4; do
		ns=$(eval echo "\$R$n")
		mkdir -p "$PAIR_W/www/r$n"
		echo "r$n" >"$PAIR_W/www/r$n/index.html"
		{ echo "r$n"; cat "$PAIR_W/zero"; } >"$PAIR_W/www/r$n/big"
		ip -n "$ns" addr add $BGP_VIP/32 dev lo
		ip netns exec "$ns" sh -c 'sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2'
		ip -n "$ns" route add default via $BGP_ROUTER
		ip netns exec "$ns" busybox httpd -f -p 80 -h "$PAIR_W/www/r$n" &
		eval "PID_rs$n=$!"
		VM_PIDS="$VM_PIDS $!"
	done
	rm -f "$PAIR_W/zero"
}

# bgp_client LONG RATE: the client (client.ts) in the background, log $PAIR_W/client.log;
# waits until its LONG connections are up (READY). Each long connection reads every
# $BGP_READ_MS (10 s): enough to meet a reset, light enough for the emulated VM.
bgp_client() {
	: >"$PAIR_W/client.log"
	ip netns exec "$C" node "$CLIENT_JS" --vip $BGP_VIP --port 80 --long "$1" --rate "$2" --read-ms "${BGP_READ_MS:-10000}" \
		--out "$PAIR_W/client.log" >"$PAIR_W/client.out" 2>&1 &
	BGP_CLIENT_PID=$!
	VM_PIDS="$VM_PIDS $!"
	end=$(($(date +%s) + 240))
	until grep -q '^READY ' "$PAIR_W/client.log"; do
		[ "$(date +%s)" -ge "$end" ] && fail "the client's $1 long connections not up in 240 s: $(grep -c '^LONG_UP' "$PAIR_W/client.log") up, $(grep -c '^BROKEN' "$PAIR_W/client.log") broken; $(tail -n 3 "$PAIR_W/client.out")"
		kill -0 "$BGP_CLIENT_PID" 2>/dev/null || fail "the client died: $(tail -n 5 "$PAIR_W/client.out")"
		sleep 0.5
	done
}

# bgp_client_stop: SIGTERM to the client, which appends END; prints CLIENT_END <END line>.
bgp_client_stop() {
	kill -TERM "$BGP_CLIENT_PID" 2>/dev/null
	wait "$BGP_CLIENT_PID" 2>/dev/null
	echo "CLIENT_END $(grep '^END ' "$PAIR_W/client.log" | tail -n 1 | cut -d' ' -f3-)"
}

# bgp_window NAME FROM TO: the client's facts between FROM and TO (ms): prints
#   WINDOW NAME new_ok <n> new_fail <n> new_slow <n> broken <n> last_bad <ms after FROM|-> rs <r1:n,...>
# new_slow: answered, but after more than 1 s (a lost SYN retransmitted); last_bad: the end
# of the last failed or slow new connection started in the window, counted from FROM.
bgp_window() {
	awk -v name="$1" -v a="$2" -v b="$3" '
		$1 == "NEW" && $2 >= a && $2 < b {
			if ($4 ~ /^FAIL/) { fail++; bad = $3 }
			else { ok++; rs[$4]++; if ($3 - $2 > 1000) { slow++; bad = $3 } }
		}
		$1 == "BROKEN" && $2 >= a && $2 < b { broken++ }
		END {
			list = ""
			for (r in rs) list = list (list == "" ? "" : ",") r ":" rs[r]
			printf "WINDOW %s new_ok %d new_fail %d new_slow %d broken %d last_bad %s rs %s\n", name, ok, fail, slow, broken, (bad == "" ? "-" : bad - a), (list == "" ? "-" : list)
		}' "$PAIR_W/client.log"
}

# bgp_broken_lines FROM TO: the client's BROKEN lines in the window, as BROKEN_AT <ms after FROM> <id> <rs> <reason>.
bgp_broken_lines() {
	awk -v a="$1" -v b="$2" '$1 == "BROKEN" && $2 >= a && $2 < b { print "BROKEN_AT", $2 - a, $3, $4, $5 }' "$PAIR_W/client.log"
}

# bgp_stats N: director N's IPVS counters for the VIP: "<conns> <inpkts>" (0 0 when none).
bgp_stats() {
	ip netns exec "$(eval echo "\$D$1")" ipvsadm -Ln --stats --exact 2>/dev/null |
		awk -v v="$BGP_VIP:80" '$1 == "TCP" && $2 == v { print $3, $4; f = 1 } END { if (!f) print 0, 0 }'
}

# bgp_snap: every director's counters into BGP_SNAP_<n>.
bgp_snap() {
	for n in 1 2 3 4; do eval "BGP_SNAP_$n=\"$(bgp_stats "$n")\""; done
}

# bgp_deltas NAME: prints DIRECTORS NAME d<n>=<new conns>/<in packets> for each director
# since the last bgp_snap (counters that went away, a dead director's, show as -).
bgp_deltas() {
	line="DIRECTORS $1"
	for n in 1 2 3 4; do
		set -- $(eval echo "\$BGP_SNAP_$n") $(bgp_stats "$n")
		if [ "$3 $4" = "0 0" ] && [ "$1 $2" != "0 0" ]; then
			line="$line d$n=-"
		else
			line="$line d$n=$(($3 - $1))/$(($4 - $2))"
		fi
	done
	echo "$line"
}

# bgp_ipvs TAG: every live director's `ipvsadm -Ln`, as IPVS TAG d<n> <line> lines.
bgp_ipvs() {
	for n in 1 2 3 4; do
		ns=$(eval echo "\$D$n")
		ip netns exec "$ns" ipvsadm -Ln 2>/dev/null | sed "s/^/IPVS $1 d$n /"
	done
}

# bgp_crash N: director N dies as a machine does: every process in its namespace frozen,
# its link down, then killed. Sets BGP_T0 (ms) to the start.
bgp_crash() {
	ns=$(eval echo "\$D$1")
	BGP_T0=$(now_ms)
	pids=$(ip netns pids "$ns")
	# shellcheck disable=SC2086
	kill -STOP $pids
	ip -n "$ns" link set eth0 down
	# shellcheck disable=SC2086
	kill -9 $pids
	echo "CRASHED d$1 $(echo $pids | wc -w) processes"
}

# bgp_diag: the router's and each director's BIRD view, printed on exit.
bgp_diag() {
	echo "--- DIAG router: ip route $BGP_VIP"
	ip -n "$BGP_R" route show "$BGP_VIP/32" 2>&1
	if [ -S "$PAIR_W/router-bird.ctl" ]; then
		echo "--- DIAG router: birdc show protocols"
		birdc -s "$PAIR_W/router-bird.ctl" show protocols 2>&1
		echo "--- DIAG router: birdc show bfd sessions"
		birdc -s "$PAIR_W/router-bird.ctl" show bfd sessions 2>&1
	fi
	echo "--- DIAG router: bird log tail"
	grep -v -e 'Started$' -e 'Initializing$' -e 'Starting$' "$PAIR_W/router-bird.log" 2>/dev/null | tail -n 30
	for n in 1 2 3 4; do
		[ -S "$PAIR_W/d$n-bird.ctl" ] || continue
		echo "--- DIAG d$n: ip route table $BGP_TABLE; birdc show route"
		ip -n "$(eval echo "\$D$n")" route show table $BGP_TABLE 2>&1
		birdc -s "$PAIR_W/d$n-bird.ctl" show route table vips all 2>&1 | head -n 20
	done
	for f in "$PAIR_W"/*-bird.out "$PAIR_W/client.out"; do
		[ -s "$f" ] && echo "--- DIAG $(basename "$f"): $(tail -n 5 "$f" | tr '\n' ' ')"
	done
	echo "--- DIAG client.log tail"
	tail -n 5 "$PAIR_W/client.log" 2>/dev/null
}

# bgp_watch_local N present|absent: in the background, waits (60 s at most) until director N's
# table 100 has (present) or lacks (absent) the VIP's route and writes that moment (ms) to
# $PAIR_W/local-N; bgp_local N waits for it and prints it ("-" when it never came).
bgp_watch_local() {
	rm -f "$PAIR_W/local-$1"
	neg=
	[ "$2" = absent ] && neg='!'
	ip netns exec "$(eval echo "\$D$1")" sh -c "
		end=\$((\$(date +%s) + 60))
		until $neg ip -4 route show table $BGP_TABLE 2>/dev/null | grep -q '^$BGP_VIP '; do
			[ \$(date +%s) -ge \$end ] && exit 1
			sleep 0.02
		done
		echo \$((\$(date +%s%N) / 1000000)) >$PAIR_W/local-$1" &
	BGP_WATCH_PID=$!
}
bgp_local() {
	wait "$BGP_WATCH_PID"
	cat "$PAIR_W/local-$1" 2>/dev/null || echo -
}

# bgp_timed KEY T0 N: after the router converged (now), prints KEY <ms since T0> <ms since
# director N's table 100 changed (bgp_watch_local), or ->.
bgp_timed() {
	_tr=$(now_ms)
	_tl=$(bgp_local "$3")
	if [ "$_tl" = - ]; then
		echo "$1 $((_tr - $2)) -"
	else
		echo "$1 $((_tr - $2)) $((_tr - _tl))"
	fi
}

# bgp_router_downs T0: each BGP session the router lost, from its BIRD log, as
# ROUTER_DOWN <ms since T0> <director> (a crash, or BFD seeing a live director miss 300 ms).
bgp_router_downs() {
	grep -E ' d[0-9]: State changed to stop' "$PAIR_W/router-bird.log" 2>/dev/null | while read -r day time _ proto _; do
		echo "ROUTER_DOWN $(($(date -d "$day $time" +%s%3N) - $1)) ${proto%:}"
	done
}

# bgp_lvsd N QUORUM: lvsd on director N (pair_lvsd: pid in PID_dN, log $PAIR_W/dN.log):
# virtual server 192.0.2.100:80, mh with mh-port, DR, r1..r4 in that order, TCP_CHECK every
# second, the given quorum, announced over BGP through table 100 and the director's BIRD.
bgp_lvsd() {
	mkdir -p "$PAIR_W/d$1-state"
	cat >"$PAIR_W/d$1.conf" <<EOC
[global]
router_id = d$1
control_socket = $PAIR_W/d$1.sock
state_dir = $PAIR_W/d$1-state
log_level = info

[bgp]
bird_socket = $PAIR_W/d$1-bird.ctl
route_table = $BGP_TABLE
vip_interface = lo
bfd = true
sysctls = true

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
quorum = $2
announce = bgp
check = tcp80
EOC
	for r in 1 2 3 4; do
		printf '\n[real_server.web.r%s]\naddress = %s:80\nweight = 1\n' "$r" "$(bgp_rs_addr "$r")" >>"$PAIR_W/d$1.conf"
	done
	pair_lvsd "d$1" "$(eval echo "\$D$1")" "$PAIR_W/d$1.conf"
}

# bgp_load WHAT: the guest's load, as LOAD <WHAT> <1-min loadavg> <cpu busy % since the last call>.
bgp_load() {
	set -- "$1" $(head -n 1 /proc/stat)
	_busy=$(($3 + $4 + $5 + $8 + $9)) _all=$(($3 + $4 + $5 + $6 + $7 + $8 + $9))
	echo "LOAD $1 $(cut -d' ' -f1 /proc/loadavg) $(((_busy - ${BGP_BUSY:-0}) * 100 / (_all - ${BGP_ALL:-0} + 1)))"
	BGP_BUSY=$_busy BGP_ALL=$_all
	[ -n "${BGP_TOP:-}" ] && top -b -n 1 -w 150 | head -n 25 | sed 's/^/TOP /'
}
