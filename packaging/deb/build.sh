#!/usr/bin/env bash
# Builds dist/lvsd_<version>_<arch>.deb from an already built checkout
# (`npm run package` runs `npm run build` first), with Debian's own tools:
# dpkg-deb --root-owner-group (no fakeroot needed), dpkg-shlibdeps for the
# native shim's libc dependency.
#
# Layout:
#   /usr/lib/lvsd/{bin,dist/src,build/Release/lvsd_native.node,package.json,node_modules,checks}
#   /usr/sbin/lvsd, /usr/sbin/lvsctl   relative symlinks to /usr/lib/lvsd/bin/* (node
#                                       resolves the main script's real path, so the
#                                       bin scripts find ../dist next to them)
#   /etc/lvsd/lvsd.conf                 conffile (the commented example)
#   /etc/lvsd/notify.sh                 conffile (the sample notify hook)
#   /usr/sbin/lvs-realserver            DR/TUN real-server setup
#   /lib/systemd/system/lvsd.service
#   /usr/share/man/man{5,8}/*.gz, /usr/share/doc/lvsd/{copyright,changelog.gz,checks.md}
#   /usr/lib/lvsd/dist/src/metrics/page/ the status page's static files (served on metrics_listen)
#   /usr/share/lvsd/prometheus/          alerting rules and their promtool unit tests
#   /usr/share/lvsd/grafana/             the Grafana dashboard
#
# Environment: LVSD_DEB_OUTDIR (default <checkout>/dist) is where the .deb goes.
# Prints the path of the .deb on its last line.
set -euo pipefail
umask 022

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
outdir=${LVSD_DEB_OUTDIR:-$top/dist}

die() { echo "packaging/deb/build.sh: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
missing=()
command -v dpkg-deb >/dev/null || missing+=(dpkg)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v strip >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "needs the Debian packages ${missing[*]}: apt-get install ${missing[*]}"
  echo "packaging/deb/build.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
command -v npm >/dev/null || die "needs npm (to prune the dev dependencies)"

# --- inputs --------------------------------------------------------------------
for f in dist/src/main/lvsd.js dist/src/cli/lvsctl.js dist/src/metrics/page/index.html build/Release/lvsd_native.node; do
  [ -f "$f" ] || die "$f is missing: run \"npm run build\" first (or \"npm run package\")"
done
[ -d node_modules ] || die "node_modules is missing: run \"npm ci\" first"
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
# Reproducible timestamps: the last commit's time (dpkg-deb clamps mtimes to it).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
maintainer="lvsd developers <lvsd@lists.example.net>"

stage=$(mktemp -d "${TMPDIR:-/tmp}/lvsd-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
lib=$root/usr/lib/lvsd
doc=$root/usr/share/doc/lvsd
share=$root/usr/share/lvsd
install -d "$lib/bin" "$lib/dist" "$lib/build/Release" "$lib/checks" "$root/usr/sbin" "$share/prometheus" "$share/grafana" \
  "$root/etc/lvsd" "$root/lib/systemd/system" "$root/usr/share/man/man5" "$root/usr/share/man/man8" "$doc" "$root/DEBIAN"

# --- the program -----------------------------------------------------------------
# The bin scripts, with the interpreter the nodejs package provides (not
# whatever `node` comes first in PATH).
for b in lvsd lvsctl; do
  sed '1s|^#!.*|#!/usr/bin/node|' "bin/$b" >"$lib/bin/$b"
  chmod 0755 "$lib/bin/$b"
  ln -s "../lib/lvsd/bin/$b" "$root/usr/sbin/$b"
done
# Compiled sources only (no tests, benches, source maps); an output whose
# .ts is gone is a stale leftover of an earlier build and is left behind.
(cd dist && find src -type f -name '*.js' -print0) | while IFS= read -r -d '' js; do
  [ -f "${js%.js}.ts" ] || continue
  install -D -m 0644 "dist/$js" "$lib/dist/$js"
done
# The status page: the files of src/metrics/page as the build copied them (no build chain).
for f in src/metrics/page/*; do
  install -D -m 0644 "dist/$f" "$lib/dist/$f"
done
install -m 0644 package.json "$lib/package.json"
install -m 0644 build/Release/lvsd_native.node "$lib/build/Release/lvsd_native.node"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$lib/build/Release/lvsd_native.node"

# Production dependencies only: a copy of node_modules pruned of dev
# dependencies against the lockfile (offline; no registry is asked).
npmdir=$stage/npm
mkdir "$npmdir"
cp package.json package-lock.json "$npmdir/"
cp -a node_modules "$npmdir/"
(cd "$npmdir" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --offline --loglevel=error >/dev/null)
(cd "$npmdir" && npm ls --omit=dev --all >/dev/null) || die "the pruned node_modules does not satisfy package-lock.json"
rm -rf "$npmdir/node_modules/.bin"
# Type declarations, source maps and docs are no use at run time; licences stay.
find "$npmdir/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.map' \
  -o -iname 'README*' -o -iname 'CHANGELOG*' -o -iname 'HISTORY*' -o -name '*.markdown' \) -delete
# Packaging leftovers of the modules (lint and VCS files) are no use either.
find "$npmdir/node_modules" \( -name '.eslintrc*' -o -name '.eslintignore' -o -name '.npmignore' -o -name '.gitattributes' \
  -o -name '.gitignore' -o -name '.editorconfig' -o -name '.travis.yml' -o -name '.jshintrc' -o -name '.prettierrc*' \
  -o -name '.nycrc*' -o -name '.airtap.yml' \) -exec rm -rf {} +
find "$npmdir/node_modules" -depth -type d \( -name .github -o -name .vscode -o -name .idea \) -exec rm -rf {} +
# Test, example and benchmark trees at a module's top (bintrees alone ships 2 MB of them).
find "$npmdir/node_modules" -mindepth 2 -maxdepth 3 -type d \( -name test -o -name tests -o -name example -o -name examples \
  -o -name benchmark -o -name benchmarks -o -name coverage \) -path '*/node_modules/*' -exec rm -rf {} +
find "$npmdir/node_modules" -type d -empty -delete
# Nothing in it is run directly (node loads it): no executable bits.
find "$npmdir/node_modules" -type f -exec chmod 0644 {} +
find "$npmdir/node_modules" -type d -exec chmod 0755 {} +
cp -a "$npmdir/node_modules" "$lib/node_modules"
# Every production dependency still loads from the staged tree, and from there only.
(cd "$lib/dist/src" && node -e '
  const path = require("path");
  const lib = path.resolve("../..");
  for (const d of Object.keys(require(path.join(lib, "package.json")).dependencies || {})) {
    const where = require.resolve(d);
    if (!where.startsWith(path.join(lib, "node_modules") + path.sep)) throw new Error(`${d} resolves outside the package: ${where}`);
    require(d);
  }
') || die "a production dependency does not load from the staged node_modules"

# Check scripts (the example config runs /usr/lib/lvsd/checks/check_tcp).
for c in checks/*; do
  case $c in
    *.md) install -m 0644 "$c" "$doc/checks.md" ;;
    *) install -m 0755 "$c" "$lib/checks/" ;;
  esac
done

# --- configuration, unit, man pages ------------------------------------------------
install -m 0644 etc/lvsd.conf "$root/etc/lvsd/lvsd.conf"
# The sample hook the example config names (notify = /etc/lvsd/notify.sh).
install -m 0755 etc/notify.sh "$root/etc/lvsd/notify.sh"
# BIRD's side of active/active directors ([bgp]): commented examples.
install -d -m 0755 "$doc/examples"
install -m 0644 etc/bird-director.conf etc/bird-router.conf "$doc/examples/"
# Real-server side of DR and TUN (VIP on lo/tunl0, ARP and rp_filter sysctls).
install -m 0755 packaging/realserver/lvs-realserver "$root/usr/sbin/lvs-realserver"
install -m 0644 packaging/systemd/lvsd.service "$root/lib/systemd/system/lvsd.service"
# Monitoring: Prometheus alerting rules (with their promtool tests) and a Grafana dashboard.
install -m 0644 packaging/monitoring/lvsd-alerts.yml packaging/monitoring/lvsd-alerts.test.yml "$share/prometheus/"
install -m 0644 packaging/monitoring/lvsd-dashboard.json "$share/grafana/"
gzip -9n <packaging/man/lvsd.8 >"$root/usr/share/man/man8/lvsd.8.gz"
gzip -9n <packaging/man/lvsctl.8 >"$root/usr/share/man/man8/lvsctl.8.gz"
gzip -9n <packaging/man/lvsd.conf.5 >"$root/usr/share/man/man5/lvsd.conf.5.gz"
gzip -9n <packaging/man/lvs-realserver.8 >"$root/usr/share/man/man8/lvs-realserver.8.gz"

# --- copyright (machine-readable, with the bundled modules' licences) -------------------
year=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
{
  cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lvsd

Files: *
Copyright: $year lvsd developers
License: Apache-2.0

EOF
  # One stanza per bundled npm package, licence as the lockfile records it.
  node -e '
    const fs = require("fs"), path = require("path");
    const [lock, lib] = process.argv.slice(1);
    for (const [k, v] of Object.entries(require(lock).packages)) {
      if (!k || v.dev || !fs.existsSync(path.join(lib, k))) continue;
      const name = k.replace(/^.*node_modules\//, "");
      console.log(`Files: usr/lib/lvsd/${k}/*\nComment: ${name} ${v.version}, bundled from npm; its licence file is beside it\n` +
        `Copyright: the authors of ${name}\nLicense: ${v.license || "see the package"}\n`);
    }
  ' "$top/package-lock.json" "$lib"
  cat <<'EOF'
License: MIT
 The bundled npm modules under MIT carry their licence text, with their
 copyright notices, in the LICENSE file of their own directory under
 /usr/lib/lvsd/node_modules.

License: ISC
 The bundled npm modules under ISC carry their licence text, with their
 copyright notices, in the LICENSE file of their own directory under
 /usr/lib/lvsd/node_modules.

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
   http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0
 can be found in "/usr/share/common-licenses/Apache-2.0".
EOF
} >"$doc/copyright"
chmod 0644 "$doc/copyright"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  printf 'lvsd (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * Built from git commit %s.\n\n' "$commit"
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# --- control -------------------------------------------------------------------
# libc from the native shim's ELF imports (dpkg-shlibdeps wants a debian/control).
shl=$stage/shlibs
mkdir -p "$shl/debian"
printf 'Source: lvsd\n\nPackage: lvsd\nArchitecture: any\n' >"$shl/debian/control"
shlibs=$(cd "$shl" && dpkg-shlibdeps --warnings=0 -O "$lib/build/Release/lvsd_native.node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependency for lvsd_native.node"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: lvsd
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: nodejs (>= 20), $shlibs
Recommends: procps, curl | wget
Suggests: ipvsadm, openssl, dnsutils
Section: net
Priority: optional
Description: VRRP and IPVS director for Linux Virtual Server
 lvsd runs VRRP (RFC 3768 and RFC 5798) for a pair of Linux Virtual
 Server directors, checks the health of the real servers (TCP, HTTP,
 HTTPS or any program) and keeps the kernel's IPVS table equal to the
 configuration and the servers' health, like keepalived.
 .
 Its configuration is one INI file whose keys are keepalived's keywords;
 lvsctl shows the state of a running daemon and reloads it.
EOF
cp packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
printf '/etc/lvsd/lvsd.conf\n/etc/lvsd/notify.sh\n' >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's|  \./|  |') >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$outdir"
deb=$outdir/lvsd_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
