# Guest part of packaging_vm_installed_runtime (busybox sh, as root): the runtime binary
# from the bulwark package loads the bundle the packaged bulwarkc compiled; reading a
# shadow file is denied while reading another file works, and unloading ends the denial.
set -eu
bundle=/bulwark/files/pkg_smoke.bwb
root=/sys/fs/bpf/bulwark-pkg
echo secret >/etc/shadow
echo hello >/etc/pkg-control
bulwark load "$bundle" --pin-root "$root"
bulwark list --pin-root "$root" | grep pkg_smoke
if cat /etc/shadow >/dev/null 2>/tmp/err; then echo "FAIL: /etc/shadow was readable"; exit 1; fi
grep -q "Operation not permitted" /tmp/err || { cat /tmp/err; echo "FAIL: not EPERM"; exit 1; }
[ "$(cat /etc/pkg-control)" = hello ] || { echo "FAIL: the control file was not readable"; exit 1; }
bulwark unload pkg_smoke --pin-root "$root"
[ "$(cat /etc/shadow)" = secret ] || { echo "FAIL: /etc/shadow still denied after unload"; exit 1; }
echo "installed runtime: ok"
