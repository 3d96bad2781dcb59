#!/bin/sh
# The bulwark runtime must link libbpf, yaml-cpp (and the C/C++ runtime) only: never LLVM,
# clang or ANTLR. Checks the direct NEEDED entries and everything ldd resolves.
set -eu
bin="$1"
[ -x "$bin" ] || { echo "check-deps: $bin is not an executable" >&2; exit 1; }
needed="$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
echo "NEEDED: $(echo $needed)"
all="$(ldd "$bin" | awk '{print $1}')"
status=0
for forbidden in LLVM llvm clang antlr; do
  if echo "$needed $all" | grep -qi "$forbidden"; then
    echo "check-deps: FAIL: $bin depends on $forbidden:" >&2
    echo "$needed $all" | tr ' ' '\n' | grep -i "$forbidden" >&2
    status=1
  fi
done
for required in libbpf libyaml-cpp; do
  echo "$needed" | grep -q "^$required" || { echo "check-deps: FAIL: $bin does not link $required" >&2; status=1; }
done
for lib in $needed; do
  case "$lib" in
    libbpf.so.*|libyaml-cpp.so.*|libstdc++.so.*|libgcc_s.so.*|libc.so.*|libm.so.*|ld-linux*) ;;
    *) echo "check-deps: FAIL: unexpected direct dependency $lib" >&2; status=1 ;;
  esac
done
[ $status -eq 0 ] && echo "check-deps: ok"
exit $status
