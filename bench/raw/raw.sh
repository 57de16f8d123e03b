#!/usr/bin/env bash
# The raw OpenSSH floor: every host at once (one background job per host), plain
# `ssh -F LAB/ssh_config` with the host keys checked.
#
#   raw/raw.sh WORKLOAD MODE N [STEPS]
#     WORKLOAD  w1 | w2 | w3 (STEPS small commands, default 100)
#     MODE      1conn  one connection per host; all of the workload's commands
#                      in ONE remote shell (W2: env.yml through stdin)
#               mux    one master connection per host (ControlMaster), every
#                      command a session of its own over it, one after another
#                      (W2: the upload is one session)
#     N         the first N lab hosts
# SSH_EXTRA adds ssh options, e.g. SSH_EXTRA='-oKexAlgorithms=curve25519-sha256'.
# Each host's output goes to LAB/out/raw-WORKLOAD-MODE/ADDRESS.out.
# Exit status: 0 when every host succeeded, 1 otherwise (failures on stderr).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/workloads.sh"
LAB=${BENCH_HOME:-/var/tmp/ecsfleet-bench}/lab
ENV_FILE=$LAB/env.yml

w=${1:?workload w1|w2|w3}; mode=${2:?mode 1conn|mux}; n=${3:?N}; steps=${4:-$W3_STEPS}
mapfile -t hosts < <(head -n "$n" "$LAB/hosts.txt")
(( ${#hosts[@]} == n )) || { echo "raw.sh: the lab has ${#hosts[@]} hosts, need $n" >&2; exit 2; }
out=$LAB/out/raw-$w-$mode
mkdir -p "$out"
read -r -a extra <<< "${SSH_EXTRA:-}"
ssh_() { ssh -F "$LAB/ssh_config" "${extra[@]}" "$@"; }

w3_cmds=()
for ((k = 1; k <= steps; k++)); do w3_cmds+=("$(w3_step "$k")"); done

host_job() {   # host_job ADDRESS (stdout/stderr already go to the host's file)
    local h=$1 c rc=0 sock
    case $w-$mode in
        w1-1conn) ssh_ "$h" "$(joined "${W1_CMDS[@]}")" || rc=1 ;;
        w2-1conn) ssh_ "$h" "$W2_UPLOAD && $(joined "${W2_CMDS[@]}")" < "$ENV_FILE" || rc=1 ;;
        w3-1conn) ssh_ "$h" "$(joined "${w3_cmds[@]}")" || rc=1 ;;
        *-mux)
            sock=$out/$h.sock
            ssh_ -o ControlMaster=yes -o ControlPath="$sock" -o ControlPersist=yes -fN "$h" < /dev/null || return 1
            case $w in
                w1) for c in "${W1_CMDS[@]}"; do ssh_ -o ControlPath="$sock" "$h" "$c" < /dev/null || rc=1; done ;;
                w2) ssh_ -o ControlPath="$sock" "$h" "$W2_UPLOAD" < "$ENV_FILE" || rc=1
                    for c in "${W2_CMDS[@]}"; do ssh_ -o ControlPath="$sock" "$h" "$c" < /dev/null || rc=1; done ;;
                w3) for c in "${w3_cmds[@]}"; do ssh_ -o ControlPath="$sock" "$h" "$c" < /dev/null || rc=1; done ;;
            esac
            ssh_ -o ControlPath="$sock" -O exit "$h" 2>/dev/null || rc=1 ;;
        *) echo "unknown workload/mode: $w $mode" >&2; return 2 ;;
    esac
    return $rc
}

declare -A job
for h in "${hosts[@]}"; do
    host_job "$h" > "$out/$h.out" 2>&1 < /dev/null &
    job[$!]=$h
done
fail=0
for pid in "${!job[@]}"; do
    wait "$pid" || { fail=$((fail + 1)); echo "FAILED: ${job[$pid]} (see $out/${job[$pid]}.out)" >&2; }
done
(( fail == 0 )) || { echo "$fail of $n hosts failed" >&2; exit 1; }
