# Helpers for the director-pair scenarios (test/vm/scenarios/pair-*.sh); source it after
# ../scenarios/lib.sh. Runs in the VM as root.
#
# Every exec of a host binary costs 30-130 ms under emulation, so the waits below loop
# inside one `ip netns exec NS sh -c` instead of exec'ing `ip` from the outside.

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
LVSD="$REPO/bin/lvsd"
RSCRIPT="$REPO/packaging/realserver/lvs-realserver"
# Scratch space in the guest's own /tmp, removed with the scenario.
PAIR_W=$(mktemp -d /tmp/pair.XXXXXX)
PAIR_DIRECTORS=""

# now_ms: a monotonic-enough clock in milliseconds (CLOCK_REALTIME; the guest has no NTP).
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# pair_bridge NAME: a bridge with multicast flooding (VRRP and the sync daemon are multicast).
pair_bridge() {
	vm_bridge "$1"
	ip link set "$1" type bridge mcast_snooping 0 forward_delay 0
}

# pair_lvsd NAME NS CONF: start lvsd in NS; its pid goes in PID_NAME, its log in $PAIR_W/NAME.log.
pair_lvsd() {
	PAIR_DIRECTORS="$PAIR_DIRECTORS $1:$2"
	ip netns exec "$2" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$2" node "$LVSD" --config "$3" >"$PAIR_W/$1.log" 2>&1 &
	eval "PID_$1=$!"
	VM_PIDS="$VM_PIDS $!"
}

# pair_wait NS SECONDS DESCRIPTION CONDITION: poll the shell CONDITION inside NS every
# 50 ms until true, or fail after SECONDS.
pair_wait() {
	ip netns exec "$1" sh -c "
		end=\$((\$(date +%s) + $2))
		until $4; do
			[ \$(date +%s) -ge \$end ] && exit 1
			sleep 0.05
		done" || fail "timed out after $2 s waiting for $3 (in $1)"
}

# has_vip IFACE ADDR: a shell condition (for pair_wait) true when IFACE holds ADDR.
has_vip() {
	echo "ip -4 -o addr show dev $1 | grep -q ' $2/'"
}

# pair_holds NS IP: how many of NS's IPv4 addresses equal IP (0 or 1).
pair_holds() {
	ip -n "$1" -4 -o addr show 2>/dev/null | grep -c " $2/"
}

# pair_crash NAME NS IFACE...: the director dies as a machine does. Every process in NS (lvsd
# is a supervisor with VRRP and director children) is frozen first, since a live VRRP process
# would see its links go and resign with a priority-0 advert, which a dead machine cannot
# send; then the links go down, then kill -9 of them all. Sets PAIR_CRASH_T0 (ms) to the start.
pair_crash() {
	PAIR_CRASH_T0=$(now_ms)
	name=$1
	n=$2
	pids=$(ip netns pids "$n")
	# shellcheck disable=SC2086
	kill -STOP $pids
	shift 2
	for i in "$@"; do ip -n "$n" link set "$i" down; done
	# shellcheck disable=SC2086
	kill -9 $pids
	echo "CRASHED $name $(echo $pids | wc -w) processes"
}

# pair_http_loop NS URL OUT: request URL from NS about every 200 ms until $PAIR_W/stop-loop
# exists, appending "REQ <start ms> <end ms> <body|FAIL>" lines to OUT; runs in the background.
pair_http_loop() {
	ip netns exec "$1" sh -c "
		while [ ! -e $PAIR_W/stop-loop ]; do
			s=\$((\$(date +%s%N) / 1000000))
			b=\$(curl -sS --max-time 1 $2 2>/dev/null) || b=FAIL
			echo \"REQ \$s \$((\$(date +%s%N) / 1000000)) \$b\"
			sleep 0.2
		done" >"$3" 2>&1 &
	VM_PIDS="$VM_PIDS $!"
	PAIR_LOOP_PID=$!
}

# pair_diag: what a failing run needs to be understood: for each director lvsd's log tail
# and the IPVS table, connections and sync daemons; printed on every exit, pass or fail.
pair_diag() {
	for d in $PAIR_DIRECTORS; do
		name=${d%%:*}
		ns=${d#*:}
		pid=$(eval echo "\${PID_$name:-}")
		echo "--- DIAG $name: lvsd pid $pid: $(ps -o stat=,time= -p "$pid" 2>/dev/null || echo gone)"
		echo "--- DIAG $name: lvsd log tail"
		tail -n 40 "$PAIR_W/$name.log" 2>/dev/null
		echo "--- DIAG $name: ipvsadm -Ln"
		ip netns exec "$ns" ipvsadm -Ln 2>&1
		echo "--- DIAG $name: ipvsadm -Lnc"
		ip netns exec "$ns" ipvsadm -Lnc 2>&1 | head -n 20
		echo "--- DIAG $name: ipvsadm -L --daemon"
		ip netns exec "$ns" ipvsadm -L --daemon 2>&1
		echo "--- DIAG $name: addresses"
		ip -n "$ns" -4 -br addr show 2>&1
	done
	for f in "$PAIR_W"/*.out; do
		[ -e "$f" ] && echo "--- DIAG $(basename "$f"): $(tr '\n' ' ' <"$f")"
	done
	echo "--- DIAG end"
}

# The failover pairs (pair-nat.sh, pair-dr.sh) share the helpers below. They expect the
# scenario's names C (client), D1, D2 (the directors d1 and d2), R1, R2 (the real servers
# r1 and r2) and VIP, and set the globals CURL (pair_download) and t0 (pair_failover).

# pair_webservers: r1 and r2 serve their name at / and the same 6 MB random file at /big
# (busybox httpd, port 80). The long download's pace: curl 7.88's --limit-rate does not hold
# on a fast link, so the real servers' uplinks are shaped instead (3 Mbit/s: 6 MB in about
# 17 s). Prints SIZE <bytes>.
pair_webservers() {
	www=$PAIR_W/www
	mkdir -p "$www/r1" "$www/r2"
	head -c 6291456 /dev/urandom >"$PAIR_W/big"
	for r in r1 r2; do
		echo "$r" >"$www/$r/index.html"
		cp "$PAIR_W/big" "$www/$r/big"
	done
	echo "SIZE $(wc -c <"$PAIR_W/big")"
	modprobe sch_tbf 2>/dev/null
	for r in $R1 $R2; do
		ip netns exec "$r" tc qdisc add dev eth0 root tbf rate 3mbit burst 16kb latency 200ms || fail "tc tbf on $r"
	done
	vm_bg ip netns exec "$R1" busybox httpd -f -p 80 -h "$www/r1"
	vm_bg ip netns exec "$R2" busybox httpd -f -p 80 -h "$www/r2"
}

# pair_instance NAME IFACE VRID PRIORITY ADDR/LEN: a VRRP v3 instance section (BACKUP at
# start, advert_int 1) holding ADDR/LEN on IFACE.
pair_instance() {
	cat <<EOF
[vrrp_instance.$1]
state = BACKUP
interface = $2
virtual_router_id = $3
priority = $4
advert_int = 1
version = 3
virtual_ipaddress[] = $5
EOF
}

# pair_conf NAME SYNC_DAEMON LB_KIND R1_ADDR R2_ADDR VRRP_SECTIONS: writes director NAME's
# lvsd.conf and prints its path: lvs_sync_daemon SYNC_DAEMON, the VRRP_SECTIONS text, and the
# virtual server $VIP:80 (rr, LB_KIND) over r1 and r2 (port 80) with a TCP_CHECK.
pair_conf() {
	mkdir -p "$PAIR_W/$1-state"
	cat >"$PAIR_W/$1.conf" <<EOF
[global]
router_id = $1
control_socket = $PAIR_W/$1.sock
state_dir = $PAIR_W/$1-state
log_level = info
lvs_sync_daemon = $2

$6

[check.tcp80]
type = TCP_CHECK
connect_timeout = 2
delay_loop = 2
retry = 1

[virtual_server.web]
address = $VIP:80
protocol = TCP
lb_algo = rr
lb_kind = $3
check = tcp80

[real_server.web.r1]
address = $4:80
weight = 1

[real_server.web.r2]
address = $5:80
weight = 1
EOF
	echo "$PAIR_W/$1.conf"
}

# pair_start CONF: starts lvsd on d1 (priority 150) and d2 (100), each with the file that
# `CONF NAME PRIORITY` writes and prints the path of, and waits until both directors have
# programmed their table with the 2 real servers.
pair_start() {
	pair_lvsd d1 "$D1" "$($1 d1 150)"
	pair_lvsd d2 "$D2" "$($1 d2 100)"
	pair_t lvsd started
	pair_wait "$D1" 120 "d1's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
	pair_wait "$D2" 120 "d2's IPVS table with 2 real servers" "[ \$(ipvsadm -Ln | grep -c '^  -> [0-9]') -eq 2 ]"
	pair_t tables ready
}

# pair_serving: waits for d1's master and d2's backup sync daemon (printing DAEMON_BEFORE
# d1|d2 <ipvsadm -L --daemon>) and for the client's first answer through the VIP.
pair_serving() {
	pair_wait "$D1" 20 "d1's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
	pair_wait "$D2" 20 "d2's backup sync daemon" "ipvsadm -L --daemon | grep -q '^backup'"
	echo "DAEMON_BEFORE d1 $(ip netns exec "$D1" ipvsadm -L --daemon | tr '\n' ';')"
	echo "DAEMON_BEFORE d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
	pair_wait "$C" 20 "an answer through the VIP" "curl -s --max-time 1 http://$VIP/ | grep -q '^r[12]\$'"
	pair_t serving
}

# pair_lnc NS [LINES]: NS's `ipvsadm -Lnc`, only its first LINES lines when given.
pair_lnc() {
	if [ -n "${2:-}" ]; then
		ip netns exec "$1" ipvsadm -Lnc | head -n "$2"
	else
		ip netns exec "$1" ipvsadm -Lnc
	fi
}

# pair_download [LINES]: the long download of /big through the VIP into $PAIR_W/dl, in the
# background (its pid in CURL); waits until it has started and until the backup d2's table
# shows its connection, held by the master d1 (printing SYNCED <ipvsadm -Lnc line>), then
# prints both directors' `ipvsadm -Lnc` (their first LINES lines when given).
pair_download() {
	ip netns exec "$C" curl -sS --max-time 150 -o "$PAIR_W/dl" -w '%{http_code}\n' "http://$VIP/big" \
		>"$PAIR_W/curl.out" 2>&1 &
	CURL=$!
	VM_PIDS="$VM_PIDS $CURL"
	pair_wait "$C" 20 "the download to start" "[ \$(wc -c <$PAIR_W/dl 2>/dev/null || echo 0) -gt 100000 ]"
	pair_t downloading
	pair_wait "$D2" 20 "the download's connection in d2's table" \
		"ipvsadm -Lnc | grep -Eq '^TCP .* ESTABLISHED +192\\.0\\.2\\.10:[0-9]+ +192\\.0\\.2\\.100:80 '"
	echo "SYNCED $(ip netns exec "$D2" ipvsadm -Lnc | grep -E 'ESTABLISHED +192\.0\.2\.10:' | head -n 1)"
	echo "--- d1 ipvsadm -Lnc (master)"
	pair_lnc "$D1" "${1:-}"
	echo "--- d2 ipvsadm -Lnc (backup)"
	pair_lnc "$D2" "${1:-}"
}

# pair_failover DESCRIPTION CONDITION IFACE...: the master d1 crashes (pair_crash, with its
# IFACEs going down); sets t0 to the crash (ms) and prints PARTIAL_AT_KILL <bytes downloaded>,
# TAKEOVER_MS once CONDITION (DESCRIPTION says what: d2 holding the VIPs) holds in d2, and
# FIRST_NEW_MS once a new request through the VIP is answered.
pair_failover() {
	_what=$1
	_cond=$2
	shift 2
	pair_crash d1 "$D1" "$@"
	t0=$PAIR_CRASH_T0
	echo "PARTIAL_AT_KILL $(wc -c <"$PAIR_W/dl")"
	pair_wait "$D2" 30 "$_what" "$_cond"
	echo "TAKEOVER_MS $(($(now_ms) - t0))"
	ip netns exec "$C" sh -c "
		end=\$((\$(date +%s) + 20))
		until curl -s --max-time 1 http://$VIP/ >/dev/null; do [ \$(date +%s) -ge \$end ] && exit 1; done" ||
		fail "no new request answered within 20 s of the takeover"
	echo "FIRST_NEW_MS $(($(now_ms) - t0))"
}

# pair_download_end: waits for the download to end and prints DOWNLOAD <curl status> <bytes>
# <same|differs> <http code> and DOWNLOAD_DONE_MS (since t0), then DAEMON_AFTER d2 <line>
# once d2 runs the master sync daemon.
pair_download_end() {
	wait "$CURL"
	rc=$?
	same=differs
	cmp -s "$PAIR_W/big" "$PAIR_W/dl" && same=same
	echo "DOWNLOAD $rc $(wc -c <"$PAIR_W/dl") $same $(tr -d '\n' <"$PAIR_W/curl.out")"
	echo "DOWNLOAD_DONE_MS $(($(now_ms) - t0))"
	pair_wait "$D2" 20 "d2's master sync daemon" "ipvsadm -L --daemon | grep -q '^master'"
	echo "DAEMON_AFTER d2 $(ip netns exec "$D2" ipvsadm -L --daemon | tr '\n' ';')"
}

# pair_t PHASE: a progress line with the scenario's elapsed time.
PAIR_T0=$(now_ms)
pair_t() {
	echo "T $(($(now_ms) - PAIR_T0)) $*"
}

pair_exit() {
	st=$?
	pair_t "exit $st"
	[ -n "$PAIR_DIRECTORS" ] && pair_diag
	# lvsd's children too: scenarios of one boot share the machine.
	for d in $PAIR_DIRECTORS; do
		# shellcheck disable=SC2046
		kill $(ip netns pids "${d#*:}") 2>/dev/null
	done
	vm_cleanup
	rm -rf "$PAIR_W"
	exit "$st"
}
trap pair_exit EXIT
