# Helpers shared by the guest-side scenarios; source it with
#   . "$(dirname "$0")/lib.sh"
# Everything here runs inside the VM as root. Names carry the scenario's PID so scenarios
# sharing one boot cannot collide; each scenario deletes what it made (vm_cleanup on EXIT).

VM_NETNS=""
VM_LINKS=""
VM_PIDS=""

# fail MESSAGE: say why and stop the scenario with status 1.
fail() {
	echo "FAIL: $*"
	exit 1
}

# vm_netns NAME: create a namespace with loopback up, remembered for cleanup.
vm_netns() {
	ip netns add "$1" || fail "ip netns add $1"
	VM_NETNS="$VM_NETNS $1"
	ip -n "$1" link set lo up
}

# vm_bridge NAME: create a bridge in the guest's root namespace, remembered for cleanup.
vm_bridge() {
	ip link add "$1" type bridge || fail "ip link add $1 type bridge"
	VM_LINKS="$VM_LINKS $1"
	ip link set "$1" up
}

# vm_attach NS IFNAME BRIDGE ADDR/LEN: a veth from BRIDGE into NS, named IFNAME there.
vm_attach() {
	host="h$1$2"
	ip link add "$host" type veth peer name "$2" netns "$1" || fail "veth $host/$2"
	VM_LINKS="$VM_LINKS $host"
	ip link set "$host" master "$3" up
	ip -n "$1" addr add "$4" dev "$2"
	ip -n "$1" link set "$2" up
}

# vm_bg COMMAND...: start COMMAND in the background, remembered for cleanup.
vm_bg() {
	"$@" &
	VM_PIDS="$VM_PIDS $!"
}

# vm_get NS URL: print URL's body fetched from NS (5 s limit); curl when present, since
# Debian's static busybox wget segfaults when the connection fails.
vm_get() {
	if command -v curl >/dev/null 2>&1; then
		ip netns exec "$1" curl -sS --max-time 5 "$2"
	else
		ip netns exec "$1" busybox wget -q -T 5 -O - "$2"
	fi
}

# vm_wait_http NS URL EXPECTED [TRIES]: poll URL from NS until its body is EXPECTED.
vm_wait_http() {
	i=0
	while [ "$i" -lt "${4:-50}" ]; do
		body=$(vm_get "$1" "$2" 2>/dev/null) && [ "$body" = "$3" ] && return 0
		i=$((i + 1))
		sleep 0.2
	done
	fail "$2 did not answer '$3' from $1"
}

vm_cleanup() {
	for p in $VM_PIDS; do kill "$p" 2>/dev/null; done
	for ns in $VM_NETNS; do ip netns del "$ns" 2>/dev/null; done
	for l in $VM_LINKS; do ip link del "$l" 2>/dev/null; done
	wait 2>/dev/null
}
trap vm_cleanup EXIT
