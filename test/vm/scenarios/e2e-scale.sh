#!/bin/sh
# IPVS table programming at scale, for `npm run bench -- ipvs-program`: 1,000 services ×
# 10 real servers (NAT, rr, no checks, no VRRP), programmed by three programs, each in a
# namespace of its own (IPVS tables are per namespace) and one after the other (the VM has
# two emulated CPUs; nothing else runs while one is timed):
#   ipvsadm   `ipvsadm -R` of the whole table; then `ipvsadm -R` of just the edits
#             (the floor: what a perfect diff tool would send)
#   lvsd      bin/lvsd --config; then SIGHUP with the new file
#   keepalived keepalived --check (checker process only) -f; then SIGHUP with the new file
# Three steps each:
#   cold      start → the whole table in the kernel (ipvsadm -Ln has 3 + 11,000 lines)
#   resync    1 % of the real servers (every 100th, 100 of 10,000) get weight 2 in the
#             file → the kernel's table equals the new file (ipvsadm -Sn, sorted)
#   one       one more real server's weight changed → that weight in the kernel
# Prints, per program P in IPVSADM LVSD KA:
#   P_COLD_MS P_FIRST_MS(lvsd, keepalived: start → first service) P_RESYNC_MS P_ONE_MS
#   P_SAME  yes when the final table equals the expected file
# LVSD_RSS_KB (role=KB for each lvsd process once started),
# and NODE_MS (a bare `node -e 0`), POLL_MS (one `ipvsadm -Sn | sort | cmp` of the whole
# table: the resolution of the resync figures), SERVICES…, then the logs' tails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

NSVC=${E2E_SCALE_SERVICES:-1000}
NRS=${E2E_SCALE_REALS:-10}
WANT_LINES=$((3 + NSVC + NSVC * NRS))
s=$$
L=lv$s K=ka$s R=ra$s
E2E_NS=$L
vm_netns "$L"; vm_netns "$K"; vm_netns "$R"
command -v keepalived >/dev/null 2>&1 || fail "keepalived missing (apt-get install keepalived on the host)"
W=$E2E_DIR

# weight MODE: an awk expression of i (service) and j (real server, 1-based) for MODE:
#   base  all 1;  resync  every 100th real server 2;  one  resync, and the last one 5.
weight() {
	case $1 in
	base) echo '1' ;;
	resync) echo '(((i * m + j) % 100 == 0) ? 2 : 1)' ;;
	one) echo '((i == n - 1 && j == m) ? 5 : (((i * m + j) % 100 == 0) ? 2 : 1))' ;;
	esac
}
gen() { # gen FORMAT MODE > file
	awk -v n="$NSVC" -v m="$NRS" -v fmt="$1" -v sock="$E2E_SOCK" -v st="$W/state" "BEGIN {
		if (fmt == \"lvsd\") printf \"[global]\\nrouter_id = e2e-scale\\ncontrol_socket = %s\\nstate_dir = %s\\nlog_level = info\\n\\n\", sock, st
		if (fmt == \"ka\") printf \"global_defs {\\n  router_id ka-scale\\n}\\n\"
		for (i = 0; i < n; i++) {
			p = 1000 + i
			if (fmt == \"lvsd\") printf \"[virtual_server.s%d]\\naddress = 192.0.2.100:%d\\nprotocol = TCP\\nlb_algo = rr\\nlb_kind = NAT\\n\\n\", i, p
			if (fmt == \"ka\") printf \"virtual_server 192.0.2.100 %d {\\n  delay_loop 60\\n  lb_algo rr\\n  lb_kind NAT\\n  protocol TCP\\n\", p
			if (fmt == \"restore\") printf \"-A -t 192.0.2.100:%d -s rr\\n\", p
			for (j = 1; j <= m; j++) {
				w = $(weight "$2")
				if (fmt == \"lvsd\") printf \"[real_server.s%d.r%d]\\naddress = 198.51.100.%d:80\\nweight = %d\\n\\n\", i, j, j, w
				if (fmt == \"ka\") printf \"  real_server 198.51.100.%d 80 {\\n    weight %d\\n  }\\n\", j, w
				if (fmt == \"restore\") printf \"-a -t 192.0.2.100:%d -r 198.51.100.%d:80 -m -w %d\\n\", p, j, w
			}
			if (fmt == \"ka\") printf \"}\\n\"
		}
	}"
}
for mode in base resync one; do
	gen restore $mode >"$W/restore.$mode"
	sort "$W/restore.$mode" >"$W/sorted.$mode"
done
gen lvsd base >"$W/lvsd.conf"
gen ka base >"$W/ka.conf"
# The edits alone, as ipvsadm -R input: the lines whose weight differs from the step before.
sed 's/^-a /-e /' "$W/restore.resync" | diff - "$(sed 's/^-a /-e /' "$W/restore.base" >"$W/e.base"; echo "$W/e.base")" |
	sed -n 's/^< //p' >"$W/edits.resync"
sed 's/^-a /-e /' "$W/restore.one" | diff - "$(sed 's/^-a /-e /' "$W/restore.resync" >"$W/e.resync"; echo "$W/e.resync")" |
	sed -n 's/^< //p' >"$W/edits.one"
echo "SERVICES $NSVC REALS_PER_SERVICE $NRS WANT_LINES $WANT_LINES CONF_LINES $(wc -l <"$W/lvsd.conf") KA_CONF_LINES $(wc -l <"$W/ka.conf") RESYNC_EDITS $(wc -l <"$W/edits.resync") ONE_EDITS $(wc -l <"$W/edits.one")"
[ "$(wc -l <"$W/edits.resync")" -eq $((NSVC * NRS / 100)) ] || fail "expected $((NSVC * NRS / 100)) resync edits"
[ "$(wc -l <"$W/edits.one")" -eq 1 ] || fail "expected 1 edit for the last step"
LAST="192.0.2.100:$((1000 + NSVC - 1))"

# same NS MODE: true when NS's table equals the file of MODE.
same() {
	ip netns exec "$1" ipvsadm -Sn | sort | cmp -s - "$W/sorted.$2"
}

# cold NS PID LIMIT_S: poll NS's table every 0.2 s from t0 until it is whole; sets
# FIRST (first service seen) and DONE (ms since t0); fails if PID exits or LIMIT_S passes.
cold() {
	FIRST=""
	DONE=""
	while :; do
		n=$(ip netns exec "$1" ipvsadm -Ln | wc -l)
		e2e_now
		[ -z "$FIRST" ] && [ "$n" -gt 3 ] && FIRST=$((NOW - t0))
		if [ "$n" -ge "$WANT_LINES" ]; then DONE=$((NOW - t0)); return 0; fi
		kill -0 "$2" 2>/dev/null || e2e_fail "pid $2 exited while programming ($n of $WANT_LINES lines)"
		[ $((NOW - t0)) -gt $(($3 * 1000)) ] && e2e_fail "table incomplete after $3 s: $n of $WANT_LINES lines"
		sleep 0.2
	done
}

# until_ok LIMIT_S WHAT COMMAND...: run COMMAND until it succeeds; sets DONE (ms since t0).
until_ok() {
	_limit=$1 _what=$2
	shift 2
	while ! "$@"; do
		e2e_now
		[ $((NOW - t0)) -gt $((_limit * 1000)) ] && e2e_fail "$_what: not within $_limit s"
	done
	e2e_now
	DONE=$((NOW - t0))
}

# has_weight NS WEIGHT: the last service's last real server has WEIGHT in NS's kernel.
has_weight() {
	ip netns exec "$1" ipvsadm -Ln -t "$LAST" | grep -Eq "198\\.51\\.100\\.$NRS:80 +Masq +$2 "
}

# reloads P NS PID FORMAT CONF: the resync and one-change steps of daemon P (LVSD, KA), which
# re-reads CONF (written by gen FORMAT) on SIGHUP.
reloads() {
	gen "$4" resync >"$5"
	e2e_now; t0=$NOW
	kill -HUP "$3"
	until_ok 300 "$1's table equal to the resync file" same "$2" resync
	echo "${1}_RESYNC_MS $DONE"
	gen "$4" one >"$5"
	e2e_now; t0=$NOW
	kill -HUP "$3"
	until_ok 300 "weight 5 in $1's table" has_weight "$2" 5
	echo "${1}_ONE_MS $DONE"
	echo "${1}_SAME $(same "$2" one && echo yes || echo no)"
}

e2e_now; t0=$NOW
node -e 0
e2e_now; echo "NODE_MS $((NOW - t0))"

# --- ipvsadm
e2e_now; t0=$NOW
ip netns exec "$R" ipvsadm -R <"$W/restore.base" || fail "ipvsadm -R"
e2e_now; echo "IPVSADM_COLD_MS $((NOW - t0))"
same "$R" base || fail "ipvsadm -R left a table unlike its file"
e2e_now; t0=$NOW
same "$R" base
e2e_now; echo "POLL_MS $((NOW - t0))"
e2e_now; t0=$NOW
ip netns exec "$R" ipvsadm -R <"$W/edits.resync" || fail "ipvsadm -R of the edits"
e2e_now; echo "IPVSADM_RESYNC_MS $((NOW - t0))"
e2e_now; t0=$NOW
ip netns exec "$R" ipvsadm -R <"$W/edits.one" || fail "ipvsadm -R of one edit"
e2e_now; echo "IPVSADM_ONE_MS $((NOW - t0))"
echo "IPVSADM_SAME $(same "$R" one && echo yes || echo no)"
ip netns exec "$R" ipvsadm -C

# --- lvsd
e2e_now; t0=$NOW
ip netns exec "$L" node "$E2E_LVSD" --config "$W/lvsd.conf" >>"$E2E_LOG" 2>&1 &
E2E_LVSD_PID=$!
VM_PIDS="$VM_PIDS $!"
cold "$L" "$E2E_LVSD_PID" 600
echo "LVSD_FIRST_MS $FIRST"
echo "LVSD_COLD_MS $DONE"
echo "LVSD_COLD_SAME $(same "$L" base && echo yes || echo no)"
# The reloads start once lvsd has finished starting (its log says so).
i=0
until [ "$(e2e_started_count)" -gt 0 ]; do
	i=$((i + 1)); [ "$i" -gt 600 ] && e2e_fail "lvsd never logged 'lvsd started'"; sleep 0.2
done
# Resident memory of every lvsd process (KB) once it has started: LVSD_RSS_KB role=KB ...
sleep 2 # the standby VRRP process is forked 1 s after the VRRP process is ready
echo "LVSD_RSS_KB $(ps -e -o pid=,ppid=,rss=,args= | awk -v root="$E2E_LVSD_PID" '
	{ pid[NR] = $1; ppid[NR] = $2; rss[NR] = $3; a = ""; for (i = 4; i <= NF; i++) a = a " " $i; args[NR] = a }
	END {
		mine[root] = 1
		for (more = 1; more; ) { more = 0; for (i = 1; i <= NR; i++) if (!(pid[i] in mine) && (ppid[i] in mine)) { mine[pid[i]] = 1; more = 1 } }
		for (i = 1; i <= NR; i++) if (pid[i] in mine) {
			role = "parent"
			if (args[i] ~ /child\.js vrrp/) role = (args[i] ~ /--standby/) ? "vrrp-standby" : "vrrp"
			else if (args[i] ~ /child\.js director/) role = "director"
			else if (args[i] ~ /worker\.js/) role = "checker"
			printf "%s=%d ", role, rss[i]
		}
	}')"
reloads LVSD "$L" "$E2E_LVSD_PID" lvsd "$W/lvsd.conf"
e2e_lvsd_stop
echo "LVSD_EXIT $LVSD_EXIT"

# --- keepalived (its checker process alone: -C; no VRRP configured)
KA_LOG=$W/keepalived.log
e2e_now; t0=$NOW
ip netns exec "$K" keepalived -n -l -D -C -f "$W/ka.conf" -p "$W/ka.pid" -c "$W/ka-check.pid" -r "$W/ka-vrrp.pid" \
	>"$KA_LOG" 2>&1 &
KA_PID=$!
VM_PIDS="$VM_PIDS $!"
cold "$K" "$KA_PID" 600
echo "KA_FIRST_MS $FIRST"
echo "KA_COLD_MS $DONE"
echo "KA_COLD_SAME $(same "$K" base && echo yes || echo no)"
reloads KA "$K" "$KA_PID" ka "$W/ka.conf"
kill -TERM "$KA_PID"
wait "$KA_PID"
echo "KA_EXIT $?"

echo "=== lvsd log (head and tail)"
head -n 5 "$E2E_LOG"
echo "..."
tail -n 8 "$E2E_LOG"
echo "=== keepalived log (tail)"
tail -n 12 "$KA_LOG"
echo "=== end"
