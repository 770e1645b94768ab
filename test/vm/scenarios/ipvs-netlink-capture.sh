#!/bin/sh
# Captures what ipvsadm 1.31 (the reference IPVS client) sends to and receives from the
# kernel over generic netlink, as strace hex dumps, plus what it prints. Runs in a fresh
# network namespace so the guest's own table is untouched. The golden fixtures of
# test/kernel/ipvs-golden.test.ts were made from this output (see the header there).
set -u
command -v strace >/dev/null || { echo "FAIL: strace missing on the host (apt-get install strace)"; exit 1; }
command -v ipvsadm >/dev/null || { echo "FAIL: ipvsadm missing on the host (apt-get install ipvsadm)"; exit 1; }
ns="ipvscap$$"
ip netns add "$ns" || exit 1
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link add dummy0 type dummy 2>/dev/null && ip -n "$ns" link set dummy0 up
cap() {
  # One labelled capture: each sendmsg/recvmsg of the command with a full hex dump.
  echo "@@CAP ipvsadm $*"
  ip netns exec "$ns" strace -f -qq -s 0 -e trace=sendmsg,recvmsg -e write=all -e read=all \
    -o /tmp/cap.txt ipvsadm "$@" >/tmp/out.txt 2>&1
  echo "@@STATUS $?"
  grep -E '^[0-9]+ +(sendmsg|recvmsg)\(|^ \| [0-9a-f]{5} ' /tmp/cap.txt
  echo "@@OUTPUT"
  cat /tmp/out.txt
  echo "@@END"
}
cap -A -t 192.0.2.100:80 -s wlc
cap -A -u [2001:db8::100]:53 -s sh -b sh-port,sh-fallback
cap -A -f 7 -s rr -p 300 -M 255.255.255.0
cap -A -f 8 -6 -s wrr -p 60 -M 64
cap -A -u 192.0.2.102:514 -s mh -b mh-port -o
cap --sctp-service 192.0.2.103:9 -s lc
cap -a -t 192.0.2.100:80 -r 198.51.100.1:8080 -m -w 5 -x 100 -y 10
cap -a -t 192.0.2.100:80 -r 198.51.100.2 -g -w 0
cap -a -t 192.0.2.100:80 -r 198.51.100.3 -i --tun-type gue --tun-port 6080 --tun-csum
cap -a -u [2001:db8::100]:53 -r [2001:db8::10]:53 -m -w 2
cap -e -t 192.0.2.100:80 -r 198.51.100.1:8080 -m -w 7
cap -E -t 192.0.2.100:80 -s rr
cap -A -t 192.0.2.100:80 -s wlc
cap -d -t 192.0.2.100:80 -r 198.51.100.9
cap -Ln
cap -Ln --stats
cap --start-daemon master --mcast-interface dummy0 --syncid 5
cap --start-daemon backup --mcast-interface dummy0 --syncid 6 --sync-maxlen 1400 --mcast-group 239.0.0.81 --mcast-port 8850 --mcast-ttl 2
cap -L --daemon
cap --stop-daemon master
cap --set 900 120 300
cap -L --timeout
cap -d -t 192.0.2.100:80 -r 198.51.100.2
cap -D -t 192.0.2.100:80
cap -C
