#!/usr/bin/env bash
# The one test command, for a fresh Debian machine or a developer's: run from anywhere inside the repo.
#   1. installs what the tests need when it is missing (mosquitto, postgresql, ejabberd; apt-get update only when something must be installed)
#   2. dotnet build IotOta.sln -c Release   (includes src/DeviceCore.Nano: the device core against nanoFramework's mscorlib,
#      and src/Board: the board program against mscorlib and src/Board.References)
#   3. dotnet test  IotOta.sln -c Release --no-build, one TRX per test project
#   4. prints "N passed, N failed[, N skipped]" summed over every TRX; exits non-zero on any failure or when no test ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
export DEBIAN_FRONTEND=noninteractive
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# ---- system packages -------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: need to install $* but apt-get is not available; install it by hand" >&2
        exit 1
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

# mosquitto: the integration tests start their own brokers on free loopback ports (tests/TestSupport/MosquittoBroker.cs).
if [ ! -x /usr/sbin/mosquitto ] && ! command -v mosquitto >/dev/null 2>&1; then
    apt_install mosquitto
fi
# The Debian package may start a system broker on port 1883; the tests do not use it, so keep it out of the way.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
    log "stopping and disabling the system mosquitto service (tests use their own brokers)"
    $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
elif [ -x /etc/init.d/mosquitto ] && /etc/init.d/mosquitto status >/dev/null 2>&1; then
    log "stopping the system mosquitto service (tests use their own brokers)"
    $SUDO /etc/init.d/mosquitto stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && { $SUDO update-rc.d mosquitto disable >/dev/null 2>&1 || true; }
fi

# ---- PostgreSQL for the store tests -----------------------------------------------------------------------------
# tests/FleetFaults.Tests run the gateway's store contract against a real PostgreSQL: tests/TestSupport/PostgresServer.cs
# runs initdb and postgres from /usr/lib/postgresql/N/bin in a temp dir on a free port (as the postgres user when root).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
fi
# (A cluster the package starts on port 5432 is left alone: the tests use free ports.)

# ---- ejabberd: the second (and clustered) MQTT broker -------------------------------------------------------------
# tests/ScaleOut.Tests start private ejabberd nodes (mod_mqtt) from erl in temp dirs on free ports
# (tests/TestSupport/EjabberdNode.cs), one node and a 2-node cluster; the package's own service is not used.
if ! ls /usr/lib/*/ejabberd-*/ebin/ejabberd.app >/dev/null 2>&1 || [ ! -x /usr/bin/erl ]; then
    apt_install ejabberd
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet ejabberd 2>/dev/null; then
    log "stopping and disabling the system ejabberd service (tests use their own nodes)"
    $SUDO systemctl disable --now ejabberd >/dev/null 2>&1 || true
fi

# ---- browser for end-to-end UI tests ---------------------------------------------------------------------------
# tests/Browser.Tests drive Debian's Chromium through Playwright (its node driver ships in the NuGet package; no
# `playwright install`). CHROMIUM_PATH tells the tests where it is.
if [ -z "${CHROMIUM_PATH:-}" ]; then
    if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
    CHROMIUM_PATH=$(command -v chromium || echo /usr/bin/chromium)
fi
export CHROMIUM_PATH
# ----------------------------------------------------------------------------------------------------------------

if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: dotnet SDK not found on PATH (the project needs the .NET 10 SDK)" >&2
    exit 1
fi

# ---- build -----------------------------------------------------------------------------------------------------
log "dotnet build IotOta.sln -c Release"
if ! dotnet build IotOta.sln -c Release; then
    echo "error: dotnet build IotOta.sln -c Release failed; no tests were run" >&2
    exit 1
fi
NANO_DLL="src/DeviceCore.Nano/bin/Release/net10.0/IotOta.DeviceCore.Nano.dll"
if [ -f "$NANO_DLL" ]; then
    echo "nanoFramework check: OK - the device core (src/Shared + src/DeviceFirmware) compiles against nanoFramework's mscorlib ($NANO_DLL)"
else
    echo "error: $NANO_DLL was not built: is src/DeviceCore.Nano still in IotOta.sln?" >&2
    exit 1
fi
BOARD_DLL="src/Board/bin/Release/net10.0/IotOta.Board.dll"
if [ -f "$BOARD_DLL" ]; then
    echo "nanoFramework check: OK - the board program (src/Board + the device core) compiles against nanoFramework's mscorlib and the cited reference assemblies of its packages (src/Board.References) ($BOARD_DLL)"
else
    echo "error: $BOARD_DLL was not built: is src/Board still in IotOta.sln?" >&2
    exit 1
fi

# ---- test ------------------------------------------------------------------------------------------------------
RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
log "dotnet test IotOta.sln -c Release --no-build"
CONSOLE_LOG="$ROOT/artifacts/test-console.log"
set +e
dotnet test IotOta.sln -c Release --no-build \
    --logger "trx" --logger "console;verbosity=minimal" \
    --results-directory "$RESULTS" 2>&1 | tee "$CONSOLE_LOG"
TEST_RC=${PIPESTATUS[0]}
set -e

# ---- totals over every TRX -------------------------------------------------------------------------------------
attr() { # attr NAME LINE -> the number in NAME="N" (0 when absent)
    local v
    v=$(printf '%s\n' "$2" | grep -o "[[:space:]]$1=\"[0-9]*\"" | head -n1 | grep -o '[0-9][0-9]*' || true)
    echo "${v:-0}"
}
TOTAL=0 PASSED=0 FAILED=0 SKIPPED=0 FILES=0
while IFS= read -r -d '' trx; do
    counters=$(tr '\n' ' ' < "$trx" | grep -o '<Counters [^>]*>' | head -n1 || true)
    if [ -z "$counters" ]; then
        echo "warning: no <Counters> in $trx" >&2
        FAILED=$((FAILED + 1))
        continue
    fi
    FILES=$((FILES + 1))
    TOTAL=$((TOTAL + $(attr total "$counters")))
    PASSED=$((PASSED + $(attr passed "$counters")))
    FAILED=$((FAILED + $(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters") + $(attr aborted "$counters")))
    # Skipped tests (xunit Skip=) are in total but not in executed; notExecuted stays 0 for them.
    skipped=$(( $(attr total "$counters") - $(attr executed "$counters") ))
    if [ "$skipped" -lt "$(attr notExecuted "$counters")" ]; then skipped=$(attr notExecuted "$counters"); fi
    SKIPPED=$((SKIPPED + skipped))
done < <(find "$RESULTS" -name '*.trx' -print0)

echo
echo "test results: $FILES TRX file(s) in $RESULTS; dotnet test exit code $TEST_RC"
STATUS=0
# One console summary line per test assembly ("Passed!  - Failed: ..."); a TRX lost to a name clash must not hide tests.
RUNS=$(grep -cE '^(Passed|Failed)! +- Failed:' "$CONSOLE_LOG" || true)
if [ "${RUNS:-0}" -gt "$FILES" ]; then
    echo "error: $RUNS test assemblies ran but only $FILES TRX file(s) were written; totals would be incomplete" >&2
    STATUS=1
fi
if [ "$TEST_RC" -ne 0 ]; then STATUS=1; fi
if [ "$FAILED" -ne 0 ]; then STATUS=1; fi
if [ $((PASSED + FAILED)) -eq 0 ]; then
    echo "error: no test ran" >&2
    STATUS=1
fi
if [ "$SKIPPED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
exit "$STATUS"
