#!/usr/bin/env bash
# bench/cache.sh — the cache agent against real memcached.
#
# Builds stickyform, starts real memcached (-t 2 -m 64) and the cache agent
# (GOMAXPROCS=2, -memory-mb 64) on loopback, then runs the same memcaslap
# load with value verification on every get (--verify=1.0) against each, in
# interleaved rounds (alternating which goes first). Prints ops/s per round,
# the medians, the ratio agent/memcached (median of the per-round ratios),
# both servers' peak resident memory and the verification failures, and
# exits non-zero when any value failed verification. The last line is
# machine readable:
#   RESULT cache-throughput <agent_ops> <memcached_ops> <ratio>
# Knobs: ROUNDS (5), DURATION (4s), THREADS (2), CONCURRENCY (32),
# MEMORY_MB (64), STICKYFORM_BIN (use this binary instead of building).
# Stops only what it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/sbin

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4s}
THREADS=${THREADS:-2}
CONCURRENCY=${CONCURRENCY:-32}
MEMORY_MB=${MEMORY_MB:-64}

source bench/lib/loopback.bash
loopback_start cache.sh go memcached memcaslap

# wait_version waits until 127.0.0.1:$1 answers the memcached "version" command.
wait_version() {
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    if python3 - "$port" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"version\r\n")
sys.exit(0 if s.recv(100).startswith(b"VERSION ") else 1)
PY
    sleep 0.1
  done
  echo "bench/cache.sh: nothing answers on port $port" >&2
  exit 1
}

bin=${STICKYFORM_BIN:-}
if [[ -z $bin ]]; then
  bin=$work/stickyform
  CGO_ENABLED=0 go build -o "$bin" ./cmd/stickyform
fi

mc_port=$(free_port)
user_args=()
[[ $(id -u) == 0 ]] && user_args=(-u nobody)
memcached -l 127.0.0.1 -p "$mc_port" -m "$MEMORY_MB" -t "$THREADS" -c 1024 -U 0 "${user_args[@]}" &
mc_pid=$!
pids+=($!)
wait_version "$mc_port"

agent_port=$(free_port)
GOMAXPROCS=$THREADS "$bin" agent cache -listen "127.0.0.1:$agent_port" -memory-mb "$MEMORY_MB" -max-conns 1024 2>"$work/agent.log" &
agent_pid=$!
pids+=($!)
wait_version "$agent_port"

# run_load NAME PORT runs memcaslap once and records ops/s and failures.
run_load() {
  local name=$1 port=$2 out tps failed
  out=$(memcaslap -s "127.0.0.1:$port" -T "$THREADS" -c "$CONCURRENCY" -t "$DURATION" --verify=1.0 2>&1) || {
    echo "$out" >&2
    echo "bench/cache.sh: memcaslap against $name failed" >&2
    exit 1
  }
  tps=$(awk '/^Run time:/ { for (i = 1; i < NF; i++) if ($i == "TPS:") v = $(i + 1) } END { print v + 0 }' <<<"$out")
  failed=$(awk '/verify_failed:/ { v = $2 } END { print v + 0 }' <<<"$out")
  misses=$(awk '/verify_misses:/ { v = $2 } END { print v + 0 }' <<<"$out")
  printf '  %-10s %10d ops/s   verify_failed %d   verify_misses %d\n' "$name" "$tps" "$failed" "$misses"
  echo "$name $tps $failed" >>"$work/results"
}

echo "cache throughput: memcaslap -T $THREADS -c $CONCURRENCY -t $DURATION --verify=1.0, $ROUNDS rounds, $MEMORY_MB MiB each"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r"
  if ((r % 2)); then
    run_load memcached "$mc_port"
    run_load agent "$agent_port"
  else
    run_load agent "$agent_port"
    run_load memcached "$mc_port"
  fi
done

# Each round runs the pair back to back, so its ratio cancels most of the
# drift of a shared machine; the median over rounds ignores an outlier.
read -r agent_ops mc_ops ratio failures < <(python3 - "$work/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
agent = [int(r[1]) for r in rows if r[0] == "agent"]
mc = [int(r[1]) for r in rows if r[0] == "memcached"]
ratios = [a / m if m else 0 for a, m in zip(agent, mc)]
fail = sum(int(r[2]) for r in rows)
print(int(statistics.median(agent)), int(statistics.median(mc)), "%.2f" % statistics.median(ratios), fail)
PY
)
# peak_rss PID prints the process's peak resident memory in MiB.
peak_rss() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
echo "peak resident memory: agent $(peak_rss "$agent_pid") MiB, memcached $(peak_rss "$mc_pid") MiB (limit $MEMORY_MB MiB each)"
echo "median: agent $agent_ops ops/s, memcached $mc_ops ops/s, ratio $ratio (median of per-round ratios), verification failures $failures"
status=0
if ((failures > 0)); then
  echo "bench/cache.sh: $failures values failed verification" >&2
  status=1
fi
echo "RESULT cache-throughput $agent_ops $mc_ops $ratio"
exit $status
