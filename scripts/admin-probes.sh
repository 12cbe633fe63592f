#!/usr/bin/env bash
# Probes of issue #19 "Why", by hand against serve (in memory, 30 virtual devices in 3 groups), after
# `dotnet build IotOta.sln -c Release`; run from the repository root. Uses ports 5391/5392 and files in /tmp/f (mkdir -p /tmp/f).
set -u
mkdir -p /tmp/f
GW=src/Gateway/bin/Release/net10.0/IotOta.Gateway.dll
SIM=src/Simulation/bin/Release/net10.0/IotOta.Simulation.dll
U=http://127.0.0.1:5391
P=probe-password-123
echo "== short password"; IotOta__Admin__Password=a dotnet $GW serve --devices 0 --storage memory --urls http://127.0.0.1:5392 2>&1 | grep -i error; echo "exit ${PIPESTATUS[0]}"
IotOta__Admin__Password=$P dotnet $SIM serve --devices 30 --groups 3 --storage memory --urls $U --gateway-up-kbps 4000 > /tmp/f/serve.out 2>&1 &
SPID=$!
for i in $(seq 60); do curl -s $U/api/health >/dev/null && break; sleep 1; done
BP=$(grep broker: /tmp/f/serve.out | sed 's/.*://')
echo "== broker port $BP: ss -ltn"; ss -ltn | grep ":$BP " 
echo "== 50 wrong passwords"; start=$(date +%s.%N); for i in $(seq 50); do curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -d '{"user":"admin","password":"x'$i'"}' $U/api/login; done | sort | uniq -c; end=$(date +%s.%N); python3 -c "print(f\"took {$end - $start:.2f} s\")"
grep -c "failed login" /tmp/f/serve.out | sed 's/^/warnings logged: /'
kill $SPID; wait $SPID 2>/dev/null
IotOta__Admin__Password=$P dotnet $SIM serve --devices 30 --groups 3 --storage memory --urls $U --gateway-up-kbps 4000 > /tmp/f/serve.out 2>&1 &
SPID=$!
for i in $(seq 60); do curl -s $U/api/health >/dev/null && break; sleep 1; done
curl -s -c /tmp/f/c.txt -H 'Content-Type: application/json' -d '{"user":"admin","password":"'$P'"}' $U/api/login; echo
head -c 300000 /dev/urandom > /tmp/f/fw.bin
curl -s -o /dev/null -u admin:$P -F file=@/tmp/f/fw.bin -F version=2.0.0 $U/api/images
curl -s -o /dev/null -u admin:$P -H 'Content-Type: application/json' -d '{"imageId":"2.0.0"}' "$U/api/rollouts?start=true"
curl -s -o /dev/null -u admin:$P -X POST $U/api/rollouts/r1/pause
echo "== forged abort (cookie, Origin evil)"; curl -s -b /tmp/f/c.txt -X POST $U/api/rollouts/r1/abort -H 'Origin: http://evil.example' -H 'Content-Type: application/x-www-form-urlencoded' -w ' -> %{http_code}\n'
echo "== cookie abort without token, no Origin"; curl -s -b /tmp/f/c.txt -X POST $U/api/rollouts/r1/abort -w ' -> %{http_code}\n'
echo "== forged upload (cookie, Sec-Fetch-Site same-site)"; curl -s -b /tmp/f/c.txt -H 'Sec-Fetch-Site: same-site' -F file=@/tmp/f/fw.bin -F version=6.6.6 $U/api/images -w ' -> %{http_code}\n'
echo "== state of r1: $(curl -s -u admin:$P $U/api/rollouts/r1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
echo "== six parallel ?start=true while r1 is paused"; for i in $(seq 6); do curl -s -o /dev/null -w '%{http_code}\n' -u admin:$P -H 'Content-Type: application/json' -d '{"imageId":"2.0.0"}' "$U/api/rollouts?start=true" & done | sort | uniq -c
echo "rollouts now: $(curl -s -u admin:$P $U/api/rollouts | python3 -c 'import json,sys; print([(r["id"],r["state"]) for r in json.load(sys.stdin)])')"
echo "== 200 event streams (basic)"; for i in $(seq 200); do curl -s -N -m 3 -o /dev/null -w '%{http_code}\n' -u admin:$P $U/api/rollouts/r1/events & done | sort | uniq -c
echo "== errors"
curl -s -u admin:$P -H 'Content-Type: multipart/form-data; boundary=xyz' --data-binary $'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc' $U/api/images -w ' -> %{http_code}\n'
curl -s -u admin:$P -H 'Content-Type: application/json' -d '{"imageId":"2.0.0","timeoutSeconds":99999999999}' $U/api/rollouts -w ' -> %{http_code}\n'
curl -s -u admin:$P -H 'Content-Type: application/json' -d '{"imageId":"2.0.0","timeoutSeconds":"60"}' $U/api/rollouts -w ' -> %{http_code}\n'
curl -s -u admin:$P -H 'Content-Type: application/json' -d '{"imageId":' $U/api/rollouts -w ' -> %{http_code}\n'
echo "== logout, then the old cookie"; TOKEN=$(curl -s -b /tmp/f/c.txt -c /tmp/f/c.txt $U/api/antiforgery | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cp /tmp/f/c.txt /tmp/f/old.txt
curl -s -N -m 20 -b /tmp/f/c.txt -o /tmp/f/stream.txt -w 'stream ended -> %{http_code} after %{time_total} s\n' $U/api/rollouts/r1/events &
CPID=$!
sleep 1
curl -s -b /tmp/f/c.txt -X POST -H "X-CSRF-TOKEN: $TOKEN" $U/api/logout -w 'logout -> %{http_code}\n'
wait $CPID
curl -s -b /tmp/f/old.txt $U/api/devices -o /dev/null -w 'old cookie GET /api/devices -> %{http_code}\n'
echo "== OpenAPI"; curl -s $U/openapi/v1.json | python3 -c '
import json,sys; d=json.load(sys.stdin); codes={}
for p,i in d["paths"].items():
  for m,o in i.items():
    for c in o["responses"]: codes[c]=codes.get(c,0)+1
print("operations", sum(len(i) for i in d["paths"].values()), "response codes", dict(sorted(codes.items())), "security schemes", list(d["components"]["securitySchemes"]))
print("events content", list(d["paths"]["/api/rollouts/{id}/events"]["get"]["responses"]["200"]["content"]))
print("upload fields", list(d["paths"]["/api/images"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]))'
echo "== headers of /"; curl -s -D - -o /dev/null $U/ | grep -i -E 'content-security|x-frame|x-content'
curl -s -u admin:$P -X POST $U/api/rollouts/r1/resume -o /dev/null
sleep 1
echo "== metrics during the rollout"; curl -s -u admin:$P $U/metrics | grep -v '^#' | grep -v bucket
echo "== audit"; curl -s -u admin:$P "$U/api/audit?limit=8" | python3 -c 'import json,sys; [print(e["at"][11:19], e["actor"], e["action"], e["target"], (e["detail"] or "")[:70]) for e in json.load(sys.stdin)["items"]]'
kill $SPID; wait $SPID 2>/dev/null
