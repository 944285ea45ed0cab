# bench/lib/common.bash — helpers shared by the lab benchmarks (deploy,
# scale, failover). Sourced, not run: bench/run runs only bench/*.sh.
#
# Safety: the scripts talk only to loopback and to lab hosts they brought up
# themselves and checked (bridge and namespaces present). They never reuse a
# lab someone else brought up, and they take it down again on exit. Every
# script sets BENCH_WORK (its temp dir) before calling these.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SF=$bench_root/bin/stickyform
LAB_DIR=/var/lib/stickyform-lab
LAB_KEY=$LAB_DIR/id_ed25519
LAB_KNOWN_HOSTS=$LAB_DIR/known_hosts
LAB_BRIDGE=sflab0
lab_ours=0

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
# die reports the error with the end of the last command's output.
die() {
	log "error: $*"
	if [[ -s ${BENCH_WORK:-}/cmd.log ]]; then
		log "last output:"
		tail -n 15 "$BENCH_WORK/cmd.log" | sed 's/^/    /' >&2
	fi
	exit 1
}

# bench_start NAME checks what every lab benchmark needs, makes its work
# directory BENCH_WORK and arranges that on any exit (also SIGTERM from
# bench/run's time budget) the lab is taken down and the directory removed
# (kept when BENCH_KEEP is set). The agents on the hosts end with the lab.
bench_start() {
	[[ $(id -u) == 0 ]] || die "lab benchmarks need root (network namespaces)"
	[[ -x $SF ]] || die "$SF is missing; run 'make build'"
	BENCH_WORK=$(mktemp -d "/tmp/stickyform-bench-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	local status=$?
	trap - EXIT INT TERM
	lab_down
	if [[ -n ${BENCH_KEEP:-} ]]; then
		log "kept $BENCH_WORK"
	else
		rm -rf "$BENCH_WORK"
	fi
	exit "$status"
}

# lab_host_addr N prints the address of the N-th lab host (1 → server2).
lab_host_addr() { echo "172.25.1.$(($1 + 1))"; }
# lab_host_name N prints its name.
lab_host_name() { echo "server$(($1 + 1))"; }

# lab_check N verifies that the lab we brought up has its bridge and the
# namespaces of hosts 1..N; nothing is sent to a host that fails this.
lab_check() {
	local n=$1 i name
	((lab_ours)) || die "refusing to use a lab this script did not bring up"
	ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || die "lab bridge $LAB_BRIDGE is missing"
	for ((i = 1; i <= n; i++)); do
		name=$(lab_host_name "$i")
		[[ -e /run/netns/sflab-$name ]] || die "lab namespace sflab-$name is missing"
	done
	"$SF" lab status >/dev/null || die "stickyform lab status failed"
}

# lab_up N brings up a fresh N-host lab through bench/labhold, which holds
# the machine-wide lab lock (the one labtest takes) until lab_down, so a
# test run cannot replace the lab under the benchmark or the other way
# round. It refuses when a lab is already up: that lab is someone else's.
lab_up() {
	local n=$1 t0 i
	t0=$(now)
	(cd "$bench_root" && go build -o "$BENCH_WORK/labhold" ./bench/labhold) || die "build bench/labhold"
	mkfifo "$BENCH_WORK/labhold.in"
	"$BENCH_WORK/labhold" -hosts "$n" <"$BENCH_WORK/labhold.in" >"$BENCH_WORK/labhold.out" 2>&1 &
	lab_pid=$!
	exec {lab_fd}>"$BENCH_WORK/labhold.in"
	lab_ours=1
	for ((i = 0; ; i++)); do
		grep -q '^READY' "$BENCH_WORK/labhold.out" && break
		if ! kill -0 "$lab_pid" 2>/dev/null; then
			lab_ours=0
			die "lab up -hosts $n failed: $(cat "$BENCH_WORK/labhold.out")"
		fi
		((i < 12000)) || die "lab up -hosts $n: no READY after 20 minutes"
		sleep 0.1
	done
	lab_check "$n"
	log "lab of $n hosts up in $(elapsed "$t0")s"
}

# lab_down ends labhold (SIGTERM, by its PID), which takes the lab down
# and releases the lock; a no-op when we hold no lab. (Its stdin is a
# FIFO we hold open, so it also ends if this script is killed outright.)
lab_down() {
	[[ -n ${lab_pid:-} ]] || return 0
	local t0
	t0=$(now)
	exec {lab_fd}>&-
	kill -TERM "$lab_pid" 2>/dev/null || true
	wait "$lab_pid" || log "warning: labhold: $(tail -n 3 "$BENCH_WORK/labhold.out")"
	unset lab_pid
	lab_ours=0
	log "lab down in $(elapsed "$t0")s"
}

# lab_ssh N CMD runs CMD as root on lab host N with the lab's key and
# known_hosts (host keys checked).
lab_ssh() {
	local n=$1
	shift
	ssh -q -i "$LAB_KEY" -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes -o ConnectTimeout=10 "root@$(lab_host_addr "$n")" "$@"
}

now() { date +%s.%N; }
# elapsed T0 prints the seconds since T0 (from now), 3 decimals.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# median prints the median of its numeric arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# maxof prints the largest of its numeric arguments.
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# ratio A B prints A/B with 2 decimals ("nan" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }

# cpu_busy prints the machine's busy CPU time so far, in seconds (all
# cores; from /proc/stat: user, nice, system, irq and softirq — not idle,
# iowait, or steal, the time a VM's hypervisor gave to someone else).
cpu_busy() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}

# cpu_steal prints the steal time so far, in seconds (all cores): while a
# benchmark runs, it says how much CPU the machine wanted and did not get.
cpu_steal() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", $9 / hz; exit }' /proc/stat
}

# timed CMD... runs CMD, appending its output to $BENCH_WORK/cmd.log, and
# sets TIMED_S (wall seconds), TIMED_KB (peak RSS in KiB), TIMED_CPU (the
# command's user+system seconds, from /usr/bin/time), TIMED_BUSY (busy
# seconds of the whole machine meanwhile: on the lab the hosts' work, sshd
# and the agents, runs on the same cores) and TIMED_STEAL (steal seconds
# meanwhile). It returns CMD's exit status.
timed() {
	local tf=$BENCH_WORK/time.out status b0 s0 user sys
	b0=$(cpu_busy) s0=$(cpu_steal)
	/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >>"$BENCH_WORK/cmd.log" 2>&1
	status=$?
	read -r TIMED_S TIMED_KB user sys < <(tail -n 1 "$tf")
	TIMED_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	TIMED_BUSY=$(awk -v a="$b0" -v b="$(cpu_busy)" 'BEGIN { printf "%.2f", b - a }')
	TIMED_STEAL=$(awk -v a="$s0" -v b="$(cpu_steal)" 'BEGIN { printf "%.2f", b - a }')
	return "$status"
}

# lab_hosts_clean N fails unless no stickyform file or listener is left on
# lab hosts 1..N (checked in parallel).
lab_hosts_clean() {
	local n=$1 i dir pids=()
	dir=$(mktemp -d)
	for ((i = 1; i <= n; i++)); do
		# Files of the remote layout, and any listener but sshd (the hosts
		# share the machine's pid namespace, so ports, not processes).
		lab_ssh "$i" 'ls /opt/stickyform/bin/stickyform /etc/stickyform/*.json /run/stickyform/*.pid 2>/dev/null; ss -Hltn | grep -v ":22\b" || true' >"$dir/$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 1; i <= n; i++)); do
		if [[ -s $dir/$i ]]; then
			log "$(lab_host_name "$i") is not clean: $(cat "$dir/$i")"
			rm -rf "$dir"
			return 1
		fi
	done
	rm -rf "$dir"
}
