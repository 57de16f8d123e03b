# The workloads' remote commands, sourced by raw/raw.sh and bench.py's shell
# helpers. The Ansible, pyinfra and ecsfleet files in ansible/, pyinfra/ and
# ecsfleet/ spell the same commands as tasks, operations and steps.

# W1 "status": five commands, output collected.
W1_CMDS=(
    'hostname'
    'cat /etc/os-release'
    'systemctl is-active appliance'
    'df -P /app'
    'test -e /app/env.yml && sha256sum /app/env.yml || true'
)
# W2 "push-env": the upload (env.yml on stdin, mode 0600 before any content,
# renamed into place), then three commands.
W2_UPLOAD='umask 077 && cat > /app/env.yml.tmp && chmod 0600 /app/env.yml.tmp && mv -f /app/env.yml.tmp /app/env.yml'
W2_CMDS=(
    'cp /app/env.yml /app/active-env.yml'
    'chmod 0600 /app/active-env.yml'
    'systemctl start appliance-update'
)
# W3 "steps": 100 small commands, one after another; step K is W3_STEP with K.
W3_STEPS=100
w3_step() { printf 'echo %s >> /app/steps.log' "$1"; }

# joined CMD...: one remote shell line running every command, each one's exit
# status printed after it (the raw floor's "all commands in one shell").
joined() {
    local c s=''
    for c in "$@"; do s+="{ $c; } ; echo \"## rc=\$?\"; "; done
    printf '%s' "$s"
}
