#!/usr/bin/env bash
# The benchmark lab: N fake hosts, each a real OpenSSH sshd (Debian's) in its
# own mount and UTS namespace, on its own loopback address.
#
#   bench/testbed.sh start N     start hosts 1..N (idempotent; running ones are kept)
#   bench/testbed.sh stop        stop every host this lab started (by pid file)
#   bench/testbed.sh status      one line per host: name, address, pid, up/down
#   bench/testbed.sh reset       remove what the workloads wrote on the hosts
#   bench/testbed.sh fleets N... write the per-N client files (see below)
#
# Host K is `ecsK` on BENCH_FIRST_IP + (K-1), port 22 (default 127.0.4.1, .2, ...;
# octets .0 and .255 are skipped, so big labs continue in 127.0.5.x). Addresses
# below 127.0.4.0 are refused: other test suites run their sshd hosts there.
# Each host's sshd runs inside `unshare --mount --uts` with per-host bind mounts
# over /app /data /volatile /usr/local/sbin /root (an empty home: the remote
# login shell reads no ~/.bashrc) and /run (ecsfleet's host lock lives there). /usr/local/sbin holds a `systemctl` stub that
# appends its arguments to /app/calls.log (sshd's PATH puts /usr/local/sbin first).
#
# Everything lives under LAB=BENCH_HOME/lab (BENCH_HOME default /var/tmp/ecsfleet-bench):
#   LAB/client_key(.pub)   the operator's key (ed25519); LAB/authorized_keys for all hosts
#   LAB/ssh_config         for `ssh -F`: root, the key, host keys checked against LAB/known_hosts
#   LAB/known_hosts        every host's key, by address
#   LAB/hosts.txt          one address per line, host 1 first
#   LAB/hK/                per-host dirs; hK/run/sshd.pid is the listener's pid
#   LAB/fleet-N/           ecsfleet's fleet for the first N hosts: inventory/hosts.yml
#                          (known_hosts: ../known_hosts), known_hosts
#   LAB/ansible-N.ini      Ansible inventory of the first N hosts
# Needs root (unshare --mount, bind mounts, port 22).
set -euo pipefail

BENCH_HOME=${BENCH_HOME:-/var/tmp/ecsfleet-bench}
LAB=$BENCH_HOME/lab
if [[ -z ${BENCH_FIRST_IP:-} && -f $LAB/first_ip ]]; then BENCH_FIRST_IP=$(cat "$LAB/first_ip"); fi
BENCH_FIRST_IP=${BENCH_FIRST_IP:-127.0.4.1}
MAX_STARTUPS=${BENCH_MAX_STARTUPS:-500}
SSHD=${SSHD:-/usr/sbin/sshd}

die() { echo "testbed: $*" >&2; exit 1; }

ip_to_int() { local IFS=.; set -- $1; echo $(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 )); }
int_to_ip() { local v=$1; echo "$(( (v >> 24) & 255 )).$(( (v >> 16) & 255 )).$(( (v >> 8) & 255 )).$(( v & 255 ))"; }

# addresses of hosts 1..$1, one per line (pure arithmetic, no forks per host)
host_ips() {
    local want=$1 v i=0 last
    v=$(ip_to_int "$BENCH_FIRST_IP")
    (( v >= $(ip_to_int 127.0.4.0) )) || die "BENCH_FIRST_IP $BENCH_FIRST_IP: addresses below 127.0.4.0 belong to other test suites"
    while (( i < want )); do
        last=$(( v & 255 ))
        if (( last != 0 && last != 255 )); then
            (( (v >> 24) == 127 )) || die "host $((i + 1)) would leave 127.0.0.0/8"
            i=$(( i + 1 ))
            echo "$(( (v >> 24) & 255 )).$(( (v >> 16) & 255 )).$(( (v >> 8) & 255 )).$last"
        fi
        v=$(( v + 1 ))
    done
}

pid_alive() {   # pid_alive PID CONFIG -> true if PID is an sshd started with CONFIG
    local pid=$1 cfg=$2
    [[ -n "$pid" && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$cfg"
}

port_open() { (exec 3<>"/dev/tcp/$1/22") 2>/dev/null; }

ensure_client_key() {
    mkdir -p "$LAB"
    [[ -f $LAB/client_key ]] || ssh-keygen -q -t ed25519 -N '' -C ecsfleet-bench -f "$LAB/client_key"
    cp "$LAB/client_key.pub" "$LAB/authorized_keys"
    cat > "$LAB/ssh_config" <<EOC
Host *
    User root
    Port 22
    IdentityFile $LAB/client_key
    IdentitiesOnly yes
    BatchMode yes
    StrictHostKeyChecking yes
    UserKnownHostsFile $LAB/known_hosts
    GlobalKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 30
EOC
}

start_host() {   # start_host K ADDRESS
    local n=$1 ip=$2 d cfg
    d=$LAB/h$n; cfg=$d/etc/sshd_config
    if [[ -f $d/run/sshd.pid ]] && pid_alive "$(cat "$d/run/sshd.pid")" "$cfg"; then
        return 0
    fi
    port_open "$ip" && die "h$n: $ip:22 is already taken by something this lab did not start (set BENCH_FIRST_IP to another range)"
    mkdir -p "$d"/{app,data,volatile,root,sbin,etc,run,varrun/sshd}
    chmod 700 "$d/root"; chmod 755 "$d/varrun" "$d/varrun/sshd"
    [[ -f $d/etc/hostkey ]] || ssh-keygen -q -t ed25519 -N '' -C "ecs$n" -f "$d/etc/hostkey"
    cat > "$cfg" <<EOC
ListenAddress $ip:22
HostKey $d/etc/hostkey
AuthorizedKeysFile $LAB/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $d/run/sshd.pid
MaxStartups $MAX_STARTUPS
MaxSessions 64
Subsystem sftp internal-sftp
EOC
    cat > "$d/sbin/systemctl" <<'EOC'
#!/bin/sh
echo "systemctl $*" >> /app/calls.log
[ "$1" = is-active ] && echo active
exit 0
EOC
    chmod 755 "$d/sbin/systemctl"
    : > "$d/app/calls.log"
    rm -f "$d/run/sshd.pid"
    # setsid: own session, survives the calling shell; sshd -D writes its pid.
    setsid -f unshare --mount --uts --propagation private sh -c '
        set -e
        hostname "ecs$1"
        mount --bind "$2/app" /app
        mount --bind "$2/data" /data
        mount --bind "$2/volatile" /volatile
        mount --bind "$2/sbin" /usr/local/sbin
        mount --bind "$2/root" /root
        mount --bind "$2/varrun" /run
        exec "$3" -D -f "$2/etc/sshd_config" -E "$2/sshd.log"
    ' bench-host "$n" "$d" "$SSHD" </dev/null >>"$d/start.log" 2>&1
}

wait_up() {
    local n=$1 ip=$2 d=$LAB/h$1 i
    for i in $(seq 1 200); do
        if [[ -s $d/run/sshd.pid ]] && port_open "$ip"; then return 0; fi
        sleep 0.05
    done
    die "h$n ($ip) did not come up; see $d/start.log and $d/sshd.log"
}

write_fleet() {   # write_fleet N: ecsfleet fleet dir and Ansible inventory for hosts 1..N
    local n=$1 f=$LAB/fleet-$1 i=0 ip
    (( $(wc -l < "$LAB/hosts.txt") >= n )) || die "only $(wc -l < "$LAB/hosts.txt") hosts are up; need $n"
    mkdir -p "$f/inventory"
    head -n "$n" "$LAB/known_hosts" > "$f/known_hosts"
    {
        echo "# generated by bench/testbed.sh: the first $n lab hosts"
        echo "defaults: {user: root, port: 22, identity: $LAB/client_key, become: false}"
        echo "known_hosts: ../known_hosts"
        echo "hosts:"
        while read -r ip; do
            i=$((i + 1)); (( i <= n )) || break
            echo "  ecs$i: {address: $ip}"
        done < "$LAB/hosts.txt"
    } > "$f/inventory/hosts.yml"
    i=0
    {
        echo "# generated by bench/testbed.sh: the first $n lab hosts"
        echo "[fleet]"
        while read -r ip; do
            i=$((i + 1)); (( i <= n )) || break
            echo "ecs$i ansible_host=$ip"
        done < "$LAB/hosts.txt"
        echo
        echo "[fleet:vars]"
        echo "ansible_user=root"
        echo "ansible_ssh_private_key_file=$LAB/client_key"
        echo "ansible_ssh_common_args=-o UserKnownHostsFile=$LAB/known_hosts -o GlobalKnownHostsFile=/dev/null"
    } > "$LAB/ansible-$n.ini"
}

cmd_start() {
    local n=${1:-} i=0 ip
    [[ $n =~ ^[0-9]+$ && $n -ge 1 ]] || die "usage: $0 start N"
    [[ $(id -u) -eq 0 ]] || die "needs root"
    mkdir -p /app /data /volatile   # mount points in the real root
    ensure_client_key
    echo "$BENCH_FIRST_IP" > "$LAB/first_ip"
    local ips; ips=$(host_ips "$n")
    while read -r ip; do i=$((i + 1)); start_host "$i" "$ip"; done <<< "$ips"
    i=0
    while read -r ip; do i=$((i + 1)); wait_up "$i" "$ip"; done <<< "$ips"
    # hosts.txt and known_hosts cover every running host (an earlier, bigger start included)
    local total=$n d k
    for d in "$LAB"/h*/; do
        k=${d%/}; k=${k##*/h}
        [[ $k =~ ^[0-9]+$ ]] || continue
        if (( k > total )) && [[ -f $d/run/sshd.pid ]] && pid_alive "$(cat "$d/run/sshd.pid")" "$d/etc/sshd_config"; then
            total=$k
        fi
    done
    host_ips "$total" > "$LAB/hosts.txt"
    i=0
    while read -r ip; do
        i=$((i + 1))
        echo "$ip $(cut -d' ' -f1,2 "$LAB/h$i/etc/hostkey.pub")"
    done < "$LAB/hosts.txt" > "$LAB/known_hosts"
    echo "testbed: $total host(s) up under $LAB (first $(head -1 "$LAB/hosts.txt"), last $(tail -1 "$LAB/hosts.txt"))"
}

cmd_stop() {
    local d pf pid cfg kids k stopped=0
    for pf in "$LAB"/h*/run/sshd.pid; do
        [[ -f $pf ]] || continue
        d=${pf%/run/sshd.pid}; cfg=$d/etc/sshd_config; pid=$(cat "$pf")
        if pid_alive "$pid" "$cfg"; then
            # per-connection sshds are the listener's children: end them too, so
            # that no session (a ControlPersist master's) outlives the host
            kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
            kill -TERM "$pid" 2>/dev/null || true
            for k in $kids; do kill -TERM "$k" 2>/dev/null || true; done
            stopped=$((stopped + 1))
        fi
        rm -f "$pf"
    done
    echo "testbed: stopped $stopped host(s)"
}

cmd_status() {
    local i=0 ip d pid st
    [[ -f $LAB/hosts.txt ]] || { echo "testbed: no hosts.txt under $LAB"; return 0; }
    while read -r ip; do
        i=$((i + 1)); d=$LAB/h$i; pid=$(cat "$d/run/sshd.pid" 2>/dev/null || true)
        if pid_alive "$pid" "$d/etc/sshd_config"; then st=up; else st=down; fi
        printf 'h%-3s %-15s pid=%-8s %s\n' "$i" "$ip" "${pid:--}" "$st"
    done < "$LAB/hosts.txt"
}

cmd_reset() {
    local d
    for d in "$LAB"/h*/app; do
        [[ -d $d ]] || continue
        rm -f "$d/env.yml" "$d/active-env.yml" "$d"/.env.yml.* "$d"/env.yml.tmp "$d/steps.log"
        : > "$d/calls.log"
        rm -f "${d%/app}/varrun/ecsfleet.lock"
    done
}

case ${1:-} in
    start)  shift; cmd_start "$@" ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    reset)  cmd_reset ;;
    fleets) shift; for n in "$@"; do write_fleet "$n"; done ;;
    *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
