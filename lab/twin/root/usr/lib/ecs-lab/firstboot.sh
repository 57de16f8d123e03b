#!/bin/bash
# First boot of a twin host (ecs-lab-firstboot.service): its PostgreSQL
# cluster, then every executable in /usr/lib/ecs-lab/firstboot.d in order.
set -euo pipefail
. /usr/lib/ecs-lab/lib.sh
if [ ! -d /etc/postgresql/15/main ]; then
    pg_createcluster 15 main >/dev/null
fi
systemctl start postgresql@15-main.service
for part in /usr/lib/ecs-lab/firstboot.d/*; do
    if [ -x "$part" ]; then "$part"; fi
done
touch /var/lib/ecs-lab/firstboot.done
