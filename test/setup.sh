#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (as root), once: the
# namespace test bed, the independent oracles (keepalived, ipvsadm, tcpdump),
# the VM test bed (qemu, busybox, kmod, cpio), the status page's browser
# (chromium, driven by puppeteer-core) and promtool for the alerting rules
# (prometheus) and BIRD 2 for the BGP scale-out tests. Run by `npm test`.
set -euo pipefail
need=(iproute2 keepalived tcpdump ipvsadm iputils-ping arping curl strace openssl procps psmisc
      qemu-system-x86 busybox-static cpio kmod dnsutils netcat-openbsd dpkg-dev fakeroot nftables
      chromium prometheus bird2)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test/setup.sh: the tests need these Debian packages: ${missing[*]}; run as root (sudo npm test)" >&2
  exit 1
fi
echo "test/setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# keepalived's package starts a service on a real machine; the tests run their own.
# The same for prometheus: the tests only use its promtool.
for svc in keepalived prometheus; do
  if command -v systemctl >/dev/null && systemctl is-active -q "$svc" 2>/dev/null; then systemctl stop "$svc"; fi
done
