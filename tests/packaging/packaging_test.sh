#!/usr/bin/env bash
# Install as a service: `cmake --install` into a staging root puts the binary, the systemd unit
# and the docs (with the example configuration) in place; systemd itself accepts the unit; the
# unit keeps its hardening; and CPack builds a Debian package holding the same files with its
# shared-library dependencies computed.
# Usage (ctest): packaging_test.sh SOURCE_DIR BUILD_DIR
# (No `cmd | grep -q` pipelines: under pipefail grep's early exit would fail the writer.)
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d /tmp/fleetpoll-packaging-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR="$work/root" cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/fleetpoll usr/lib/systemd/system/fleetpoll.service usr/share/doc/fleetpoll/README.md \
         usr/share/doc/fleetpoll/normalization.md; do
  [ -e "$work/root/$f" ] || fail "cmake --install did not install $f"
done
version=$("$work/root/usr/bin/fleetpoll" --version)
grep -q '[0-9]\.[0-9]' <<<"$version" || fail "installed fleetpoll --version: $version"

unit="$work/root/usr/lib/systemd/system/fleetpoll.service"
# The unit as systemd reads it (ExecStart pointed at the staged binary so verify can stat it).
sed "s|/usr/bin/fleetpoll|$work/root/usr/bin/fleetpoll|" "$unit" > "$work/fleetpoll.service"
out=$(systemd-analyze verify "$work/fleetpoll.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
for directive in DynamicUser=yes ProtectSystem=strict StateDirectory=fleetpoll NoNewPrivileges=yes \
                 'CapabilityBoundingSet=$' PrivateTmp=yes 'ExecReload=/bin/kill -HUP'; do
  grep -Eq "^$directive" "$unit" || fail "unit lost its hardening: $directive"
done

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >/dev/null)
deb=$(ls "$work"/pkg/fleetpoll_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no .deb"
[ "$(dpkg-deb --field "$deb" Package)" = fleetpoll ] || fail "package name"
depends=$(dpkg-deb --field "$deb" Depends)
grep -q 'libc6' <<<"$depends" || fail "no computed dependencies: $depends"
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/fleetpoll ./usr/lib/systemd/system/fleetpoll.service ./usr/share/doc/fleetpoll/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "package lacks $f"
done
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -q postinst <<<"$control" || fail "package lacks postinst"
echo "packaging: install, unit and package OK ($(basename "$deb"))"
