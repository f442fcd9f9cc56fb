#!/usr/bin/env bash
# Run a command inside a fresh loopback-only network namespace (required: fails if none can be made).
# Needed on the development/CI machines only; `make demo` and `make test` already go through
# scripts/loopback.sh, which does the same when it can. Usage: scripts/in_netns.sh CMD [ARGS...]
LOOPBACK=1 exec "$(dirname "$0")/loopback.sh" "$@"
