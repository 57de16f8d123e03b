#!/bin/bash
# make-mirrors.sh: the ECS sources without network. Creates small stand-in repositories
#   /var/lib/ecs-lab/mirror/ecs.git       bare, branch master: ecs/settings.py, migrations
#   /var/lib/ecs-lab/mirror/ecs-docs.git  bare, branch gh-pages: index.html, user-manual-de/
# and points the URLs the real scripts use at them in /etc/gitconfig (url.<base>.insteadOf):
#   https://github.com/ecs-org/ecs.git          (ECS_GIT_SOURCE default, appliance.include:5)
#   https://github.com/ecs-org/ecs-docs.git     (ECS_DOCS_GIT_SOURCE default, appliance.include:6)
#   https://github.com/ecs-org/ecs-appliance    (bootstrap-appliance.sh:42)
#   https://github.com/ecs-org/ecs-appliance.git (APPLIANCE_GIT_SOURCE default, appliance.include:9)
# -> /var/lib/ecs-lab/mirror/ecs-appliance.git, which the lab provides (a bare clone of the
# real repository). A clone keeps the github URL as remote.origin.url (insteadOf is applied
# when git connects), so prepare-ecs.sh:21-22 and appliance-update.sh see no change of source.
# Idempotent: existing repositories are left as they are (the lab may have added commits).
# Run at every boot by ecs-lab-mirrors.service.
set -euo pipefail
M=/var/lib/ecs-lab/mirror
mkdir -p "$M"
export GIT_AUTHOR_NAME="ecs-lab" GIT_AUTHOR_EMAIL="ecs-lab@localhost"
export GIT_COMMITTER_NAME="ecs-lab" GIT_COMMITTER_EMAIL="ecs-lab@localhost"
export GIT_AUTHOR_DATE="2021-12-19T12:00:00Z" GIT_COMMITTER_DATE="2021-12-19T12:00:00Z"

# make_repo BARE BRANCH POPULATE_FUNCTION
make_repo() {
    local bare=$1 branch=$2 fill=$3 w
    [ -e "$bare/HEAD" ] && return 0
    w=$(mktemp -d)
    git -c init.defaultBranch="$branch" init -q "$w"
    (cd "$w" && "$fill" && git add -A && git commit -q -m "ecs-lab stand-in of $(basename "$bare" .git)")
    rm -rf "$bare.tmp"
    git clone -q --bare "$w" "$bare.tmp"
    git --git-dir="$bare.tmp" symbolic-ref HEAD "refs/heads/$branch"
    chmod -R a+rX "$bare.tmp"
    mv "$bare.tmp" "$bare"
    rm -rf "$w"
}

fill_ecs() {
    mkdir -p ecs/core/migrations ecs/users/migrations ecs/pki/migrations scripts static
    cat >ecs/settings.py <<'PY'
# ecs-lab stand-in of ecs-org/ecs ecs/settings.py: prepare-ecs.sh only tests that it exists
# (prepare-ecs.sh:27). The lab's ECS stand-in lives in the twin's /usr/lib/ecs-lab/ecs.
import os
DOMAIN = "localhost"
if os.getenv('ECS_SETTINGS'):
    exec(os.getenv('ECS_SETTINGS'))
PY
    : >ecs/__init__.py
    for app in core users pki; do
        : >"ecs/$app/__init__.py"
        : >"ecs/$app/migrations/__init__.py"
        printf '# ecs-lab stand-in migration\nfrom django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = []\n    operations = []\n' \
            >"ecs/$app/migrations/0001_initial.py"
    done
    printf 'FROM ubuntu:xenial\n# ecs-lab stand-in: docker-compose build does not build it\n' >Dockerfile
    printf '#!/usr/bin/env python3\n# ecs-lab stand-in: the twin runs /usr/lib/ecs-lab/ecs/manage.py\n' >manage.py
    chmod +x manage.py
    printf 'ecs-lab stand-in of https://github.com/ecs-org/ecs\n' >README.md
    : >static/.keep
}

fill_docs() {
    mkdir -p user-manual-de
    printf '<!DOCTYPE html><title>ECS Docs (ecs-lab stand-in)</title>\n' >index.html
    printf '<!DOCTYPE html><title>ECS Benutzerhandbuch (ecs-lab stand-in)</title>\n' >user-manual-de/index.html
}

make_repo "$M/ecs.git" master fill_ecs
make_repo "$M/ecs-docs.git" gh-pages fill_docs

# set_instead BASE URL...: exactly these insteadOf values for url.BASE in /etc/gitconfig
set_instead() {
    local base=$1 u
    shift
    git config --system --unset-all "url.$base.insteadOf" || true
    for u in "$@"; do git config --system --add "url.$base.insteadOf" "$u"; done
}
set_instead "file://$M/ecs.git" https://github.com/ecs-org/ecs.git
set_instead "file://$M/ecs-docs.git" https://github.com/ecs-org/ecs-docs.git
set_instead "file://$M/ecs-appliance.git" https://github.com/ecs-org/ecs-appliance \
    https://github.com/ecs-org/ecs-appliance.git
# the mirrors are root's; app clones them (prepare-ecs.sh:29 `gosu app git clone`)
for r in ecs ecs-docs ecs-appliance; do
    git config --system --get-all safe.directory | grep -qxF "$M/$r.git" ||
        git config --system --add safe.directory "$M/$r.git"
done
