#!/bin/sh
# Cold programming at scale: 1,000 services × 10 real servers (NAT, rr, no checks, no VRRP).
# Measures, in one boot:
#   LVSD_FIRST_MS     lvsd exec → first service visible in ipvsadm -Ln
#   LVSD_MS           lvsd exec → table complete (ipvsadm -Ln has 3 + 11,000 lines)
#   RESTORE_MS        `ipvsadm -R` of the same table into an empty namespace
#   INCREMENTAL_MS    one weight changed in the file, SIGHUP → the new weight in ipvsadm
#   NODE_MS           a bare `node -e 0` in the guest, for scale (lvsd's figure includes one)
# and the line `cold-program ms: lvsd=… ipvsadm-restore=… incremental=…`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

NSVC=${E2E_SCALE_SERVICES:-1000}
NRS=${E2E_SCALE_REALS:-10}
WANT_LINES=$((3 + NSVC + NSVC * NRS))
s=$$
D=d$s D2=dr$s
E2E_NS=$D
vm_netns "$D"; vm_netns "$D2"
conf=$E2E_DIR/lvsd.conf
gen_conf() {
	awk -v n="$NSVC" -v m="$NRS" -v sock="$E2E_SOCK" -v st="$E2E_DIR/state" -v w="$1" 'BEGIN {
		printf "[global]\nrouter_id = e2e-scale\ncontrol_socket = %s\nstate_dir = %s\nlog_level = info\n\n", sock, st
		for (i = 0; i < n; i++) {
			printf "[virtual_server.s%d]\naddress = 192.0.2.100:%d\nprotocol = TCP\nlb_algo = rr\nlb_kind = NAT\n\n", i, 1000 + i
			for (j = 1; j <= m; j++) printf "[real_server.s%d.r%d]\naddress = 198.51.100.%d:80\nweight = %d\n\n", i, j, j, (i == n - 1 && j == m) ? w : 1
		}
	}' >"$conf"
}
gen_conf 1
awk -v n="$NSVC" -v m="$NRS" 'BEGIN {
	for (i = 0; i < n; i++) {
		printf "-A -t 192.0.2.100:%d -s rr\n", 1000 + i
		for (j = 1; j <= m; j++) printf "-a -t 192.0.2.100:%d -r 198.51.100.%d:80 -m -w 1\n", 1000 + i, j
	}
}' >"$E2E_DIR/restore"
echo "SERVICES $NSVC REALS_PER_SERVICE $NRS WANT_LINES $WANT_LINES CONF_LINES $(wc -l <"$conf")"

e2e_now; t0=$NOW
node -e 0
e2e_now; echo "NODE_MS $((NOW - t0))"

e2e_now; t0=$NOW
ip netns exec "$E2E_NS" node "$E2E_LVSD" --config "$conf" >>"$E2E_LOG" 2>&1 &
E2E_LVSD_PID=$!
VM_PIDS="$VM_PIDS $!"
first=""
done_ms=""
i=0
while [ "$i" -lt 3000 ]; do
	n=$(e2e_ipvs -Ln | wc -l)
	e2e_now
	[ -z "$first" ] && [ "$n" -gt 3 ] && first=$((NOW - t0))
	if [ "$n" -ge "$WANT_LINES" ]; then done_ms=$((NOW - t0)); break; fi
	kill -0 "$E2E_LVSD_PID" 2>/dev/null || e2e_fail "lvsd exited while programming"
	[ $((NOW - t0)) -gt 400000 ] && break
	i=$((i + 1))
	sleep 0.2
done
[ -n "$done_ms" ] || e2e_fail "table incomplete after $((NOW - t0)) ms: $n of $WANT_LINES lines"
echo "LVSD_FIRST_MS $first"
echo "LVSD_MS $done_ms"
echo "LVSD_LINES $(e2e_ipvs -Ln | wc -l)"
echo "LVSD_SN_SAME_AS_RESTORE_FILE $(e2e_ipvs -Sn | sort | cmp -s - "$(sort "$E2E_DIR/restore" >"$E2E_DIR/restore.sorted"; echo "$E2E_DIR/restore.sorted")" && echo yes || echo no)"

e2e_now; t0=$NOW
ip netns exec "$D2" ipvsadm -R <"$E2E_DIR/restore" || fail "ipvsadm -R"
e2e_now; restore=$((NOW - t0))
echo "RESTORE_MS $restore"
echo "RESTORE_LINES $(ip netns exec "$D2" ipvsadm -Ln | wc -l)"

# Wait until lvsd has finished starting (its log says so) before the reload.
i=0
until [ "$(e2e_started_count)" -gt 0 ]; do
	i=$((i + 1)); [ "$i" -gt 600 ] && e2e_fail "lvsd never logged 'lvsd started'"; sleep 0.2
done
gen_conf 5
last=$((1000 + NSVC - 1))
e2e_now; t0=$NOW
kill -HUP "$E2E_LVSD_PID"
inc=""
i=0
while [ "$i" -lt 3000 ]; do
	if e2e_ipvs -Ln -t "192.0.2.100:$last" | grep -Eq "198\\.51\\.100\\.$NRS:80 +Masq +5 "; then e2e_now; inc=$((NOW - t0)); break; fi
	e2e_now; [ $((NOW - t0)) -gt 120000 ] && break
	i=$((i + 1))
done
[ -n "$inc" ] || e2e_fail "the weight change never reached the kernel within 120 s"
echo "INCREMENTAL_MS $inc"
echo "INCREMENTAL_DIFF_LINES $(e2e_ipvs -Sn | sort | diff - "$E2E_DIR/restore.sorted" | grep -c '^[<>]')"
echo "cold-program ms: lvsd=$done_ms ipvsadm-restore=$restore incremental=$inc"
echo "=== lvsd log (head and tail)"
head -n 5 "$E2E_LOG"
echo "..."
tail -n 8 "$E2E_LOG"
echo "LOG_LINES $(wc -l <"$E2E_LOG")"
echo "=== end"
