# Shared set-up of the loopback benchmarks (cache, session, proxy); sourced,
# not run. loopback_start NAME CMD... checks that the commands (and python3,
# for free_port) exist, makes the work directory $work and arranges that
# every PID appended to pids, and every daemon whose pid file is appended to
# pidfiles, is stopped and $work removed when the script exits.

loopback_start() {
  local name=$1 cmd
  shift
  for cmd in python3 "$@"; do
    command -v "$cmd" >/dev/null || { echo "bench/$name: $cmd is missing (make deps)" >&2; exit 1; }
  done
  work=$(mktemp -d)
  pids=()
  pidfiles=()
  trap loopback_cleanup EXIT
}

loopback_cleanup() {
  local pid f
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((${#pidfiles[@]})); then
    for f in "${pidfiles[@]}"; do [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null || true; done
    sleep 0.3
  fi
  rm -rf "$work"
}

# free_port prints a loopback port nobody listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
