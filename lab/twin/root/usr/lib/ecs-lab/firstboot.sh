#!/bin/bash
# First boot of a twin host (ecs-lab-firstboot.service): its PostgreSQL
# cluster, then every executable in /usr/lib/ecs-lab/firstboot.d in order.
set -euo pipefail
. /usr/lib/ecs-lab/lib.sh
# Stand-ins that run as app (gosu app dehydrated ...) record calls too.
[ -e "$LAB/calls.jsonl" ] || install -m 0666 /dev/null "$LAB/calls.jsonl"
if [ ! -d /etc/postgresql/15/main ]; then
    pg_createcluster 15 main >/dev/null
fi
systemctl start postgresql@15-main.service
for part in /usr/lib/ecs-lab/firstboot.d/*; do
    if [ -x "$part" ]; then "$part"; fi
done
touch /var/lib/ecs-lab/firstboot.done
