"""Database access of the ECS stand-in: the host's real PostgreSQL over the Unix socket.

The database is the one of DATABASE_URL (the container's env_file database_url.env,
salt/appliance/ecs/init.sls:34-38; ecs: ecs/settings.py:16-27), else ECS_DATABASE, else
"ecs". Host and password of the URL are ignored (there is no docker0 here): the role is
the process's user (the entrypoint runs ./manage.py as app, peer authentication).
Django 1.8 runs in autocommit mode: so does this.
"""
import os
import pwd
from urllib.parse import urlparse

import psycopg2
import psycopg2.extras

from django.db import utils as dbutils

_conn = None


def dbname():
    url = os.environ.get('DATABASE_URL')
    if url:
        name = urlparse(url).path[1:]
        if name:
            return name
    return os.environ.get('ECS_DATABASE') or 'ecs'


def connect():
    global _conn
    if _conn is None or _conn.closed:
        user = pwd.getpwuid(os.getuid()).pw_name
        try:
            _conn = psycopg2.connect(dbname=dbname(), user=user)
        except psycopg2.OperationalError as e:
            raise dbutils.OperationalError(str(e)) from None
        _conn.autocommit = True
    return _conn


_MAP = {
    psycopg2.IntegrityError: 'IntegrityError',
    psycopg2.DataError: 'DataError',
    psycopg2.ProgrammingError: 'ProgrammingError',
    psycopg2.OperationalError: 'OperationalError',
    psycopg2.InternalError: 'InternalError',
}


def q(sql, args=(), fetch='all'):
    """Run one statement; map psycopg2's errors to django.db.utils' as Django does."""
    try:
        with connect().cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, args)
            if fetch == 'all':
                return cur.fetchall() if cur.description else []
            if fetch == 'one':
                return cur.fetchone() if cur.description else None
            return None
    except psycopg2.Error as e:
        for k, name in _MAP.items():
            if isinstance(e, k):
                raise getattr(dbutils, name)(str(e)) from None
        raise dbutils.DatabaseError(str(e)) from None
