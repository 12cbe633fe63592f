#!/usr/bin/env bash
# Runs one command against a private Mosquitto (sys_interval 1) and prints what the broker itself counted:
#   bash scripts/broker-bytes.sh demo --devices 30 --groups 3 --json
# The command gets `--broker 127.0.0.1:PORT` appended. Bytes are Mosquitto's $SYS/broker/bytes/sent|received (every
# byte on every client socket: CONNECT/CONNACK, SUBSCRIBE, PUBLISH, PUBACK, PINGs, retained messages), read before
# the command and after it has exited and the broker has published a fresh $SYS update. Needs mosquitto and
# mosquitto_sub (Debian: apt-get install mosquitto mosquitto-clients).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/sbin/mosquitto mosquitto_sub python3 awk; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: scripts/broker-bytes.sh needs $tool (Debian: apt-get install mosquitto mosquitto-clients python3 gawk)" >&2
        exit 2
    fi
done
PROJECT=${PROJECT:-src/Gateway}
[ -d src/Simulation ] && [ -z "${PROJECT_SET:-}" ] && PROJECT=src/Simulation
dir=$(mktemp -d /tmp/iotota-broker-bytes.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\nset_tcp_nodelay true\nmax_queued_messages 0\nlog_dest none\n' "$port" > "$dir/mosquitto.conf"
/usr/sbin/mosquitto -c "$dir/mosquitto.conf" & mpid=$!
trap 'kill $mpid 2>/dev/null || true; rm -rf "$dir"' EXIT
sleep 1.5
read_sys() { mosquitto_sub -h 127.0.0.1 -p "$port" -C 2 -v -t '$SYS/broker/bytes/sent' -t '$SYS/broker/bytes/received' -W 10 | sort | awk '{print $2}' | paste -sd' '; }
read -r recv0 sent0 <<<"$(read_sys)"
if [ -z "${sent0:-}" ]; then echo "error: the broker on port $port published no \$SYS/broker/bytes counters within 10 s" >&2; exit 1; fi
start=$(date +%s.%N)
set +e
dotnet run -c Release --no-build --project "$PROJECT" -- "$@" --broker "127.0.0.1:$port" > "$dir/out" 2> "$dir/err"; rc=$?
set -e
end=$(date +%s.%N)
sleep 2.2
read -r recv1 sent1 <<<"$(read_sys)"
if [ -z "${sent1:-}" ]; then echo "error: the broker on port $port published no \$SYS/broker/bytes counters after the command" >&2; exit 1; fi
cat "$dir/out" >&2
echo "{\"rc\":$rc,\"seconds\":$(awk "BEGIN{printf \"%.3f\", $end - $start}"),\"brokerBytesSent\":$((sent1 - sent0)),\"brokerBytesReceived\":$((recv1 - recv0))}"
