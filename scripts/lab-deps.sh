#!/bin/bash
# Installs what `ecsfleet lab` needs on a Debian machine: OpenSSH's sshd and
# client, sudo, PostgreSQL's server binaries, the de_DE.UTF-8 and en_US.UTF-8
# locales (createdb -l de_DE.utf8 needs them), util-linux (unshare, nsenter,
# setsid, runuser, flock), iproute2. Also creates the user `app` (the appliance's
# user; lab hosts share the machine's /etc/passwd) and the empty directories the
# lab bind-mounts over in each host's namespace.
#
# Run as root; idempotent: a second run installs nothing and changes nothing.
# Services that packages would start (the machine's own sshd on *:22, a "main"
# PostgreSQL cluster) are kept from starting: they would take the lab's port.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "lab-deps.sh: run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

packages=(openssh-server openssh-client sudo locales util-linux iproute2 procps gzip ca-certificates)
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    packages+=(postgresql postgresql-contrib)
fi
missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    # Keep package scripts from starting daemons (sshd on *:22 would take the
    # lab's port 22 on every 127.0.0.x), and PostgreSQL from creating a cluster.
    policy=/usr/sbin/policy-rc.d
    own_policy=false
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=true
    fi
    trap '$own_policy && rm -f "$policy"' EXIT
    mkdir -p /etc/postgresql-common/createcluster.d
    if [ ! -e /etc/postgresql-common/createcluster.d/ecsfleet-lab.conf ]; then
        echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/ecsfleet-lab.conf
    fi
    apt-get -y update
    apt-get -y install --no-install-recommends "${missing[@]}"
fi

# Locales: en_US.UTF-8 and de_DE.UTF-8 (the appliance's bootstrap generates both).
need_gen=false
for l in en_US de_DE; do
    if ! grep -q "^${l}.UTF-8 UTF-8" /etc/locale.gen; then
        if grep -q "^# *${l}.UTF-8 UTF-8" /etc/locale.gen; then
            sed -i "s/^# *${l}.UTF-8 UTF-8/${l}.UTF-8 UTF-8/" /etc/locale.gen
        else
            echo "${l}.UTF-8 UTF-8" >>/etc/locale.gen
        fi
    fi
    if ! locale -a 2>/dev/null | grep -qx "${l}.utf8"; then
        need_gen=true
    fi
done
if $need_gen; then
    locale-gen
fi

# The appliance's user (home /app); lab hosts share the machine's user database.
if ! id app >/dev/null 2>&1; then
    useradd --system --home-dir /app --no-create-home --shell /bin/bash --user-group app
fi

# Mount points: bind mounts in a host's namespace need a directory to cover.
mkdir -p /app /data /volatile /etc/salt /usr/local/sbin /usr/local/bin \
    /usr/local/share/appliance /var/www/html /var/lib/ecs-lab

echo "lab-deps.sh: ready"
