#!/usr/bin/env bash
# Run a command inside a fresh loopback-only network namespace, so that every connection Ray (or
# anything else) makes stays on 127.0.0.1. Needed on the development/CI machines only (Ray on Linux
# binds to the main interface otherwise); the product itself never needs it. Requires root + iproute2.
# Usage: scripts/in_netns.sh CMD [ARGS...]
set -euo pipefail
ns="tg-$$-${RANDOM}"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns exec "$ns" ip link set lo up
set +e
ip netns exec "$ns" "$@"
rc=$?
set -e
exit $rc
