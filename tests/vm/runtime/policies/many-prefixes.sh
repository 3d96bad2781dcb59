#!/bin/sh
# Prints policy rt_many_prefixes: opening anything below one of COUNT directories
# /tmp/bw-many/d<i>/ is denied. Enough directories that the runtime grows the identity hint
# map beyond its smallest size (tests/vm/runtime/IdentityVmTest.cpp, ListedDirectoriesBeyond...).
set -eu
count=${1:?usage: many-prefixes.sh COUNT}
echo 'policy rt_many_prefixes {'
echo '  description "bulwark identity test: many listed directories"'
echo '  mode enforce'
echo '  default allow'
echo '  list dirs = ['
i=0
while [ "$i" -lt "$count" ]; do
  echo "    \"/tmp/bw-many/d$i/\","
  i=$((i + 1))
done
echo '  ]'
echo '  rule many {'
echo '    on file.open'
echo '    when file.path startswith dirs'
echo '    deny "{process.comm} opened {file.path}"'
echo '  }'
echo '}'
