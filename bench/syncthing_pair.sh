#!/usr/bin/env bash
# Syncthing beside the agent (docs/performance.md, *Method and anchors*): two Syncthing instances
# on loopback, one folder send-only → receive-only, the same drops as the agent's bench rows.
# Needs `apt-get install syncthing` and python3. As root it runs in a network namespace of its
# own whose only interface is `lo` (BENCH_NETNS=off runs it in the host's; =on insists).
# Settings: DELAYS=10,1 REPS=5 SMALL_KIB=1024 NFILES=200 FILE_MIB=5 BATCH_REPS=3 BIG_MIB=1024
# BIG_REPS=3 TIMEOUT_S=900 KEEP_SCRATCH=0 (see bench/syncthing_pair.py). A smoke run:
#   DELAYS=1 REPS=2 NFILES=10 FILE_MIB=1 BIG_MIB=16 BATCH_REPS=1 BIG_REPS=1 bench/syncthing_pair.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v syncthing >/dev/null || { echo "syncthing is not installed: apt-get install syncthing" >&2; exit 1; }

netns=${BENCH_NETNS:-auto}
if [ -z "${_YINGJIAN_IN_NETNS:-}" ] && [ "$netns" != off ]; then
    if command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
        exec unshare -n env _YINGJIAN_IN_NETNS=1 "$0" "$@"
    elif [ "$netns" = on ]; then
        echo "no network namespace: needs root, unshare and ip" >&2
        exit 1
    fi
fi
if [ -n "${_YINGJIAN_IN_NETNS:-}" ]; then
    ip link set lo up
    export _BENCH_NETNS_NOTE="own network namespace, interfaces: $(ip -o link | awk -F': ' '{print $2}' | paste -sd' ')"
else
    export _BENCH_NETNS_NOTE="host network namespace, Syncthing configured for loopback only"
fi
exec python3 "$here/syncthing_pair.py"
