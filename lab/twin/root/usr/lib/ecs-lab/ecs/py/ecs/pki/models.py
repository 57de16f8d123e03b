"""ecs.pki.models stand-in: Certificate.create_for_user and CertificateAuthority, as
ecs: ecs/pki/models.py and ecs/pki/openssl.py do it: the CA key lives in
pki_certificateauthority, its certificate in ECS_CA_ROOT/ca.cert.pem; the user's key and
certificate are made with the real openssl and exported as PKCS#12 to the given path."""
import datetime
import math
import os
import random
import shutil
import string
import subprocess
import tempfile

from django.conf import settings
from ecslab.orm import Model
from ecslab.db import q

PASSPHRASE_ENTROPY = 80
PASSPHRASE_CHARS = string.ascii_lowercase + string.digits


def _openssl(args, stdin=None):
    return subprocess.run(['openssl'] + args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True).stdout


class CertificateAuthority(Model):
    _table = 'pki_certificateauthority'
    _fields = {'key': '', 'cert': ''}


class Certificate(Model):
    _table = 'pki_certificate'
    _fields = {'user_id': None, 'cn': '', 'subject': '', 'serial': 0,
               'created_at': None, 'expires_at': None, 'revoked_at': None}

    @classmethod
    def get_serial(cls):
        r = q('SELECT max(serial) AS m FROM pki_certificate', fetch='one')
        return (r['m'] or 0) + 1

    @classmethod
    def create_for_user(cls, pkcs12, user, cn=None, days=None):
        from ecs.users.utils import get_full_name
        from ecs.core.models import EthicsCommission
        if not cn:
            cn = get_full_name(user)
        ec = EthicsCommission.objects.get(uuid=settings.ETHICS_COMMISSION_UUID)
        subject = '/CN={}/O={}/emailAddress={}'.format(cn, ec.name, user.email)
        passphrase_len = math.ceil(PASSPHRASE_ENTROPY / math.log2(len(PASSPHRASE_CHARS)))
        passphrase = ''.join(random.choice(PASSPHRASE_CHARS) for i in range(passphrase_len))
        data = make_cert(subject, pkcs12, passphrase=passphrase, days=days)
        cert = cls.objects.create(user=user, cn=cn, **data)
        return (cert, passphrase)

    @property
    def is_expired(self):
        return self.expires_at < datetime.datetime.now(datetime.timezone.utc)

    def __str__(self):
        return self.cn


def ca_root():
    # the container's /app/ecs-ca is the host's /data/ecs-ca (salt/appliance/ecs/docker-compose.yml:13)
    r = settings.ECS_CA_ROOT
    return '/data/ecs-ca' if r.rstrip('/') == '/app/ecs-ca' else r


def setup_ca(subject):
    """ecs.pki.openssl.setup: a self-signed CA, key in the database."""
    key = _openssl(['genrsa', '2048'])
    cert = _openssl(['req', '-batch', '-new', '-key', '/dev/stdin', '-x509', '-days', '3650',
                     '-subj', subject], stdin=key)
    CertificateAuthority.objects.create(key=key.decode(), cert=cert.decode())
    with open(os.path.join(ca_root(), 'ca.cert.pem'), 'w') as f:
        f.write(cert.decode())


def make_cert(subject, pkcs12_file, days=None, passphrase=''):
    ca = CertificateAuthority.objects.get()
    workdir = tempfile.mkdtemp()
    try:
        cakey = os.path.join(workdir, 'ca.key.pem')
        cacert = os.path.join(workdir, 'ca.cert.pem')
        with open(cakey, 'w') as f:
            f.write(ca.key)
        with open(cacert, 'w') as f:
            f.write(ca.cert)
        key_file = os.path.join(workdir, 'key.pem')
        csr_file = os.path.join(workdir, 'x.csr')
        cert_file = os.path.join(workdir, 'cert.pem')
        serial = Certificate.get_serial()
        _openssl(['genrsa', '-out', key_file, '2048'])
        _openssl(['req', '-batch', '-new', '-key', key_file, '-out', csr_file, '-subj', subject])
        # openssl.py signs with `openssl ca` (default_days 730); x509 -req is equivalent here
        _openssl(['x509', '-req', '-in', csr_file, '-CA', cacert, '-CAkey', cakey,
                  '-set_serial', str(serial), '-days', str(days or 730), '-sha256', '-out', cert_file])
        _openssl(['pkcs12', '-export', '-clcerts', '-in', cert_file, '-inkey', key_file,
                  '-out', pkcs12_file, '-passout', 'pass:{}'.format(passphrase)])
        out = _openssl(['x509', '-noout', '-in', cert_file, '-serial', '-dates', '-subject',
                        '-nameopt', 'compat']).decode()
        d = dict(line.split('=', 1) for line in out.rstrip('\n').split('\n'))
        fmt = '%b %d %H:%M:%S %Y %Z'
        utc = datetime.timezone.utc
        return {
            'serial': int(d['serial'], 16),
            'created_at': datetime.datetime.strptime(' '.join(d['notBefore'].split()), fmt).replace(tzinfo=utc),
            'expires_at': datetime.datetime.strptime(' '.join(d['notAfter'].split()), fmt).replace(tzinfo=utc),
            'subject': d['subject'].strip(),
        }
    finally:
        shutil.rmtree(workdir)
