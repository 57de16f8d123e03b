# lib.sh: shared by the lab host's supervisor and every simulated appliance
# command (sourced, never run). Lives at /var/lib/ecs-lab/lib.sh inside the
# host; /var/lib/ecs-lab is the host's private lab directory (DIR/hosts/NAME/lab
# on the operator's side) and holds config.sh, the call log, the journal,
# persistent simulator state, fault switches and the sshd files.
#
# Runtime state (unit states, the activation process) lives under
# /run/ecs-lab, so a reboot empties it like the real /run.

LAB=/var/lib/ecs-lab
# shellcheck source=/dev/null
. "$LAB/config.sh"
UNITS=/run/ecs-lab/units
PG_DATA=/data/postgresql/$PG_VERSION/main
PG_SOCKET=/var/run/postgresql
PAGE_503=/var/www/html/503.html
TAGS=/app/etc/tags
FLAGS=/app/etc/flags

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

# lab_call ARGS...: append this call (argv[0] = the command's name) to the
# host's call log, one JSON object a line:
# {"time":"2025-01-01T12:00:00.123Z","host":"lab1","argv":["salt-call","state.highstate"]}
lab_call() {
    local line a now
    printf -v now '%(%Y-%m-%dT%H:%M:%S)T' -1
    now+=".${EPOCHREALTIME#*.}"
    now=${now:0:23}Z
    lab_json_str "${0##*/}"
    line="{\"time\":\"$now\",\"host\":\"$LAB_HOST\",\"argv\":[$REPLY"
    for a in "$@"; do
        lab_json_str "$a"
        line+=",$REPLY"
    done
    line+="]}"
    {
        flock 9
        printf '%s\n' "$line" >&9
    } 9>>"$LAB/calls.jsonl"
}

# journal UNIT MESSAGE...: one journald-like line into the unit's journal.
journal() {
    local unit=${1%.service} now
    shift
    mkdir -p "$LAB/journal"
    printf -v now '%(%b %d %H:%M:%S)T' -1
    printf '%s %s %s[%s]: %s\n' "$now" "$LAB_HOST" "$unit" "$$" "$*" >>"$LAB/journal/$unit.log"
}

lab_fault() {
    [ -e "$LAB/faults/$1" ]
}

# lab_request COMMAND: ask the host's supervisor (e.g. "reboot").
lab_request() {
    timeout 5 bash -c 'printf "%s\n" "$1" >"$2"' _ "$1" "$LAB/ctl"
}

lab_sleep() {
    local s=$1
    [ "$s" = 0 ] || sleep "$s"
}

# descendants PID: every process below PID.
descendants() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            found[root] = 1
            do {
                more = 0
                for (p in parent) if (!(p in found) && (parent[p] in found)) { found[p] = 1; more = 1 }
            } while (more)
            for (p in found) if (p != root) print p
        }'
}

# drop_connections WHY: the drop-mid-transfer fault. Kills the sshd listener
# and every session (this process last, should it be one of them).
drop_connections() {
    local listener pids=() p others=() me=false
    listener=$(cat "$LAB/sshd.pid" 2>/dev/null) || return 0
    [ -n "$listener" ] || return 0
    mapfile -t pids < <(descendants "$listener")
    for p in "${pids[@]}"; do
        if [ "$p" = "$$" ]; then me=true; else others+=("$p"); fi
    done
    printf '%(%Y-%m-%dT%H:%M:%S)T dropped every connection: %s\n' -1 "$1" >>"$LAB/faults/drop-mid-transfer.log"
    kill -KILL "$listener" "${others[@]}" 2>/dev/null
    if $me; then kill -KILL "$$"; fi
}

# --- env.yml: a small reader for two-level block YAML (no flow style) ---

# env_file: the env the appliance runs with.
env_file() {
    if [ -f /run/active-env.yml ]; then
        echo /run/active-env.yml
    elif [ -n "${ENV_YML:-}" ] && [ -f "$ENV_YML" ]; then
        echo "$ENV_YML"
    else
        echo /app/env.yml
    fi
}

# env_get SECTION KEY [FILE]: value of SECTION.KEY (quotes stripped), or empty.
env_get() {
    local file=${3:-$(env_file)}
    [ -f "$file" ] || return 0
    awk -v section="$1" -v key="$2" '
        /^[^ \t#][^:]*:/ { split($0, a, ":"); top = a[1]; indent = -1; next }
        top == section && match($0, /^[ \t]+[^ \t#][^:]*:/) {
            line = $0
            ind = match(line, /[^ \t]/) - 1
            if (indent < 0) indent = ind
            if (ind != indent) next
            k = substr(line, ind + 1); sub(/:.*/, "", k)
            if (k == key) {
                v = line; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+#.*$/, "", v)
                gsub(/^["\x27]|["\x27]$/, "", v)
                print v; exit
            }
        }' "$file"
}

# --- units ---

UNIT_NAMES="appliance prepare-env prepare-appliance prepare-ecs appliance-update appliance-backup"
TIMER_NAMES="appliance-update.timer appliance-backup.timer"

unit_installed() {
    [ -e "$LAB/state/units/$1" ]
}

appliance_installed() {
    unit_installed appliance
}

unit_state() {
    case $1 in
    postgresql) if pg_running; then echo active; else echo inactive; fi ;;
    ssh | sshd) echo active ;;
    *) cat "$UNITS/$1.state" 2>/dev/null || echo inactive ;;
    esac
}

set_unit_state() {
    mkdir -p "$UNITS"
    echo "$2" >"$UNITS/$1.state"
    date +%s >"$UNITS/$1.since"
}

# --- the 503 status page and failure flag (as appliance.include does it) ---

appliance_status() {
    if [ "$1" = --active ]; then
        rm -f "$PAGE_503"
        return
    fi
    journal appliance "INFO: appliance status: $1 : $2"
    mkdir -p "${PAGE_503%/*}"
    cat >"$PAGE_503.new" <<PAGE
<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>$1</title></head>
<body>
<h1>$1</h1>
<p>$2</p>
</body>
</html>
PAGE
    mv -f "$PAGE_503.new" "$PAGE_503"
    chown app:app "$PAGE_503" 2>/dev/null || true
}

appliance_failed() {
    appliance_status "$1" "$2"
    touch /run/appliance-failed
    journal appliance "appliance.service: Main process exited, code=exited, status=1/FAILURE"
    journal appliance "Failed to start Appliance."
    set_unit_state appliance failed
}

appliance_exit() {
    appliance_status "$1" "$2"
    journal appliance "Failed to start Appliance."
    set_unit_state appliance failed
}

# --- PostgreSQL (real; one server per host) ---

pg() {
    runuser -u postgres -- "$@"
}

pg_running() {
    [ -f "$PG_DATA/postmaster.pid" ] && pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_start() {
    if [ ! -f "$PG_DATA/PG_VERSION" ]; then
        install -d -o postgres -g postgres -m 0700 /data/postgresql "/data/postgresql/$PG_VERSION" "$PG_DATA"
        pg "$PG_BIN/initdb" -D "$PG_DATA" --locale=C.UTF-8 --encoding=UTF8 \
            --auth-local=peer --auth-host=scram-sha-256 -U postgres >"$LAB/initdb.log" 2>&1 || return 1
        cat >>"$PG_DATA/postgresql.conf" <<CONF
# ecsfleet lab: unix socket only, in this host's /run
listen_addresses = ''
port = 5432
unix_socket_directories = '$PG_SOCKET'
max_connections = 40
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    install -d -o postgres -g postgres -m 2775 "$PG_SOCKET"
    pg_running && return 0
    pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/postgresql.log" -w -t 60 start >/dev/null
}

pg_stop() {
    pg_running || return 0
    pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
}

# psql_as_postgres ARGS...: the real psql on this host's server.
psql_as_postgres() {
    pg "$PG_BIN/psql" -h "$PG_SOCKET" -X -q "$@"
}

database_exists() {
    [ "$(psql_as_postgres -tAc "select 1 from pg_database where datname = '${1//\'/\'\'}'" 2>/dev/null)" = 1 ]
}

# --- versions and tags ---

appliance_version() {
    local v=""
    if [ -d /app/appliance/.git ] && command -v git >/dev/null; then
        v=$(git -C /app/appliance rev-parse HEAD 2>/dev/null) || v=""
    fi
    if [ -z "$v" ]; then
        v=$( (cd /app/appliance 2>/dev/null && find . -type f -printf '%P %s\n' | sort) | sha1sum)
        v=${v%% *}
    fi
    echo "$v"
}

ecs_version() {
    local n
    n=$(cat "$LAB/state/ecs-build" 2>/dev/null || echo 1)
    printf 'ecs-build-%s' "$n" | sha1sum | cut -c1-40
}

write_tag() {
    mkdir -p "$TAGS"
    echo "$2" >"$TAGS/$1"
}

# --- the appliance unit ---

appliance_start() {
    if [ -e /run/appliance-failed ]; then
        journal appliance "Condition check resulted in Appliance being skipped (ConditionPathExists=!/run/appliance-failed)."
        return 0
    fi
    case $(unit_state appliance) in
    active | activating) return 0 ;;
    esac
    set_unit_state appliance activating
    journal appliance "Starting Appliance..."
    appliance_status "Appliance Startup" "starting appliance"
    setsid -f bash -c '. /var/lib/ecs-lab/lib.sh; appliance_run' </dev/null >>"$LAB/appliance.out" 2>&1
}

appliance_stop() {
    local pid
    pid=$(cat "$UNITS/appliance.pid" 2>/dev/null) || pid=""
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        rm -f "$UNITS/appliance.pid"
    fi
    case $(unit_state appliance) in
    active | activating)
        journal appliance "Stopping Appliance..."
        appliance_status "Appliance Shutdown" "appliance is stopped"
        journal appliance "Stopped Appliance."
        set_unit_state appliance inactive
        ;;
    esac
}

# appliance_run: the activation (what prepare-appliance and appliance.sh do),
# run in the background after `systemctl start appliance`.
appliance_run() {
    echo "$BASHPID" >"$UNITS/appliance.pid"
    lab_sleep "$LAB_START_DELAY"
    local env db
    env=$(env_file)
    if [ ! -f "$env" ]; then
        appliance_failed "Appliance Error" "Appliance is in standby, no environment found"
        rm -f "$UNITS/appliance.pid"
        return 1
    fi
    if [ "$(env_get appliance standby "$env" | tr A-Z a-z)" = true ]; then
        appliance_exit "Appliance Standby" "Appliance is in standby"
        rm -f "$UNITS/appliance.pid"
        return 1
    fi
    db=$(env_get ecs database "$env")
    db=${db:-ecs}
    if ! database_exists "$db"; then
        appliance_failed "Appliance Standby" "Appliance is in standby, no postgresql database named $db"
        rm -f "$UNITS/appliance.pid"
        return 1
    fi
    if [ "$(psql_as_postgres -tAc "select 1 from pg_roles where rolname = 'app'")" != 1 ]; then
        psql_as_postgres -c "create role app login" >/dev/null 2>&1 || true
    fi
    psql_as_postgres -c "alter database \"$db\" owner to app" >/dev/null 2>&1 || true
    appliance_status "Appliance Startup" "starting ecs"
    [ -e "$TAGS/last_build_ecs" ] || write_tag last_build_ecs "$(ecs_version)"
    write_tag last_running_ecs "$(cat "$TAGS/last_build_ecs")"
    write_tag last_running_ecs_image "$(printf 'image-%s' "$(cat "$TAGS/last_build_ecs")" | sha1sum | cut -c1-12)"
    [ -e "$TAGS/last_running_appliance" ] || write_tag last_running_appliance "$(appliance_version)"
    set_unit_state appliance active
    appliance_status --active
    journal appliance "Started Appliance."
    rm -f "$UNITS/appliance.pid"
}

# prepare_env: what prepare-env.service does at boot and env-update.sh does
# on demand: the active env is a 0600 copy in /run.
prepare_env() {
    local src=""
    if [ -n "${ENV_YML:-}" ] && [ -f "$ENV_YML" ]; then
        src=$ENV_YML
    elif [ -f /app/env.yml ]; then
        src=/app/env.yml
    fi
    [ -n "$src" ] || return 1
    install -m 0600 /dev/null /run/active-env.yml.new
    cat "$src" >/run/active-env.yml.new
    mv -f /run/active-env.yml.new /run/active-env.yml
    journal prepare-env "environment from $src is active"
}
