#!/bin/sh
# The audit repairs drift: NAT picture, rr, weights 1/1, audit_interval = 2. By hand with
# ipvsadm: a third real server added to lvsd's service, rs1's weight set to 7, and a service
# lvsd does not manage (192.0.2.200:80 with one real server). lvsd must restore its own service
# and leave the other alone. Prints blocks `Sn drifted` and `Sn repaired`, REPAIR_MS (drift made
# → table back to want) or REPAIR_NEVER, and the log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../e2e/lib.sh"

e2e_nat_up 'audit_interval = 2'

# One ipvsadm -R, then the listing at once: the audit (every 2 s) may not have run in between.
printf '%s\n' \
	'-a -t 192.0.2.100:80 -r 198.51.100.13:80 -m -w 1' \
	'-e -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 7' \
	'-A -t 192.0.2.200:80 -s rr' \
	'-a -t 192.0.2.200:80 -r 198.51.100.11:80 -m -w 3' >"$E2E_DIR/drift"
echo "=== Sn drifted"
ip netns exec "$E2E_NS" sh -c 'ipvsadm -R <"$1" && ipvsadm -Sn | sort' sh "$E2E_DIR/drift" || e2e_fail "making drift with ipvsadm -R"
echo "=== end"
e2e_now; t0=$NOW
e2e_expect "$E2E_DIR/want2" \
	'-A -t 192.0.2.100:80 -s rr' \
	'-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1' \
	'-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1' \
	'-A -t 192.0.2.200:80 -s rr' \
	'-a -t 192.0.2.200:80 -r 198.51.100.11:80 -m -w 3'
if e2e_wait_table "$E2E_DIR/want2" 150; then e2e_now; echo "REPAIR_MS $((NOW - t0))"; else echo "REPAIR_NEVER $WAITED_MS"; fi
e2e_block 'Sn repaired' e2e_table
# One more audit period: the unmanaged service must still be untouched.
sleep 3
e2e_block 'Sn later' e2e_table
e2e_block 'lvsd log' cat "$E2E_LOG"
