#!/usr/bin/env bash
# Runs the `rollout` command against two `fleet` processes on Mosquitto and prints its exit code for one outcome:
#   all: fleet 2 SIGKILLed 1 s in, started again 3 s later on its flash files (issue #16) -> 0
#   pending: fleet 2 SIGKILLed 1 s in and left down; the window (WIN s) ends -> 3
#   failed: signed with a key the devices do not trust -> 1
# Needs `dotnet build src/Gateway -c Release` and `dotnet build src/Simulation -c Release` first. Usage: scripts/rollout-outcomes.sh all|pending|failed
set -u
MODE=$1
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/iotota-outcome.XXXX); cd "$W"
G="dotnet $REPO/src/Gateway/bin/Release/net10.0/IotOta.Gateway.dll"        # keygen, rollout
S="dotnet $REPO/src/Simulation/bin/Release/net10.0/IotOta.Simulation.dll"  # fleet
PORT=$((20000 + RANDOM % 20000))
mosquitto -p $PORT >mosq.log 2>&1 & MQ=$!
$G keygen --out signing.pem >/dev/null
head -c 4194304 /dev/urandom > firmware.bin
$S fleet --broker 127.0.0.1:$PORT --trust signing.pem.pub --devices 10 --groups 2 --data-dir "$W/f1" >f1.log 2>&1 & F1=$!
$S fleet --broker 127.0.0.1:$PORT --trust signing.pem.pub --devices 10 --groups 2 --first-node 100 --data-dir "$W/f2" >f2.log 2>&1 & F2=$!
sleep 4
WIN=${WIN:-60}
if [ "$MODE" = failed ]; then # a key the devices do not trust: every device refuses the manifest
  $G keygen --out other.pem >/dev/null; KEY=other.pem; WIN=${WIN_FAILED:-15}
else KEY=signing.pem; fi
$G rollout --broker 127.0.0.1:$PORT --image firmware.bin --version 2.1.0 --key $KEY --devices 20 --window $WIN >rollout.log 2>&1 & R=$!
for i in $(seq 1 200); do grep -q "Window" rollout.log 2>/dev/null && break; sleep 0.05; done
if [ "$MODE" != failed ]; then
  sleep 1; kill -9 $F2; echo "killed fleet 2 at $(date +%T)"
  if [ "$MODE" = all ]; then sleep 3; $S fleet --broker 127.0.0.1:$PORT --trust signing.pem.pub --devices 10 --groups 2 --first-node 100 --data-dir "$W/f2" >f2b.log 2>&1 & F2=$!; fi
fi
wait $R; RC=$?
grep -E "Rollout ended|Outcome|Pending:|Failed:" rollout.log | sed "s/^\s*//" | grep -v "Pending: device" ; grep -c "Pending: device" rollout.log | sed "s/$/ pending devices listed/"
echo "$MODE: rollout exit code $RC"
kill $F1 $F2 $MQ 2>/dev/null; wait 2>/dev/null
