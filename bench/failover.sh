#!/usr/bin/env bash
# bench/failover.sh — what users feel when the sticky app's whole host is
# cut off under steady load. On a fresh 3-host lab it applies
# examples/classic and runs verify's failover measurement (`stickyform
# verify -scenario network-cut`: the host's lab link is cut while simulated
# users keep requesting through the proxy, then restored; verify's
# host-down scenario where the network cannot be cut), BENCH_ROUNDS times.
# The baseline is the same steady stream with nothing broken (verify's
# sticky scenario), measured in the same run.
#
# Usage: bench/failover.sh   (root; BENCH_ROUNDS=3, BENCH_FAILOVER_DURATION=5s)
# Prints: RESULT failover-errors <failed> <requests> <failed/requests> (lower is better)
#         RESULT failover-worst-ms <worst> <baseline worst> <baseline/worst> (1 = unnoticeable)
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_FAILOVER_DURATION:-5s}
HOSTS=3
need_root_and_binary
BENCH_WORK=$(mktemp -d /tmp/stickyform-bench-failover.XXXXXX)
SFDIR=$BENCH_WORK/classic

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if ((lab_ours)) && [[ -f $SFDIR/stickyform.state.json ]]; then
		"$SF" -chdir="$SFDIR" destroy -auto-approve >>"$BENCH_WORK/cmd.log" 2>&1 || log "warning: destroy failed"
	fi
	lab_down
	rm -rf "$BENCH_WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# verify_json SCENARIO runs one verify scenario and sets REQ ERR WORST REC
# PASS SKIPPED from its result. A failing scenario is a figure, not an
# error; a run without a result is an error.
verify_json() {
	local out=$BENCH_WORK/verify-$1.json st=0
	"$SF" -chdir="$SFDIR" verify -json -scenario "$1" -duration "$DURATION" >"$out" 2>>"$BENCH_WORK/cmd.log" || st=$?
	((st <= 1)) || die "verify -scenario $1 exited $st; see $BENCH_WORK/cmd.log"
	python3 - "$out" "$1" >"$out.txt" <<'EOF' || die "verify -scenario $1 printed no usable JSON"
import json, sys
doc = json.load(open(sys.argv[1]))
for s in doc["scenarios"]:
    if s["name"] == sys.argv[2]:
        print(s["requests"], s["errors"], s.get("worst_ms", 0), s.get("recovery_ms", 0),
              int(s["pass"]), int(s.get("skipped", False)))
        if s.get("detail"):
            print("detail:", s["detail"], file=sys.stderr)
        break
else:
    sys.exit("no result for " + sys.argv[2])
EOF
	read -r REQ ERR WORST REC PASS SKIPPED <"$out.txt"
}

lab_up "$HOSTS"
mkdir -p "$SFDIR"
cp "$bench_root"/examples/classic/*.hcl "$SFDIR/"
"$SF" -chdir="$SFDIR" apply -auto-approve >>"$BENCH_WORK/cmd.log" 2>&1 || die "apply of examples/classic failed; see $BENCH_WORK/cmd.log"

scenario=network-cut
total=0 failed=0 worst=0 base_worst=0 base_total=0
for ((r = 1; r <= ROUNDS; r++)); do
	verify_json "$scenario"
	if ((SKIPPED)) && [[ $scenario == network-cut ]]; then
		log "network-cut is skipped here; measuring host-down (app and cache of the host stopped)"
		scenario=host-down
		verify_json "$scenario"
	fi
	((SKIPPED == 0)) || die "verify skipped $scenario"
	total=$((total + REQ)) failed=$((failed + ERR)) worst=$(maxof "$worst" "$WORST")
	log "  round $r: $scenario: $REQ requests, $ERR failed, worst $WORST ms, recovery $REC ms, pass=$PASS"
	verify_json sticky
	base_total=$((base_total + REQ)) base_worst=$(maxof "$base_worst" "$WORST")
	log "  round $r: baseline (sticky, nothing broken): $REQ requests, worst $WORST ms"
done

echo "failover ($scenario, $ROUNDS rounds of $DURATION): $failed of $total requests failed; worst latency ${worst} ms (baseline ${base_worst} ms over $base_total requests)"
echo "RESULT failover-errors $failed $total $(awk -v f="$failed" -v t="$total" 'BEGIN { printf "%.4f", t ? f / t : 0 }')"
echo "RESULT failover-worst-ms ${worst}ms ${base_worst}ms $(ratio "$base_worst" "$worst")"
