# lib.sh: sourced by every stand-in of the appliance twin (never run). Lives at
# /usr/lib/ecs-lab/lib.sh inside a twin host. The host's lab state lives in
# /var/lib/ecs-lab (persistent: the call log, fault switches, mirrors) and
# /run/ecs-lab (runtime state; a reboot empties /run as on a real host).

LAB=/var/lib/ecs-lab
LAB_RUN=/run/ecs-lab
LAB_FAULTS=$LAB/faults
mkdir -p "$LAB_RUN" 2>/dev/null || true

# lab_fault KIND: true while the lab's fault switch KIND is on for this host.
lab_fault() { [ -e "$LAB_FAULTS/$1" ]; }

# lab_json_str VALUE: sets REPLY to VALUE as a JSON string. Valid UTF-8 goes
# through unchanged; quote, backslash and control characters are escaped.
lab_json_str() {
    local LC_ALL=C s=$1 i c e
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    if [[ $s == *[$'\x01'-$'\x1f'$'\x7f']* ]]; then
        s=${s//$'\n'/\\n}
        s=${s//$'\t'/\\t}
        s=${s//$'\r'/\\r}
        for i in {1..31} 127; do
            printf -v c "\\x$(printf %02x "$i")"
            if [[ $s == *"$c"* ]]; then
                printf -v e '\\u%04x' "$i"
                s=${s//"$c"/$e}
            fi
        done
    fi
    REPLY="\"$s\""
}

# lab_call NAME ARGS...: append this call to the host's call log, one JSON
# object a line (argv[0] is the stand-in's name):
# {"time":"2025-01-01T12:00:00.123Z","host":"lab1","argv":["salt-call","state.highstate"]}
lab_call() {
    local line a now host
    host=$(cat "$LAB/host" 2>/dev/null || hostname)
    printf -v now '%(%Y-%m-%dT%H:%M:%S)T' -1
    now+=".${EPOCHREALTIME#*.}"
    now=${now:0:23}Z
    lab_json_str "$1"
    shift
    line="{\"time\":\"$now\",\"host\":\"${LAB_HOST:-$host}\",\"argv\":[$REPLY"
    for a in "$@"; do
        lab_json_str "$a"
        line+=",$REPLY"
    done
    line+="]}"
    mkdir -p "$LAB" 2>/dev/null || true
    {
        flock 9
        printf '%s\n' "$line" >&9
    } 9>>"$LAB/calls.jsonl"
}
