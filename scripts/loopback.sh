#!/usr/bin/env bash
# Run a command inside a fresh loopback-only network namespace when this machine allows it, so every
# connection Ray makes stays on 127.0.0.1 (Ray on Linux otherwise listens on the main interface).
# The development/CI machines require this for demo and test traffic; a user's machine does not, and
# where no namespace can be made (not root, no iproute2, no CAP_NET_ADMIN) the command simply runs as is.
#   LOOPBACK=auto (default)  namespace when possible, else run directly
#   LOOPBACK=1               namespace required (fail if it cannot be made)
#   LOOPBACK=0               never
# Usage: scripts/loopback.sh CMD [ARGS...]
set -uo pipefail
mode="${LOOPBACK:-auto}"
if [ "$mode" != 0 ] && [ -z "${TG_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
  ns="tg-$$-${RANDOM}"
  if ip netns add "$ns" 2>/dev/null; then
    trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
    ip netns exec "$ns" ip link set lo up
    TG_IN_NETNS=1 ip netns exec "$ns" "$@"
    exit $?
  fi
fi
if [ "$mode" = 1 ] && [ -z "${TG_IN_NETNS:-}" ]; then
  echo "LOOPBACK=1 but no loopback-only network namespace could be made (needs root, iproute2 and CAP_NET_ADMIN)." >&2
  exit 2
fi
exec "$@"
