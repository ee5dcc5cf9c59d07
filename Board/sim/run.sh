#!/usr/bin/env bash
# `make run`: the simulated board's whole world on this machine. Starts the local conference
# server (real Prosody + the focus/bridge double with one remote participant, see
# Board/sim/conference/README.md), then the box with Board/sim/classbox.toml, and stops
# both on Ctrl-C. The camera starts private, as at every power-on; flip the simulated
# privacy switch from another terminal with `.build/debug/classbox switch open`.
#   run.sh CLASSBOX_BINARY CONFIG
set -euo pipefail
binary=$1 config=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
rundir="$root/.build/sim-run"
rm -rf "$rundir" && mkdir -p "$rundir"
export CLASSBOX_RUNTIME_DIR="$rundir/box"

# The box is the organiser: it becomes the room's owner and locks it with its password,
# which the simulated participant (joining after the box) is told.
password=$(cat "$(dirname "$config")/room-password")
# In its own session, so Ctrl-C reaches the box first; the trap stops the server after it.
setsid python3 "$root/Board/sim/conference/conference_server.py" --run-dir "$rundir/server" --events "$rundir/events.jsonl" \
    --participant after-box --participant-password "klasse-4b=$password" \
    > "$rundir/server.out" 2> "$rundir/server.log" &
server=$!
box=
cleanup() {
    trap - INT TERM EXIT
    [ -n "$box" ] && kill -INT "$box" 2>/dev/null && wait "$box" 2>/dev/null || true
    kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    echo "stopped the box and the local conference server (logs in $rundir)"
}
trap cleanup INT TERM EXIT

for _ in $(seq 1 300); do
    grep -q '"ready": true' "$rundir/server.out" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { echo "the local conference server did not start:"; tail -20 "$rundir/server.log"; exit 1; }
    sleep 0.1
done
grep -q '"ready": true' "$rundir/server.out" || { echo "the local conference server is not ready after 30 s"; tail -20 "$rundir/server.log"; exit 1; }
echo "local conference server ready: $(cat "$rundir/server.out")"
echo "the camera is private; to go live run in another terminal:  CLASSBOX_RUNTIME_DIR=$CLASSBOX_RUNTIME_DIR $binary switch open"

"$binary" run --config "$config" &
box=$!
# What the simulated remote participant sees of the box, once a second while the box runs.
python3 "$root/Board/sim/conference/watch_events.py" "$rundir/events.jsonl" "$box" &
wait "$box" || true
box=
