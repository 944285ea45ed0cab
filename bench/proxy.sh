#!/usr/bin/env bash
# bench/proxy.sh — the proxy agent against nginx and HAProxy.
#
# Builds stickyform, starts two nginx "return 200" backends on loopback, then
# three sticky proxies in front of them: nginx (2 workers, keepalive upstreams,
# cookie route mapped to an upstream), HAProxy (nbthread 2, cookie route
# insert, http-reuse always) and the agent (GOMAXPROCS=2). Each gets the same
# wrk load (-t2 -c64, a route cookie pinning backend 1) in interleaved
# rounds. Prints req/s, p99 and CPU time per request (all of the proxy's
# processes and threads, user + system: the figure that noise from other jobs
# on the machine disturbs least) per proxy and round, then the median round
# of each proxy; the last two lines are machine readable:
#   RESULT proxy-p99 <agent_ms> <best_peer_ms> <ratio>
#   RESULT proxy-throughput <agent_rps> <best_peer_rps> <ratio>
# Knobs: ROUNDS (3), DURATION (5s), THREADS (2), CONNS (64).
# Stops only what it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/sbin

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}

source bench/lib/loopback.bash
loopback_start proxy.sh go wrk nginx haproxy curl

B1=$(free_port); B2=$(free_port); NGINX=$(free_port); HAPROXY=$(free_port); AGENT=$(free_port); ADMIN=$(free_port)

render() { # template output
  sed -e "s|@WORK@|$work|g" -e "s|@B1@|$B1|g" -e "s|@B2@|$B2|g" \
      -e "s|@NGINX@|$NGINX|g" -e "s|@HAPROXY@|$HAPROXY|g" "$1" >"$2"
}

wait_port() { # port
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.05
  done
  echo "bench/proxy.sh: nothing answers on port $1" >&2; exit 1
}

echo "building stickyform"
CGO_ENABLED=0 go build -trimpath -o "$work/stickyform" ./cmd/stickyform

render bench/proxy/backends.nginx.conf "$work/backends.conf"
render bench/proxy/proxy.nginx.conf "$work/nginx.conf"
render bench/proxy/haproxy.cfg "$work/haproxy.cfg"
mkdir -p "$work/prefix/logs"
nginx -p "$work/prefix" -c "$work/backends.conf"; pidfiles+=("$work/backends.pid")
nginx -p "$work/prefix" -c "$work/nginx.conf"; pidfiles+=("$work/nginx.pid")
haproxy -D -f "$work/haproxy.cfg" -p "$work/haproxy.pid"; pidfiles+=("$work/haproxy.pid")
GOMAXPROCS=2 "$work/stickyform" agent proxy -listen "127.0.0.1:$AGENT" -admin-listen "127.0.0.1:$ADMIN" \
  -backend "http://127.0.0.1:$B1" -backend "http://127.0.0.1:$B2" 2>"$work/agent.log" &
pids+=($!)
for p in $B1 $B2 $NGINX $HAPROXY $AGENT; do wait_port "$p"; done

# Each proxy's own cookie value for backend 1, as it issues it.
agent_cookie=$(curl -s -D - -o /dev/null "http://127.0.0.1:$AGENT/" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: route=\([^;]*\).*/\1/p')
for _ in 1 2; do
  body=$(curl -s -H "Cookie: route=$agent_cookie" "http://127.0.0.1:$AGENT/")
  [[ $body == backend-1 ]] && break
  agent_cookie=$(curl -s -D - -o /dev/null "http://127.0.0.1:$AGENT/" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: route=\([^;]*\).*/\1/p')
done
declare -A cookie=([nginx]=s1 [haproxy]=s1 [agent]=$agent_cookie)
declare -A port=([nginx]=$NGINX [haproxy]=$HAPROXY [agent]=$AGENT)
for name in nginx haproxy agent; do
  body=$(curl -s -H "Cookie: route=${cookie[$name]}" "http://127.0.0.1:${port[$name]}/")
  [[ $body == backend-1 ]] || { echo "bench/proxy.sh: $name with cookie ${cookie[$name]} answered '$body', want backend-1" >&2; exit 1; }
done
echo "cookies: agent route=$agent_cookie, nginx/haproxy route=s1 (all pin backend 1)"

# cpu_ticks pid... -> user+system clock ticks of every thread of the pids.
cpu_ticks() {
  local sum=0 t v
  for pid in "$@"; do
    for t in /proc/"$pid"/task/*/stat; do
      v=$(awk '{print $14+$15}' "$t" 2>/dev/null) || continue
      sum=$((sum + ${v:-0}))
    done
  done
  echo "$sum"
}
nginx_master=$(cat "$work/nginx.pid")
declare -A procs=([nginx]="$nginx_master $(pgrep -P "$nginx_master" | tr '\n' ' ')" [haproxy]="$(cat "$work/haproxy.pid")" [agent]="${pids[0]}")
tick=$(getconf CLK_TCK)

# run_wrk name -> "rps p99_ms cpu_us_per_request"
run_wrk() {
  local out rps p99 c0 c1 n
  c0=$(cpu_ticks ${procs[$1]})
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: route=${cookie[$1]}" "http://127.0.0.1:${port[$1]}/")
  c1=$(cpu_ticks ${procs[$1]})
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "bench/proxy.sh: $1 had errors:" >&2; echo "$out" >&2; fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  echo "$rps $p99 $(awk -v c=$((c1 - c0)) -v t="$tick" -v n="$n" 'BEGIN{printf "%.1f", c*1e6/t/n}')"
}

echo "load before: $(uptime)"
declare -A all_rps all_p99 all_cpu
for r in $(seq "$ROUNDS"); do
  for name in nginx haproxy agent; do
    read -r rps p99 cpu < <(run_wrk "$name")
    printf 'round %d  %-8s %10.0f req/s  p99 %7.2f ms  cpu %5.1f us/req\n' "$r" "$name" "$rps" "$p99" "$cpu"
    all_rps[$name]+="$rps "; all_p99[$name]+="$p99 "; all_cpu[$name]+="$cpu "
  done
done

# median of the rounds: one round spoiled by another job on the machine
# does not move it.
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
echo "load after: $(uptime)"
echo
printf '%-8s %12s %10s %12s\n' proxy 'req/s' 'p99 ms' 'cpu us/req'
declare -A med_rps med_p99
for name in nginx haproxy agent; do
  med_rps[$name]=$(median "${all_rps[$name]}"); med_p99[$name]=$(median "${all_p99[$name]}")
  printf '%-8s %12.0f %10.2f %12.1f\n' "$name" "${med_rps[$name]}" "${med_p99[$name]}" "$(median "${all_cpu[$name]}")"
done
if awk -v n="${med_rps[nginx]}" -v h="${med_rps[haproxy]}" 'BEGIN{exit !(n>=h)}'; then best=nginx; else best=haproxy; fi
a_rps=${med_rps[agent]}; a_p99=${med_p99[agent]}; b_rps=${med_rps[$best]}; b_p99=${med_p99[$best]}
echo "best peer: $best (medians of $ROUNDS rounds)"
echo "RESULT proxy-p99 $a_p99 $b_p99 $(awk -v a="$a_p99" -v b="$b_p99" 'BEGIN{printf "%.2f", a/b}')"
echo "RESULT proxy-throughput $(printf '%.0f' "$a_rps") $(printf '%.0f' "$b_rps") $(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN{printf "%.2f", a/b}')"
