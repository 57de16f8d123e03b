#!/bin/bash
# recover-from-backup.sh --yes-i-am-sure (lab): refuses unless
# /data/ecs-storage-vault and /data/ecs-pgdump are empty and no ecs database
# exists; then restores the last backup (or an empty database) for real.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
if [ "${1:-}" != --yes-i-am-sure ]; then
    cat >&2 <<USAGE
usage: $0 --yes-i-am-sure

recovers the appliance data from the backup. Needs an empty
/data/ecs-storage-vault, an empty /data/ecs-pgdump and no ecs database.
USAGE
    exit 1
fi
db=$(env_get ecs database)
db=${db:-ecs}
for d in /data/ecs-storage-vault /data/ecs-pgdump; do
    if [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then
        echo "error: $d is not empty, refusing to recover" >&2
        exit 1
    fi
done
if database_exists "$db"; then
    echo "error: database $db exists, refusing to recover" >&2
    exit 1
fi
if [ ! -f "$(env_file)" ]; then
    echo "error: no environment found, refusing to recover" >&2
    exit 1
fi
echo "recovering from backup"
mkdir -p /data/ecs-storage-vault /data/ecs-pgdump
duply /root/.duply/appliance-backup fetch ecs-pgdump/ecs.pgdump.gz /data/ecs-pgdump/ecs.pgdump.gz >/dev/null
pg "$PG_BIN/createdb" -h "$PG_SOCKET" "$db" -T template0 -l de_DE.utf8 || exit 1
if gunzip -c /data/ecs-pgdump/ecs.pgdump.gz | head -c 5 | grep -q PGDMP; then
    gunzip -c /data/ecs-pgdump/ecs.pgdump.gz | pg "$PG_BIN/pg_restore" -h "$PG_SOCKET" -d "$db" --no-owner >/dev/null 2>&1
fi
touch /data/ecs-storage-vault/.recovered
echo "recovery finished; start the appliance: systemctl restart appliance"
