#!/bin/bash
# create-client-certificate.sh EMAIL CERT_NAME [DAYS=7] (lab): needs the
# running appliance and an existing user; "mails" the PKCS#12 file and prints
# `Create and send certificate for EMAIL using passphrase PASS`.
. /var/lib/ecs-lab/lib.sh
lab_call "$@"
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 email cert_name [daysvalid(default=7)]" >&2
    exit 1
fi
email=$1
days=${3:-7}
if ! [[ $days =~ ^[0-9]+$ ]] || [ "$days" -lt 1 ]; then
    echo "error: daysvalid must be a positive number: $days" >&2
    exit 1
fi
if [ "$(unit_state appliance)" != active ] || [ -e "$PAGE_503" ]; then
    echo "error: the appliance is not running (systemctl is-active appliance: $(unit_state appliance))" >&2
    exit 1
fi
if [ ! -f "$LAB/state/users/$email" ] || [[ $email == */* ]]; then
    echo "error: user $email does not exist" >&2
    exit 1
fi
mkdir -p "$LAB/state/certs"
printf '%s\n%s\n' "$2" "$days" >>"$LAB/state/certs/$email"
pass=$(tr -dc 'a-z0-9' </dev/urandom | head -c 16)
echo "Create and send certificate for $email using passphrase $pass"
