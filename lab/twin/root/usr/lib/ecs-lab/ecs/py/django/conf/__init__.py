"""django.conf.settings of the ECS stand-in: the values of ecs/settings.py that the helper
scripts and this stand-in read, then ECS_SETTINGS executed as ecs/settings.py:356-357 does,
then DEFAULT_FROM_EMAIL derived as ecs/settings.py:371."""
import os
from datetime import timedelta  # noqa: F401 (ECS_SETTINGS may use it)


class _Settings:
    def __init__(self):
        ns = {
            'DEBUG': True,
            'TIME_ZONE': 'Europe/Vienna',
            'ECS_CA_ROOT': '/app/ecs-ca',
            'ETHICS_COMMISSION_UUID': 'ecececececececececececececececec',
            'DOMAIN': 'localhost',
            'ABSOLUTE_URL_PREFIX': 'http://localhost:8000',
            'EMAIL_BACKEND': 'django.core.mail.backends.console.EmailBackend',
            'EMAIL_BACKEND_UNFILTERED': 'django.core.mail.backends.console.EmailBackend',
            'EMAIL_UNFILTERED_DOMAINS': (),
            'SMTPD_CONFIG': {'listen_addr': ('127.0.0.1', 8025), 'domain': 'localhost'},
            'STORAGE_VAULT': {},
        }
        ns['ABSOLUTE_URL_PREFIX'] = 'http://' + ns['DOMAIN'] + ':8000'
        if os.getenv('ECS_SETTINGS'):
            exec(os.getenv('ECS_SETTINGS'), ns)
        ns['DEFAULT_FROM_EMAIL'] = ns['SERVER_EMAIL'] = 'noreply@{}'.format(ns['DOMAIN'])
        for k, v in ns.items():
            if k.isupper():
                setattr(self, k, v)


settings = _Settings()
