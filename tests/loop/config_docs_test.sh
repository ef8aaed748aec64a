#!/usr/bin/env bash
# docs/configuration.md's site block and docs/fleetpoll.toml.example together are a configuration
# `fleetpoll run --check` accepts (every documented key exists in the code), and a misspelt key
# in each site section is refused with its name (unknown keys are never silently ignored).
# Usage: config_docs_test.sh FLEETPOLL SOURCE_DIR
set -euo pipefail
fleetpoll=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The engine sections: the annotated example as shipped.
cp "$src/docs/fleetpoll.toml.example" "$work/fleetpoll.toml"
# The site sections: the ```toml block that starts with [storage] in docs/configuration.md.
awk '/^```toml$/ { inblock = 1; buf = ""; next }
     /^```$/ && inblock { if (buf ~ /^\[storage\]/) printf "%s", buf; inblock = 0; next }
     inblock { buf = buf $0 "\n" }' "$src/docs/configuration.md" >"$work/site.toml"
grep -q '^\[uplink\]' "$work/site.toml" || { echo "FAIL: no site block found in docs/configuration.md"; exit 1; }
cat "$work/site.toml" >>"$work/fleetpoll.toml"
out=$("$fleetpoll" run --config "$work/fleetpoll.toml" --check 2>&1) || {
  echo "FAIL: the documented configuration is refused:"; echo "$out"; exit 1; }
echo "$out" | grep -q "configuration OK" || { echo "FAIL: unexpected output: $out"; exit 1; }
echo "ok: documented configuration accepted ($out)"
for section in storage storage.thresholds xmpp uplink status; do
  # Misspell the first key of the section.
  awk -v s="[$section]" '$0 ~ /^\[/ { cur = $1 } { if (cur == s && !done && $0 ~ /^[a-z_]+ *=/) { sub(/^/, "x"); done = 1 } print }' \
    "$work/fleetpoll.toml" >"$work/typo.toml"
  key=$( (diff "$work/fleetpoll.toml" "$work/typo.toml" || true) | sed -n 's/^> \(x[a-z_]*\).*/\1/p')
  [ -n "$key" ] || { echo "FAIL: could not misspell a key of [$section]"; exit 1; }
  set +e
  out=$("$fleetpoll" run --config "$work/typo.toml" --check 2>&1)
  rc=$?
  set -e
  [ $rc -eq 2 ] || { echo "FAIL: [$section] $key accepted (rc $rc): $out"; exit 1; }
  echo "$out" | grep -q "$key" || { echo "FAIL: the error does not name $key: $out"; exit 1; }
  echo "ok: [$section] $key refused"
done

# `fleetpoll run` itself refuses an [uplink] site that differs from [storage] site_id (the
# outbox's sequence numbers belong to one site), before it polls or connects anywhere.
sed -e "s|^path = \"/var/lib/fleetpoll/db\".*|path = \"$work/db\"|" \
    -e 's|^site = "acme-hq".*|site = "another-site"|' \
    -e "s|^password_file = \"acme.pass\".*|password_file = \"$work/acme.pass\"|" \
    -e "s|^key_file = \"uplink.keys\".*|key_file = \"$work/uplink.keys\"|" \
    "$work/fleetpoll.toml" >"$work/mismatch.toml"
(umask 077; echo "generated-per-run-$RANDOM" >"$work/acme.pass"
 printf '1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/uplink.keys")
set +e
out=$(timeout 30 "$fleetpoll" run --config "$work/mismatch.toml" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || { echo "FAIL: a site mismatch should stop run with exit 1 (rc $rc): $out"; exit 1; }
echo "$out" | grep -q 'site "another-site" differs from \[storage\] site_id "acme-hq"' || {
  echo "FAIL: the error does not name both sites: $out"; exit 1; }
echo "ok: [uplink] site different from [storage] site_id refused at start"
