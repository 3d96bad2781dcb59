#!/bin/sh
# Prints COUNT distinct one-rule policies for the 256-policy VM test
# (tests/vm/runtime/ScaleVmTest.cpp, which mirrors this scheme in ScalePolicyOf).
# Policy scale_<iii> denies one action on hook i % 3:
#   0  file.open     opening /tmp/bw-scale/open-<i>          rule deny_open_<i>
#   1  process.exec  executing /tmp/bw-scale/exec-<i>        rule deny_exec_<i>
#   2  net.connect   connecting to destination port 20000+i  rule deny_connect_<i>
set -eu
count=${1:?usage: scale-policies.sh COUNT}
i=0
while [ "$i" -lt "$count" ]; do
  case $((i % 3)) in
    0) hook=file.open rule=deny_open_$i cond="file.path == \"/tmp/bw-scale/open-$i\"" ;;
    1) hook=process.exec rule=deny_exec_$i cond="exec.path == \"/tmp/bw-scale/exec-$i\"" ;;
    2) hook=net.connect rule=deny_connect_$i cond="net.dport == $((20000 + i))" ;;
  esac
  cat <<POLICY
policy scale_$(printf %03d "$i") {
  description "scale test policy $i"
  mode enforce
  default allow

  rule $rule {
    on $hook
    when $cond
    deny "{process.comm}: $rule"
  }
}

POLICY
  i=$((i + 1))
done
