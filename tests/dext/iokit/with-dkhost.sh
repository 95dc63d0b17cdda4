#!/usr/bin/env bash
# with-dkhost.sh DKHOST SPEC CMD...: runs CMD with dkhost (the dext on the
# DriverKit double) serving SPEC as the only IOKit service the IOKitLib
# double sees, then stops dkhost.  Fails if CMD fails, or if dkhost saw a
# kernel rule broken or left anything alive (its exit status).
set -euo pipefail
dkhost=$1 spec=$2
shift 2
dir=$(mktemp -d /tmp/mvf-dkhost-XXXXXX)
mkfifo "$dir/ready"
"$dkhost" --socket "$dir/dev.sock" --device "$spec" --ready-fd 3 3>"$dir/ready" &
pid=$!
read -r -n 1 _ <"$dir/ready"
rc=0
MVF_DKHOST_DIR=$dir "$@" || rc=$?
kill -TERM "$pid"
host_rc=0
wait "$pid" || host_rc=$?
rm -rf "$dir"
if [ "$host_rc" != 0 ]; then
  echo "with-dkhost: dkhost exited with $host_rc" >&2
  exit 1
fi
exit "$rc"
