#!/bin/bash
# env-update.sh (lab): make the env (ENV_YML, else /app/env.yml) the active
# one (/run/active-env.yml, 0600) without a reboot, as prepare-env does.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
src=${ENV_YML:-/app/env.yml}
if [ ! -f "$src" ]; then
    echo "error: no environment found at $src" >&2
    exit 1
fi
if [ "$(head -n 1 "$src")" != "#cloud-config" ]; then
    echo "error: $src does not start with #cloud-config" >&2
    exit 1
fi
prepare_env
echo "updated /run/active-env.yml from $src"
