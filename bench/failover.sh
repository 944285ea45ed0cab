#!/usr/bin/env bash
# bench/failover.sh — what users feel when the sticky app's whole host is
# cut off under steady load. On a fresh 3-host lab it applies
# examples/classic and runs bench/failover, which calls verify's failover
# measurement (verify.Failover: the host's lab link is cut while simulated
# users keep requesting through the proxy, then restored) BENCH_ROUNDS
# times. The baseline is the same steady stream with nothing broken
# (verify's sticky scenario), measured in the same run.
#
# Usage: bench/failover.sh   (root; BENCH_ROUNDS (or ROUNDS)=3, BENCH_FAILOVER_DURATION=5s)
# Prints: RESULT failover-errors <failed> <requests> <failed/requests> (lower is better)
#         RESULT failover-worst-ms <worst> <baseline worst> <baseline/worst> (1 = unnoticeable)
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

ROUNDS=${BENCH_ROUNDS:-${ROUNDS:-3}}
DURATION=${BENCH_FAILOVER_DURATION:-5s}
HOSTS=3
bench_start failover
SFDIR=$BENCH_WORK/classic

lab_up "$HOSTS"
mkdir -p "$SFDIR"
cp "$bench_root"/examples/classic/*.hcl "$SFDIR/"
"$SF" -chdir="$SFDIR" apply -auto-approve >>"$BENCH_WORK/cmd.log" 2>&1 || die "apply of examples/classic failed; see $BENCH_WORK/cmd.log"

(cd "$bench_root" && go build -o "$BENCH_WORK/failover" ./bench/failover) || die "build bench/failover"
"$BENCH_WORK/failover" -chdir="$SFDIR" -rounds "$ROUNDS" -duration "$DURATION" >"$BENCH_WORK/figures" 2>>"$BENCH_WORK/cmd.log" ||
	die "bench/failover failed"
# Lines: failover|baseline SCENARIO REQUESTS ERRORS LOST WORST_MS RECOVERY_MS PASS
while read -r kind name req err lost worst rec pass; do
	log "  $kind ($name): $req requests, $err failed, $lost with lost session data, worst $worst ms, recovery $rec ms, pass=$pass"
done <"$BENCH_WORK/figures"
read -r scenario total failed lost worst < <(awk '$1 == "failover" { s = $2; r += $3; e += $4; l += $5; if ($6 > w) w = $6 }
	END { print s, r + 0, e + 0, l + 0, w + 0 }' "$BENCH_WORK/figures")
read -r base_total base_worst < <(awk '$1 == "baseline" { r += $3; if ($6 > w) w = $6 } END { print r + 0, w + 0 }' "$BENCH_WORK/figures")
((total > 0)) || die "no failover figures"

echo "failover ($scenario, $ROUNDS rounds of $DURATION): $failed of $total requests failed, $lost answers lost session data; worst latency ${worst} ms (baseline ${base_worst} ms over $base_total requests)"
echo "RESULT failover-errors $failed $total $(awk -v f="$failed" -v t="$total" 'BEGIN { printf "%.4f", t ? f / t : 0 }')"
echo "RESULT failover-worst-ms ${worst}ms ${base_worst}ms $(awk -v b="$base_worst" -v w="$worst" 'BEGIN { printf "%.3g", w ? b / w : 0 }')"
