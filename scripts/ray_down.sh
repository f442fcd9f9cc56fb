#!/usr/bin/env bash
# End every process of ONE Ray cluster on this machine: those started with RAY_TMPDIR=DIR in their
# environment (gcs_server, raylet, workers, and ray::DashboardAgent / ray::RuntimeEnvAgent, whose
# command line does not name DIR). Works as root or as a normal user (then only your own processes),
# never touches another cluster, this script or the shell that runs it. SIGTERM first, SIGKILL after
# GRACE seconds, then checks that nothing is left (exit 1 and the list if something is).
# Usage: scripts/ray_down.sh DIR [GRACE]      (DIR = the RAY_TMPDIR given to `ray start`)
set -uo pipefail
dir="${1:?usage: ray_down.sh RAY_TMPDIR [GRACE_SECONDS]}"
grace="${2:-5}"
skip=" $$ "
p=$$
while [ "$p" -gt 1 ]; do  # our ancestors may carry the same RAY_TMPDIR: never end them
  p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
  skip="$skip$p "
done
pids_of() {
  local d me=$BASHPID  # this function runs in a subshell that has our environment
  for d in /proc/[0-9]*; do
    local pid=${d#/proc/}
    case "$skip$me " in *" $pid "*) continue ;; esac
    if { tr "\0" "\n" < "$d/environ"; } 2>/dev/null | grep -qxF "RAY_TMPDIR=$dir"; then echo "$pid"; fi
  done
}
pids=$(pids_of)
[ -z "$pids" ] && exit 0
kill -TERM $pids 2>/dev/null
for _ in $(seq $((grace * 10))); do
  sleep 0.1
  left=$(for pid in $pids; do kill -0 "$pid" 2>/dev/null && echo "$pid"; done)
  [ -z "$left" ] && break
done
[ -n "${left:-}" ] && kill -KILL $left 2>/dev/null
sleep 0.2
left=$(pids_of)
if [ -n "$left" ]; then
  echo "ray_down.sh: still running after SIGKILL:" >&2
  ps -o pid=,args= -p $(echo $left | tr ' ' ,) >&2
  exit 1
fi
