#!/bin/bash
# create-internal-user.sh EMAIL FIRST LAST f|m (lab): needs the running
# appliance; prints `created/updated user EMAIL with passphrase PASS`.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
if [ $# -ne 4 ]; then
    echo "usage: $0 email first_name last_name gender(f/m)" >&2
    exit 1
fi
email=$1
case $4 in
f | m) ;;
*)
    echo "error: gender must be f or m" >&2
    exit 1
    ;;
esac
if [ "$(unit_state appliance)" != active ] || [ -e "$PAGE_503" ]; then
    echo "error: the appliance is not running (systemctl is-active appliance: $(unit_state appliance))" >&2
    exit 1
fi
if [[ $email != ?*@?*.?* ]] || [[ $email == *[[:space:]/]* ]]; then
    echo "error: Enter a valid email address: $email" >&2
    exit 1
fi
mkdir -p "$LAB/state/users"
printf '%s\n%s\n%s\n' "$2" "$3" "$4" >"$LAB/state/users/$email"
pass=$(tr -dc 'a-z0-9' </dev/urandom | head -c 20)
echo "created/updated user $email with passphrase $pass"
