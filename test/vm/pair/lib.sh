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
