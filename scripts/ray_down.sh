#!/usr/bin/env bash
# End every process of ONE Ray cluster on this machine: those started with RAY_TMPDIR=DIR in their
# environment, those holding a file open under DIR, and their descendants (gcs_server, raylet, workers,
# and ray::DashboardAgent / ray::RuntimeEnvAgent, whose command line does not name DIR and whose
# environment a process-title rewrite may blank). Works as root or as a normal user (then only your own processes),
# never touches another cluster, this script or the shell that runs it. SIGTERM first, SIGKILL after
# GRACE seconds, then checks that nothing is left (exit 1 and the list if something is).
# Usage: scripts/ray_down.sh DIR [GRACE]      (DIR = the RAY_TMPDIR given to `ray start`)
# A driver attached to the cluster holds its log files under DIR and is ended too (unless it runs this script).
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
  # A process is the cluster's when (1) RAY_TMPDIR=DIR is in its environment, or (2) it holds a file
  # open under DIR (every Ray process keeps its log files in DIR/session_*/logs open), or (3) its
  # parent is the cluster's. (1) alone misses processes whose environment block was overwritten by a
  # process-title rewrite (setproctitle: ray::DashboardAgent, ray::RuntimeEnvAgent).
  local d me=$BASHPID found=" "  # this function runs in a subshell that has our environment
  local -A parent
  for d in /proc/[0-9]*; do
    local pid=${d#/proc/}
    case "$skip$me " in *" $pid "*) continue ;; esac
    parent[$pid]=$(awk '{print $4}' "$d/stat" 2>/dev/null || echo 0)
    if { tr "\0" "\n" < "$d/environ"; } 2>/dev/null | grep -qxF "RAY_TMPDIR=$dir"; then
      found="$found$pid "; continue
    fi
    local fd
    for fd in "$d"/fd/*; do
      case "$(readlink "$fd" 2>/dev/null)" in "$dir"/*) found="$found$pid "; break ;; esac
    done
  done
  local grew=1
  while [ "$grew" = 1 ]; do  # descendants of the cluster's processes
    grew=0
    for pid in "${!parent[@]}"; do
      case "$found" in *" $pid "*) continue ;; esac
      case "$found" in *" ${parent[$pid]} "*) found="$found$pid "; grew=1 ;; esac
    done
  done
  echo $found
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
