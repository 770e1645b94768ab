# Helpers of the lvsd end-to-end scenarios (test/vm/scenarios/e2e-*.sh); source after
# scenarios/lib.sh:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/../e2e/lib.sh"
# They start the real daemon (bin/lvsd from this checkout's dist/) in a director namespace,
# wait for it with cheap polls (every exec costs 30-130 ms under emulation, so waits read
# /proc and files with shell builtins where they can), and on failure print lvsd's log tail
# and the director's IPVS table before stopping the scenario.
#
# Output convention (the mocha test on the host judges it):
#   KEY value...          one fact per line
#   === NAME ... === end  a multi-line block (an ipvsadm listing, a log excerpt)

E2E_ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
E2E_LVSD="$E2E_ROOT/bin/lvsd"
E2E_LVSCTL="$E2E_ROOT/bin/lvsctl"
E2E_DIR=$(mktemp -d /tmp/e2e.XXXXXX)
E2E_LOG="$E2E_DIR/lvsd.log"
E2E_SOCK="$E2E_DIR/lvsd.sock"
E2E_NS=""
E2E_LVSD_PID=""

[ -f "$E2E_ROOT/dist/src/main/lvsd.js" ] || fail "dist/ missing in $E2E_ROOT: run npx tsc -p . on the host first"
command -v ipvsadm >/dev/null 2>&1 || fail "ipvsadm missing (apt-get install ipvsadm on the host)"
command -v curl >/dev/null 2>&1 || fail "curl missing (apt-get install curl on the host)"

# e2e_now: sets NOW to the guest's uptime in ms (10 ms steps) without an exec.
e2e_now() {
	read -r _up _rest </proc/uptime
	_c=${_up#*.}
	_c=${_c#0}
	NOW=$((${_up%.*} * 1000 + _c * 10))
}

# e2e_block NAME COMMAND...: print COMMAND's output framed as a block.
e2e_block() {
	_name=$1
	shift
	echo "=== $_name"
	"$@" 2>&1
	echo "=== end"
}

# e2e_dump: lvsd's log tail and the director's table, for a failure message.
e2e_dump() {
	echo "--- lvsd log tail ($E2E_LOG)"
	tail -n 60 "$E2E_LOG" 2>/dev/null
	if [ -n "$E2E_NS" ]; then
		echo "--- ipvsadm -Ln in $E2E_NS"
		ip netns exec "$E2E_NS" ipvsadm -Ln 2>&1
	fi
	echo "--- end of dump"
}

# e2e_fail MESSAGE: dump, then fail.
e2e_fail() {
	e2e_dump
	fail "$@"
}

# e2e_ipvs [ARGS]: ipvsadm in the director namespace.
e2e_ipvs() {
	ip netns exec "$E2E_NS" ipvsadm "$@"
}

# e2e_table: the director's table as `ipvsadm -Sn` lines, sorted (kernel hash order is not ours).
e2e_table() {
	ip netns exec "$E2E_NS" ipvsadm -Sn | sort
}

# e2e_started_count: how many times the whole daemon logged "lvsd started" (its child processes,
# tagged process=director|vrrp, log their own line earlier: those do not count).
e2e_started_count() {
	grep 'lvsd started' "$E2E_LOG" 2>/dev/null | grep -Evc 'process=(director|vrrp|checker)'
}

# e2e_lvsd_start CONF: start lvsd in $E2E_NS with CONF; its output is appended to $E2E_LOG.
# Waits (60 s at most) for the "lvsd started" line written after this start.
e2e_lvsd_start() {
	_before=$(e2e_started_count)
	echo "### lvsd start $(date +%T.%N)" >>"$E2E_LOG"
	ip netns exec "$E2E_NS" node "$E2E_LVSD" --config "$1" >>"$E2E_LOG" 2>&1 &
	E2E_LVSD_PID=$!
	VM_PIDS="$VM_PIDS $!"
	_i=0
	while [ "$_i" -lt 300 ]; do
		_n=$(e2e_started_count)
		[ "$_n" -gt "$_before" ] && return 0
		kill -0 "$E2E_LVSD_PID" 2>/dev/null || e2e_fail "lvsd exited during start"
		_i=$((_i + 1))
		sleep 0.2
	done
	e2e_fail "lvsd did not log 'lvsd started' within 60 s"
}

# e2e_lvsd_stop: SIGTERM lvsd and wait for it to exit (30 s at most); sets LVSD_EXIT.
e2e_lvsd_stop() {
	kill -TERM "$E2E_LVSD_PID" 2>/dev/null || e2e_fail "lvsd (pid $E2E_LVSD_PID) was not running at stop"
	_i=0
	while kill -0 "$E2E_LVSD_PID" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt 150 ] && e2e_fail "lvsd did not exit within 30 s of SIGTERM"
		sleep 0.2
	done
	wait "$E2E_LVSD_PID"
	LVSD_EXIT=$?
}

# e2e_wait_vip IF ADDR [TRIES]: wait until ADDR is on IF in $E2E_NS (VRRP master); 0.2 s steps.
e2e_wait_vip() {
	_i=0
	while [ "$_i" -lt "${3:-150}" ]; do
		ip -n "$E2E_NS" -o addr show dev "$1" | grep -q " $2/" && return 0
		_i=$((_i + 1))
		sleep 0.2
	done
	e2e_fail "VIP $2 never appeared on $1 in $E2E_NS (is lvsd master?)"
}

# e2e_wait_table EXPECTED_FILE [TRIES]: wait until e2e_table equals the file's lines (sorted);
# 0.1 s steps. Sets WAITED_MS. Returns 1 (does not fail) when it never does.
e2e_wait_table() {
	e2e_now
	_t0=$NOW
	_i=0
	while [ "$_i" -lt "${2:-300}" ]; do
		if e2e_table | cmp -s - "$1"; then
			e2e_now
			WAITED_MS=$((NOW - _t0))
			return 0
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
	e2e_now
	WAITED_MS=$((NOW - _t0))
	return 1
}

# e2e_expect FILE LINE...: write the lines, sorted, to FILE (an expected e2e_table).
e2e_expect() {
	_f=$1
	shift
	printf '%s\n' "$@" | sort >"$_f"
}

# e2e_request CLIENT_NS URL N: N requests, one `ANSWER body` line each.
e2e_request() {
	_i=0
	while [ "$_i" -lt "$3" ]; do
		_b=$(ip netns exec "$1" curl -sS --max-time 5 "$2" 2>&1) || _b="ERROR $_b"
		echo "ANSWER $_b"
		_i=$((_i + 1))
	done
}

# e2e_control CMD [JSON_ARGS]: one control-socket request through dist/src/control/client.js;
# prints the JSON answer (for commands lvsctl does not have yet).
e2e_control() {
	node -e '
const { request } = require(process.argv[1]);
request(process.argv[2], process.argv[3], JSON.parse(process.argv[4] || "{}"))
  .then((r) => { console.log(JSON.stringify(r)); })
  .catch((e) => { console.log("ERROR " + (e.code || "") + " " + e.message); process.exit(1); });
' "$E2E_ROOT/dist/src/control/client.js" "$E2E_SOCK" "$1" "${2:-}"
}

# e2e_www DIR NAME: a document root answering NAME at / and /healthz.
e2e_www() {
	mkdir -p "$1" && echo "$2" >"$1/index.html" && echo ok >"$1/healthz"
}

# e2e_httpd NS DIR: start busybox httpd in NS (port 80) and set HTTPD_PID (the httpd's own pid:
# ip netns exec execs it).
e2e_httpd() {
	ip netns exec "$1" busybox httpd -f -p 80 -h "$2" &
	HTTPD_PID=$!
	VM_PIDS="$VM_PIDS $!"
}

e2e_cleanup() {
	if [ -n "$E2E_LVSD_PID" ] && kill -0 "$E2E_LVSD_PID" 2>/dev/null; then
		kill -TERM "$E2E_LVSD_PID" 2>/dev/null
		_i=0
		while kill -0 "$E2E_LVSD_PID" 2>/dev/null && [ "$_i" -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	fi
	vm_cleanup
	rm -rf "$E2E_DIR"
}
trap e2e_cleanup EXIT

# e2e_nat_topology: the NAT picture shared by several scenarios:
#   client C 192.0.2.10 --[bridge]-- eth0 192.0.2.1 director D eth1 198.51.100.1 --[bridge]-- R1 .11, R2 .12
# (the VIP 192.0.2.100/24 comes from lvsd's VRRP instance on D's eth0). The real servers'
# default route is the director's inside address; each runs busybox httpd answering its name
# (rs1, rs2) and /healthz. Sets C D R1 R2 E2E_NS WWW HTTPD1 HTTPD2.
e2e_nat_topology() {
	_s=$$
	C=c$_s D=d$_s R1=ra$_s R2=rb$_s
	E2E_NS=$D
	vm_netns "$C"; vm_netns "$D"; vm_netns "$R1"; vm_netns "$R2"
	vm_bridge "bc$_s"; vm_bridge "bi$_s"
	vm_attach "$C" eth0 "bc$_s" 192.0.2.10/24
	vm_attach "$D" eth0 "bc$_s" 192.0.2.1/24
	vm_attach "$D" eth1 "bi$_s" 198.51.100.1/24
	vm_attach "$R1" eth0 "bi$_s" 198.51.100.11/24
	vm_attach "$R2" eth0 "bi$_s" 198.51.100.12/24
	ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward"
	ip -n "$R1" route add default via 198.51.100.1 || fail "rs1 default route"
	ip -n "$R2" route add default via 198.51.100.1 || fail "rs2 default route"
	e2e_web_servers 198.51.100.11 198.51.100.12
}

# e2e_web_servers RS1_ADDR RS2_ADDR: busybox httpd in R1 and R2, answering their names (rs1,
# rs2) and /healthz from $WWW/rs1 and $WWW/rs2; waits until the director D gets each answer at
# http://RSn_ADDR/. Sets WWW HTTPD1 HTTPD2.
e2e_web_servers() {
	WWW=$E2E_DIR/www
	e2e_www "$WWW/rs1" rs1
	e2e_www "$WWW/rs2" rs2
	e2e_httpd "$R1" "$WWW/rs1"; HTTPD1=$HTTPD_PID
	e2e_httpd "$R2" "$WWW/rs2"; HTTPD2=$HTTPD_PID
	vm_wait_http "$D" "http://$1/" rs1
	vm_wait_http "$D" "http://$2/" rs2
}

# e2e_macs: prints `MAC director|rs1|rs2 <address>`, the eth0 MACs of D, R1 and R2.
e2e_macs() {
	echo "MAC director $(ip netns exec "$D" cat /sys/class/net/eth0/address)"
	echo "MAC rs1 $(ip netns exec "$R1" cat /sys/class/net/eth0/address)"
	echo "MAC rs2 $(ip netns exec "$R2" cat /sys/class/net/eth0/address)"
}

# e2e_conf_head [EXTRA_GLOBAL_LINES]: the [global] section and the VRRP instance holding the
# client-side VIP 192.0.2.100/24 on eth0 (alone, it becomes master after its down timer).
# The [check.tcp] section the health scenarios share: a TCP check every
# second, down at the first failure, up after two successes.
e2e_tcp_check_conf() {
	cat <<'CONF'

[check.tcp]
type = TCP_CHECK
delay_loop = 1
retry = 0
connect_timeout = 1
rise = 2
fall = 1
CONF
}

e2e_conf_head() {
	cat <<CONF
[global]
router_id = e2e
control_socket = $E2E_SOCK
state_dir = $E2E_DIR/state
log_level = info
${1:-}

[vrrp_instance.VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = 150
advert_int = 0.2
version = 3
virtual_ipaddress[] = 192.0.2.100/24
CONF
}

# e2e_capture_start NS IF FILTER: tcpdump -e (link headers) in NS on IF into $E2E_DIR/cap;
# waits until it listens. e2e_capture_stop stops it and prints `REPLY_MAC mac` per distinct
# source MAC seen.
e2e_capture_start() {
	command -v tcpdump >/dev/null 2>&1 || fail "tcpdump missing (apt-get install tcpdump on the host)"
	ip netns exec "$1" tcpdump -l -e -n -i "$2" "$3" >"$E2E_DIR/cap" 2>"$E2E_DIR/cap.err" &
	CAP_PID=$!
	VM_PIDS="$VM_PIDS $!"
	_i=0
	until grep -q 'listening on' "$E2E_DIR/cap.err" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt 150 ] && fail "tcpdump did not start: $(cat "$E2E_DIR/cap.err")"
		sleep 0.2
	done
}
e2e_capture_stop() {
	sleep 0.5
	kill -INT "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	echo "CAPTURED $(wc -l <"$E2E_DIR/cap")"
	awk '$3 == ">" {print "REPLY_MAC " $2}' "$E2E_DIR/cap" | sort -u
}

# e2e_wait_stats PATTERN: wait (12 s at most) until `ipvsadm -Ln --stats` matches the ERE
# (the 6.1 kernel folds per-CPU counters into the totals every 2 s).
e2e_wait_stats() {
	_i=0
	while [ "$_i" -lt 40 ] && ! e2e_ipvs -Ln --stats | grep -Eq "$1"; do
		_i=$((_i + 1))
		sleep 0.3
	done
}

# e2e_wait_sn present|absent ERE [TRIES]: wait until a line of `ipvsadm -Sn` matching ERE is
# present (or absent); polls without a sleep (each ipvsadm costs ~0.1 s under emulation).
# Sets WAITED_MS; returns 1 when TRIES polls pass first (default 400).
e2e_wait_sn() {
	e2e_now
	_t0=$NOW
	_i=0
	while [ "$_i" -lt "${3:-400}" ]; do
		if ip netns exec "$E2E_NS" ipvsadm -Sn | grep -Eq -- "$2"; then _hit=present; else _hit=absent; fi
		if [ "$_hit" = "$1" ]; then
			e2e_now
			WAITED_MS=$((NOW - _t0))
			return 0
		fi
		_i=$((_i + 1))
	done
	e2e_now
	WAITED_MS=$((NOW - _t0))
	return 1
}

# e2e_web_conf ALGO KIND VIP RS1 W1 RS2 W2 [CHECK [RS2_LINE]]: a blank line, then the section
# [virtual_server.web] (VIP:80, TCP, lb_algo ALGO, lb_kind KIND, and `check = CHECK` when given)
# and its real servers rs1 (RS1:80, weight W1) and rs2 (RS2:80, weight W2, and RS2_LINE when given).
e2e_web_conf() {
	printf '\n[virtual_server.web]\naddress = %s:80\nprotocol = TCP\nlb_algo = %s\nlb_kind = %s\n' "$3" "$1" "$2"
	[ -z "${8:-}" ] || echo "check = $8"
	printf '\n[real_server.web.rs1]\naddress = %s:80\nweight = %s\n' "$4" "$5"
	printf '\n[real_server.web.rs2]\naddress = %s:80\nweight = %s\n' "$6" "$7"
	[ -z "${9:-}" ] || echo "$9"
}

# e2e_nat_conf FILE W1 W2 [EXTRA_GLOBAL_LINES]: the NAT picture's configuration, rr, no checks,
# rs1 and rs2 with weights W1 and W2.
e2e_nat_conf() {
	{
		e2e_conf_head "${4:-}"
		e2e_web_conf rr NAT 192.0.2.100 198.51.100.11 "$2" 198.51.100.12 "$3"
	} >"$1"
}

# e2e_nat_start CONF: starts lvsd with CONF, a configuration of the NAT picture with rr and
# weights 1 and 1; waits until it holds the VIP and its table is that one (fails otherwise).
e2e_nat_start() {
	e2e_lvsd_start "$1"
	e2e_wait_vip eth0 192.0.2.100
	e2e_expect "$E2E_DIR/want" \
		'-A -t 192.0.2.100:80 -s rr' \
		'-a -t 192.0.2.100:80 -r 198.51.100.11:80 -m -w 1' \
		'-a -t 192.0.2.100:80 -r 198.51.100.12:80 -m -w 1'
	e2e_wait_table "$E2E_DIR/want" 100 || e2e_fail "the table never matched the configuration at start"
}

# e2e_nat_up [EXTRA_GLOBAL_LINES]: the NAT picture (e2e_nat_topology) with lvsd running rr over
# rs1 and rs2, weights 1 and 1 (e2e_nat_conf into $conf, then e2e_nat_start). Sets conf.
e2e_nat_up() {
	e2e_nat_topology
	conf=$E2E_DIR/lvsd.conf
	e2e_nat_conf "$conf" 1 1 "${1:-}"
	e2e_nat_start "$conf"
}

# e2e_table_check LINE...: waits (10 s at most) until the director's table is the `ipvsadm -Sn`
# LINEs; prints TABLE_NEVER_MATCHED when it never is. Sets WAITED_MS.
e2e_table_check() {
	e2e_expect "$E2E_DIR/want" "$@"
	e2e_wait_table "$E2E_DIR/want" 100 || echo "TABLE_NEVER_MATCHED"
}

# e2e_direct_return NS IF VIP: for the scenarios where the real servers answer the client
# directly (DR, TUN): prints the table (blocks `ipvsadm -Sn`, `ipvsadm -Ln`), makes 4 requests
# to http://VIP/ from the client C while capturing the replies in NS on IF (ANSWER and
# REPLY_MAC lines), then prints the director's counters (block `stats`, once they show the 4
# connections) and lvsd's log.
e2e_direct_return() {
	e2e_block 'ipvsadm -Sn' e2e_table
	e2e_block 'ipvsadm -Ln' e2e_ipvs -Ln
	e2e_capture_start "$1" "$2" 'tcp and src port 80'
	e2e_request "$C" "http://$3/" 4
	e2e_capture_stop
	e2e_wait_stats "^TCP +$(echo "$3" | sed 's/\./\\./g'):80 +4 "
	e2e_block stats e2e_ipvs -Ln --stats
	e2e_block 'lvsd log' cat "$E2E_LOG"
}

# e2e_conn_kept: yes when the director's connections (ipvsadm -Lnc) still hold DL_CONN, else no.
e2e_conn_kept() {
	if e2e_ipvs -Lnc | awk '{print $1, $3, $4, $5, $6}' | grep -qxF "$DL_CONN"; then echo yes; else echo no; fi
}

# e2e_download SIZE_BYTES RATE: put big.bin (SIZE_BYTES) on both real servers and start
# `curl --limit-rate RATE` of it through the VIP from the client, in the background; waits
# (30 s at most) until IPVS shows the connection ESTABLISHED. Sets DL_PID, DL_OUT, DL_CONN
# (the ipvsadm -Lnc line, without its expiry column) and DL_RS (the real server serving it).
e2e_download() {
	head -c "$1" /dev/zero >"$WWW/rs1/big.bin"
	cp "$WWW/rs1/big.bin" "$WWW/rs2/big.bin"
	DL_OUT=$E2E_DIR/big.out
	# Small socket buffers: otherwise the server pushes the whole file into them at once and
	# closes, and IPVS sees FIN long before curl has read it at its limited rate.
	ip netns exec "$C" sysctl -qw net.ipv4.tcp_rmem='4096 16384 32768' || fail "client tcp_rmem"
	ip netns exec "$R1" sysctl -qw net.ipv4.tcp_wmem='4096 16384 32768' || fail "rs1 tcp_wmem"
	ip netns exec "$R2" sysctl -qw net.ipv4.tcp_wmem='4096 16384 32768' || fail "rs2 tcp_wmem"
	ip netns exec "$C" curl -sS -o "$DL_OUT" -w 'DOWNLOAD http=%{http_code} size=%{size_download}\n' \
		--limit-rate "$2" --max-time 300 http://192.0.2.100/big.bin >"$E2E_DIR/dl.result" 2>&1 &
	DL_PID=$!
	VM_PIDS="$VM_PIDS $!"
	_i=0
	while [ "$_i" -lt 150 ]; do
		DL_CONN=$(e2e_ipvs -Lnc | awk '$3 == "ESTABLISHED" && $5 == "192.0.2.100:80" {print $1, $3, $4, $5, $6; exit}')
		if [ -n "$DL_CONN" ]; then
			DL_RS=${DL_CONN##* }
			return 0
		fi
		_i=$((_i + 1))
		sleep 0.2
	done
	echo "--- curl: $(cat "$E2E_DIR/dl.result" 2>&1)"
	e2e_ipvs -Lnc
	e2e_fail "the download never showed as ESTABLISHED in ipvsadm -Lnc"
}

# e2e_download_wait: wait for the download to end; prints its DOWNLOAD line and curl's status.
e2e_download_wait() {
	wait "$DL_PID"
	echo "DOWNLOAD_EXIT $?"
	cat "$E2E_DIR/dl.result"
}
