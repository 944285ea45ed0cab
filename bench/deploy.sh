#!/usr/bin/env bash
# bench/deploy.sh — deploying the classic topology (examples/classic) on a
# fresh 3-host lab: stickyform's cold apply and no-op plan against an
# equivalent Ansible playbook (bench/ansible/deploy.yml) that pushes the same
# binary and the same role configs to the same hosts, starts the roles under
# stickyform's supervisor and waits for health. "Cold" runs on clean hosts;
# "no-op" is the second run (for stickyform both `plan` and a second
# `apply`). Rounds interleave the two tools; medians are reported and the
# ratio is ansible/stickyform, so > 1 means stickyform is faster.
#
# Usage: bench/deploy.sh   (root; BENCH_ROUNDS (or ROUNDS)=3; BENCH_KEEP=1 keeps the work
#        directory with Ansible's output; BENCH_ANSIBLE_PROFILE=1 times its tasks)
# Prints: RESULT deploy-cold|deploy-noop|deploy-noop-apply <ours_s> <ansible_s> <ratio>
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

ROUNDS=${BENCH_ROUNDS:-${ROUNDS:-3}}
HOSTS=3
command -v ansible-playbook >/dev/null || die "ansible-playbook is missing (Debian package ansible; make deps)"
bench_start deploy
SFDIR=$BENCH_WORK/classic
CONFIGS=$BENCH_WORK/configs
ANSIBLE_DIR=$bench_root/bench/ansible
declare -A host_roles # host name → its <kind>-<name> roles

# capture_configs records, per host, the role configs stickyform deployed:
# the playbook pushes exactly these files.
capture_configs() {
	local i name roles r
	for ((i = 1; i <= HOSTS; i++)); do
		name=$(lab_host_name "$i")
		mkdir -p "$CONFIGS/$name"
		roles=$(lab_ssh "$i" 'cd /etc/stickyform 2>/dev/null && ls *.json 2>/dev/null | sed "s/\.json$//"' || true)
		host_roles[$name]=$(echo $roles)
		for r in $roles; do
			lab_ssh "$i" "cat /etc/stickyform/$r.json" >"$CONFIGS/$name/$r.json"
		done
		log "$name runs: $(echo $roles)"
	done
}

# yaml_list KIND ROLES... prints the roles of KIND as a YAML flow list.
yaml_list() {
	local kind=$1 out="" r
	shift
	for r in "$@"; do
		[[ $r == "$kind"-* ]] && out+="${out:+, }\"$r\""
	done
	echo "[$out]"
}

# render_inventory writes the Ansible inventory from inventory.tmpl.
render_inventory() {
	local i name hosts="" roles
	for ((i = 1; i <= HOSTS; i++)); do
		name=$(lab_host_name "$i")
		roles=(${host_roles[$name]})
		hosts+="        $name:
          ansible_host: $(lab_host_addr "$i")
          sf_caches: $(yaml_list cache "${roles[@]}")
          sf_apps: $(yaml_list app "${roles[@]}")
          sf_proxies: $(yaml_list proxy "${roles[@]}")
"
	done
	awk -v key="$LAB_KEY" -v kh="$LAB_KNOWN_HOSTS" -v bin="$SF" -v cfg="$CONFIGS" -v hosts="$hosts" '
		{ gsub("@KEY@", key); gsub("@KNOWN_HOSTS@", kh); gsub("@BINARY@", bin); gsub("@CONFIG_DIR@", cfg) }
		/^@HOSTS@$/ { printf "%s", hosts; next } { print }' "$ANSIBLE_DIR/inventory.tmpl" >"$BENCH_WORK/inventory.yml"
}

# tier_serves checks that the deployed tier answers through the proxy.
tier_serves() {
	local url="http://$(lab_host_addr 1)/api/session" code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url") || true
	[[ $code == 200 ]] || die "$1: GET $url answered $code; want 200"
}

# clean_ansible removes what the playbook deployed, as destroy would.
clean_ansible() {
	local i name
	for ((i = 1; i <= HOSTS; i++)); do
		name=$(lab_host_name "$i")
		lab_ssh "$i" "/opt/stickyform/bin/stickyform agent ctl remove ${host_roles[$name]} && /opt/stickyform/bin/stickyform agent ctl purge" >&2
	done
	lab_hosts_clean "$HOSTS" || die "hosts not clean"
}

# run_ansible LABEL runs the playbook once with fresh SSH connections and
# closes them afterwards; it sets TIMED_S and CHANGED (the recap's sum).
run_ansible() {
	local label=$1 cp=$BENCH_WORK/cp-$1 out=$BENCH_WORK/ansible-$1.log status=0 s
	mkdir -p "$cp"
	: >"$BENCH_WORK/cmd.log"
	timed env ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg" ANSIBLE_SSH_CONTROL_PATH_DIR="$cp" \
		${BENCH_ANSIBLE_PROFILE:+ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks} \
		ANSIBLE_LOCAL_TEMP="$BENCH_WORK/ansible-tmp" \
		ansible-playbook -i "$BENCH_WORK/inventory.yml" "$ANSIBLE_DIR/deploy.yml" || status=$?
	for s in "$cp"/*; do
		if [[ -S $s ]]; then ssh -o ControlPath="$s" -O exit lab >/dev/null 2>&1 || true; fi
	done
	cp "$BENCH_WORK/cmd.log" "$out"
	((status == 0)) || die "ansible-playbook ($label) failed:$(echo; tail -n 20 "$out")"
	grep -qE '^[^ ]+ +: ok=.*failed=0' "$out" || die "ansible ($label): no clean recap in $out"
	CHANGED=$(grep -E '^[^ ]+ +: ok=' "$out" | grep -oE 'changed=[0-9]+' | awk -F= '{ s += $2 } END { print s + 0 }')
}

declare -a sf_cold sf_noop sf_noop_apply an_cold an_noop

round_stickyform() {
	timed "$SF" -chdir="$SFDIR" apply -auto-approve || die "stickyform apply failed; see $BENCH_WORK/cmd.log"
	sf_cold+=("$TIMED_S")
	tier_serves "stickyform apply"
	local plan_status=0
	timed "$SF" -chdir="$SFDIR" plan -detailed-exitcode || plan_status=$?
	((plan_status == 0)) || die "no-op plan exited $plan_status; want 0 (No changes.)"
	sf_noop+=("$TIMED_S")
	timed "$SF" -chdir="$SFDIR" apply -auto-approve || die "no-op apply failed"
	sf_noop_apply+=("$TIMED_S")
	log "  stickyform: cold ${sf_cold[-1]}s, no-op plan ${sf_noop[-1]}s, no-op apply ${sf_noop_apply[-1]}s"
	"$SF" -chdir="$SFDIR" destroy -auto-approve >>"$BENCH_WORK/cmd.log" 2>&1 || die "stickyform destroy failed"
	lab_hosts_clean "$HOSTS" || die "hosts not clean"
}

round_ansible() {
	run_ansible "cold-$1"
	an_cold+=("$TIMED_S")
	((CHANGED > 0)) || die "ansible cold run changed nothing; hosts were not clean"
	tier_serves "ansible cold run"
	run_ansible "noop-$1"
	an_noop+=("$TIMED_S")
	((CHANGED == 0)) || die "ansible's second run changed $CHANGED tasks; want 0"
	log "  ansible:    cold ${an_cold[-1]}s, no-op ${an_noop[-1]}s"
	clean_ansible
}

lab_up "$HOSTS"
mkdir -p "$SFDIR"
cp "$bench_root"/examples/classic/*.hcl "$SFDIR/"

log "warm-up: one stickyform apply to record the configs it deploys"
timed "$SF" -chdir="$SFDIR" apply -auto-approve || die "warm-up apply failed; see $BENCH_WORK/cmd.log"
capture_configs
render_inventory
"$SF" -chdir="$SFDIR" destroy -auto-approve >>"$BENCH_WORK/cmd.log" 2>&1 || die "destroy failed"
lab_hosts_clean "$HOSTS" || die "hosts not clean after destroy"

for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r/$ROUNDS"
	if ((r % 2)); then
		round_stickyform
		round_ansible "$r"
	else
		round_ansible "$r"
		round_stickyform
	fi
done

cold=$(median "${sf_cold[@]}") noop=$(median "${sf_noop[@]}") noop_apply=$(median "${sf_noop_apply[@]}")
acold=$(median "${an_cold[@]}") anoop=$(median "${an_noop[@]}")
echo "deploy of examples/classic on $HOSTS lab hosts, median of $ROUNDS interleaved rounds (seconds):"
printf '  %-22s %10s %10s %8s\n' "" stickyform ansible ratio
printf '  %-22s %10s %10s %8s\n' "cold" "$cold" "$acold" "$(ratio "$acold" "$cold")"
printf '  %-22s %10s %10s %8s\n' "no-op (plan)" "$noop" "$anoop" "$(ratio "$anoop" "$noop")"
printf '  %-22s %10s %10s %8s\n' "no-op (second apply)" "$noop_apply" "$anoop" "$(ratio "$anoop" "$noop_apply")"
echo "RESULT deploy-cold ${cold}s ${acold}s $(ratio "$acold" "$cold")"
echo "RESULT deploy-noop ${noop}s ${anoop}s $(ratio "$anoop" "$noop")"
echo "RESULT deploy-noop-apply ${noop_apply}s ${anoop}s $(ratio "$anoop" "$noop_apply")"
