#!/bin/bash
# Builds the twin's base root file system: Debian 12 by debootstrap from the
# mirror apt already uses, with the packages in base-packages, then made ready
# to be the lower layer of every twin host (LAB.md: "Real systemd in
# containers"). Run by `ecsfleet-lab up` when no base of the current recipe
# exists; usage: build-base.sh OUT_DIR PACKAGES_FILE.
#
# The result holds no host identity: no ssh host keys, an empty machine-id,
# no hostname; each host's layer supplies its own.
set -euo pipefail
out=$1
packages_file=$2

mirror=${ECSFLEET_LAB_MIRROR:-}
if [ -z "$mirror" ]; then
    # The first Debian URI apt is configured with (deb822 or one-line form).
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -v security | head -n 1 || true)
fi
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    echo "build-base.sh: no Debian mirror found in apt's sources; set ECSFLEET_LAB_MIRROR" >&2
    exit 2
fi

include=$(grep -v '^#' "$packages_file" | grep -v '^ *$' | paste -sd, -)
tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror"

# Locales the appliance generates (bootstrap-appliance.sh:36); createdb -l
# de_DE.utf8 needs de_DE.
sed -i -e 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' -e 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' "$tmp/etc/locale.gen"
chroot "$tmp" locale-gen >/dev/null

# No identity in the base.
rm -f "$tmp"/etc/ssh/ssh_host_*
: >"$tmp/etc/machine-id"
rm -f "$tmp/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$tmp/var/lib/dbus/machine-id"
rm -f "$tmp/etc/hostname"

# PostgreSQL: no cluster in the base (a host makes its own at first boot,
# Unix socket only: hosts share the machine's network).
chroot "$tmp" sh -c 'for c in $(pg_lsclusters -h | awk "{print \$1\"/\"\$2}"); do pg_dropcluster --stop ${c%/*} ${c#*/}; done' || true
mkdir -p "$tmp/etc/postgresql-common/createcluster.d"
cat >"$tmp/etc/postgresql-common/createcluster.d/twin.conf" <<'CONF'
# Twin hosts share the machine's network: PostgreSQL listens on its Unix
# socket only.
listen_addresses = ''
CONF

# Network-touching timers and units stay off (LAB.md: the box recipe); the
# journal is persistent as the appliance sets it (salt/common/init.sls:79-101).
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer fstrim.timer \
            e2scrub_all.timer e2scrub_reap.service systemd-timesyncd.service \
            systemd-networkd.service systemd-resolved.service getty@tty1.service \
            console-getty.service; do
    ln -sf /dev/null "$tmp/etc/systemd/system/$unit"
done
mkdir -p "$tmp/var/log/journal"

# Downloaded packages go; the package lists stay, so the apt-get stand-in
# (twin/root/usr/local/sbin/apt-get) knows real package names.
rm -rf "$tmp"/var/cache/apt/archives/*.deb
trap - EXIT
rm -rf "$out"
mv "$tmp" "$out"
echo "build-base.sh: base ready at $out"
