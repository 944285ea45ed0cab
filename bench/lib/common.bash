# bench/lib/common.bash — helpers shared by the lab benchmarks (deploy,
# scale, failover). Sourced, not run: bench/run runs only bench/*.sh.
#
# Safety: the scripts talk only to loopback and to lab hosts they brought up
# themselves and checked (bridge and namespaces present). They never reuse a
# lab someone else brought up, and they take it down again on exit.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SF=$bench_root/bin/stickyform
LAB_DIR=/var/lib/stickyform-lab
LAB_KEY=$LAB_DIR/id_ed25519
LAB_KNOWN_HOSTS=$LAB_DIR/known_hosts
LAB_BRIDGE=sflab0
# The lock labtest takes, so a benchmark never clobbers a test's lab (and
# the other way round).
LAB_LOCK=${STICKYFORM_LAB_LOCK:-/run/stickyform-lab.lock}
lab_ours=0

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# need_root_and_binary checks what every lab benchmark needs.
need_root_and_binary() {
	[[ $(id -u) == 0 ]] || die "lab benchmarks need root (network namespaces)"
	[[ -x $SF ]] || die "$SF is missing; run 'make build'"
}

# lab_host_addr N prints the address of the N-th lab host (1 → server2).
lab_host_addr() { echo "172.25.1.$(($1 + 1))"; }
# lab_host_name N prints its name.
lab_host_name() { echo "server$(($1 + 1))"; }

# lab_present reports whether any lab (ours or not) is up on this machine.
lab_present() {
	ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || ip netns list 2>/dev/null | grep -q '^sflab-'
}

# lab_check N verifies that the lab we brought up has its bridge and the
# namespaces of hosts 1..N; nothing is sent to a host that fails this.
lab_check() {
	local n=$1 i name
	((lab_ours)) || die "refusing to use a lab this script did not bring up"
	ip link show "$LAB_BRIDGE" >/dev/null 2>&1 || die "lab bridge $LAB_BRIDGE is missing"
	for ((i = 1; i <= n; i++)); do
		name=$(lab_host_name "$i")
		ip netns list | grep -q "^sflab-$name\b" || die "lab namespace sflab-$name is missing"
	done
	"$SF" lab status >/dev/null || die "stickyform lab status failed"
}

# lab_up N takes the lab lock, brings up a fresh N-host lab and checks it.
# It refuses when a lab is already up: that lab belongs to someone else.
lab_up() {
	local n=$1 t0
	exec {lab_lock_fd}>>"$LAB_LOCK"
	if ! flock -w 600 "$lab_lock_fd"; then
		die "lab lock $LAB_LOCK still held after 600s (a test run owns the lab)"
	fi
	lab_present && die "a lab is already up (not ours); take it down with 'stickyform lab down' first"
	t0=$(now)
	lab_ours=1
	"$SF" lab up -hosts "$n" >&2 || die "stickyform lab up -hosts $n failed"
	lab_check "$n"
	log "lab of $n hosts up in $(elapsed "$t0")s"
}

# lab_down takes our lab down and releases the lock; a no-op otherwise.
lab_down() {
	if ((lab_ours)); then
		"$SF" lab down >&2 || log "warning: stickyform lab down failed"
		lab_ours=0
	fi
	if [[ -n ${lab_lock_fd:-} ]]; then
		exec {lab_lock_fd}>&-
		unset lab_lock_fd
	fi
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

# timed OUT CMD... runs CMD, appending its output to $BENCH_WORK/cmd.log,
# and sets TIMED_S (wall seconds) and TIMED_KB (peak RSS in KiB, from
# /usr/bin/time). It returns CMD's exit status.
timed() {
	local tf=$BENCH_WORK/time.out status
	/usr/bin/time -f '%e %M' -o "$tf" "$@" >>"$BENCH_WORK/cmd.log" 2>&1
	status=$?
	read -r TIMED_S TIMED_KB < <(tail -n 1 "$tf")
	return "$status"
}

# lab_hosts_clean N fails unless no stickyform file or listener is left on
# lab hosts 1..N (checked in parallel).
lab_hosts_clean() {
	local n=$1 i dir
	dir=$(mktemp -d)
	for ((i = 1; i <= n; i++)); do
		# Files of the remote layout, and any listener but sshd (the hosts
		# share the machine's pid namespace, so ports, not processes).
		lab_ssh "$i" 'ls /opt/stickyform/bin/stickyform /etc/stickyform/*.json /run/stickyform/*.pid 2>/dev/null; ss -Hltn | grep -v ":22\b" || true' >"$dir/$i" 2>&1 &
	done
	wait
	for ((i = 1; i <= n; i++)); do
		if [[ -s $dir/$i ]]; then
			log "$(lab_host_name "$i") is not clean: $(cat "$dir/$i")"
			rm -rf "$dir"
			return 1
		fi
	done
	rm -rf "$dir"
}
