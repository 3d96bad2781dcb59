#!/bin/sh
# Runs in the VM: a policy compiled by bulwarkc, loaded by bulwark, enforced by the kernel.
# Acts only on files it creates under /tmp/bulwark-e2e and unloads the policy at the end.
set -u
fail() { echo "E2E FAIL: $*"; bulwark unload e2e_protect_secret >/dev/null 2>&1; exit 1; }
dir=/tmp/bulwark-e2e
mkdir -p "$dir/vault" && echo secret > "$dir/secret" && echo key > "$dir/vault/key" \
  && echo fine > "$dir/other" && echo n > "$dir/a.notes" || fail "cannot create test files"

bulwark load /bulwark/files/e2e_protect_secret.bwb || fail "bulwark load failed"

out=$(cat "$dir/secret" 2>&1) && fail "secret was readable under the policy: $out"
echo "$out" | grep -q "Operation not permitted" || fail "expected EPERM, got: $out"
cd "$dir" && out=$(cat ./vault/../secret 2>&1) && fail "secret readable through a relative path with ..: $out"
ln -s "$dir/secret" /tmp/secret-link && out=$(cat /tmp/secret-link 2>&1) && fail "secret readable through a symlink: $out"
cat "$dir/vault/key" >/dev/null 2>&1 && fail "vault/key (prefix rule) was readable"
[ "$(cat "$dir/other")" = fine ] || fail "an unprotected file was not readable"
[ "$(cat "$dir/a.notes")" = n ] || fail "an audited file was not readable"

events=$(bulwark events --format json --count 8 --timeout 5)
echo "$events"
echo "$events" | grep '"rule":"secret"' | grep -q '"action":"deny"' || fail "no deny event for rule secret"
echo "$events" | grep '"rule":"notes"' | grep -q '"action":"audit"' || fail "no audit event for rule notes"

bulwark unload e2e_protect_secret || fail "unload failed"
[ "$(cat "$dir/secret")" = secret ] || fail "secret still denied after unload"
rm -f /tmp/secret-link
echo "E2E OK: compile -> bundle -> load -> EPERM -> events -> unload"
