#!/usr/bin/env bash
# bench/session.sh — what a session costs in the app agent.
#
# Builds stickyform, starts two memcached nodes and the app agent on
# loopback, and runs wrk against /api/session with an established session
# cookie (sticky mode, then non-sticky mode) and against /health on the
# same agent, in interleaved rounds. Prints req/s and the ratio
# session/health; the last two lines are machine readable:
#   RESULT session-sticky <sticky_rps> <health_rps> <ratio>
#   RESULT session-nonsticky <nonsticky_rps> <health_rps> <ratio>
# Knobs: ROUNDS (3), DURATION (5s), THREADS (2), CONNS (32).
# Stops only what it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}

source bench/lib/loopback.bash
loopback_start session.sh go wrk memcached curl

wait_http() {
  for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench/session.sh: $1 did not answer" >&2; exit 1
}

echo "building stickyform..." >&2
CGO_ENABLED=0 go build -trimpath -o "$work/stickyform" ./cmd/stickyform

m1=$(free_port); m2=$(free_port)
memcached -l 127.0.0.1 -p "$m1" -U 0 -m 64 -t 2 -u root & pids+=($!)
memcached -l 127.0.0.1 -p "$m2" -U 0 -m 64 -t 2 -u root & pids+=($!)
nodes="n1:127.0.0.1:$m1 n2:127.0.0.1:$m2"

declare -A app_url
for mode in sticky non-sticky; do
  port=$(free_port)
  "$work/stickyform" agent app -listen "127.0.0.1:$port" -name "bench-$mode" \
    -nodes "$nodes" -failover-nodes n1 -mode "$mode" 2>"$work/app-$mode.log" & pids+=($!)
  app_url[$mode]="http://127.0.0.1:$port"
done
for mode in sticky non-sticky; do wait_http "${app_url[$mode]}/health"; done

# An established session: created once, one attribute, cookie reused.
declare -A cookie
for mode in sticky non-sticky; do
  id=$(curl -fsS -X PUT --data-binary 'bench' -c - "${app_url[$mode]}/api/session/attributes/user" |
       awk '$6 == "JSESSIONID" {print $7}')
  [ -n "$id" ] || { echo "bench/session.sh: no session cookie from $mode app" >&2; exit 1; }
  cookie[$mode]=$id
done
sleep 0.5 # let sticky mode's write-behind store the session

# rps URL [COOKIE] prints wrk's requests/sec.
rps() {
  local hdr=()
  [ -n "${2:-}" ] && hdr=(-H "Cookie: JSESSIONID=$2")
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "${hdr[@]}" "$1" | awk '/^Requests\/sec:/ {print $2}'
}

sum_sticky=0; sum_nonsticky=0; sum_health=0
for r in $(seq "$ROUNDS"); do
  s=$(rps "${app_url[sticky]}/api/session" "${cookie[sticky]}")
  h=$(rps "${app_url[sticky]}/health")
  n=$(rps "${app_url[non-sticky]}/api/session" "${cookie[non-sticky]}")
  printf 'round %d: sticky %s  non-sticky %s  health %s req/s\n' "$r" "$s" "$n" "$h"
  sum_sticky=$(awk -v a="$sum_sticky" -v b="$s" 'BEGIN {print a + b}')
  sum_nonsticky=$(awk -v a="$sum_nonsticky" -v b="$n" 'BEGIN {print a + b}')
  sum_health=$(awk -v a="$sum_health" -v b="$h" 'BEGIN {print a + b}')
done

# Sessions still the same ones: nothing was recreated under load.
for mode in sticky non-sticky; do
  got=$(curl -fsS -H "Cookie: JSESSIONID=${cookie[$mode]}" "${app_url[$mode]}/api/session")
  case "$got" in *"\"id\":\"${cookie[$mode]}\""*"\"user\":\"bench\""*) ;;
    *) echo "bench/session.sh: $mode session lost under load: $got" >&2; exit 1 ;; esac
done

avg() { awk -v a="$1" -v n="$ROUNDS" 'BEGIN {printf "%.0f", a / n}'; }
st=$(avg "$sum_sticky"); ns=$(avg "$sum_nonsticky"); he=$(avg "$sum_health")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS interleaved rounds, means:"
echo "RESULT session-sticky $st $he $(ratio "$st" "$he")"
echo "RESULT session-nonsticky $ns $he $(ratio "$ns" "$he")"
