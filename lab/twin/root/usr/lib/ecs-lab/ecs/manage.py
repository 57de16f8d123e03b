#!/usr/bin/python3
"""ecs-lab stand-in for ECS's ./manage.py (Django 1.8.17) inside the ecs/ecs container.
Commands: shell (and shell_plus): IPython 4.1.1's terminal shell, emulated
(ecslab/shell.py); migrate; bootstrap; userswitcher (no-op); _checkdb (the exit codes of
ECS's scripts/checkdb.py as scripts/database.include reads them)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'py'))
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'ecs.settings')


def fault(name):
    if os.environ.get('ECS_LAB_FAULT') == name:
        print('ecs-lab fault %s: failing' % name, file=sys.stderr)
        sys.exit(1)


def checkdb():
    import psycopg2
    from ecslab import db
    try:
        db.connect()
    except Exception as e:
        return 8 if 'does not exist' in str(e) else 9
    rows = db.q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    names = {r['table_name'] for r in rows}
    if 'django_migrations' in names:
        return 0
    if 'south_migrationhistory' in names:
        return 1
    return 2


def migrate(args):
    from ecslab import db, schema
    fault('ecs-migrate')
    db.q(schema.DJANGO_MIGRATIONS, fetch=None)
    done = {(r['app'], r['name']) for r in db.q('SELECT app, name FROM django_migrations')}
    todo = [m for m in schema.MIGRATIONS if (m[0], m[1]) not in done]
    print('Operations to perform:')
    print('  Synchronize unmigrated apps: staticfiles, humanize, messages, admindocs, '
          'django_countries, widget_tweaks, compressor, haystack, django_extensions')
    print('  Apply all migrations: %s' % ', '.join(sorted({m[0] for m in schema.MIGRATIONS})))
    print('Synchronizing apps without migrations:')
    print('  Creating tables...')
    print('    Running deferred SQL...')
    print('  Installing custom SQL...')
    print('Running migrations:')
    if not todo:
        print('  No migrations to apply.')
    else:
        print('  Rendering model states... DONE')
    for app, name, sql in todo:
        db.q(sql, fetch=None)
        db.q('INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())',
             [app, name], fetch=None)
        print('  Applying %s.%s... OK' % (app, name))
    sys.stdout.flush()


def bootstrap():
    from ecslab import schema
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from ecs.core.models import EthicsCommission
    from ecs.pki.models import CertificateAuthority, setup_ca
    fault('ecs-bootstrap')
    for g in schema.GROUPS:
        Group.objects.get_or_create(name=g)
    # ecs: ecs/core/bootstrap.py auth_user_root()
    root, created = User.objects.get_or_create(username='root')
    root.first_name = 'System'
    root.last_name = 'Administrator'
    root.is_staff = True
    root.is_superuser = True
    root.email = 'nobody@example.notexisting.loc'
    root.set_unusable_password()
    root.save()
    # the EC this system is (ETHICS_COMMISSION_UUID); the real bootstrap loads the list of ECs
    EthicsCommission.objects.get_or_create(
        uuid=settings.ETHICS_COMMISSION_UUID,
        defaults={'name': 'Ethikkommission ecs-lab', 'city': 'Wien'})
    if not CertificateAuthority.objects.exists():
        setup_ca('/CN=ecs-lab CA/O=Ethikkommission ecs-lab')


def main(argv):
    if not argv:
        print("\nType 'manage.py help <subcommand>' for help on a specific subcommand.")
        return 0
    cmd, args = argv[0], argv[1:]
    if cmd == '_checkdb':
        return checkdb()
    if cmd in ('shell', 'shell_plus'):
        from ecslab import shell
        return shell.main(plus=(cmd == 'shell_plus'))
    if cmd == 'migrate':
        migrate(args)
        return 0
    if cmd == 'bootstrap':
        bootstrap()
        return 0
    if cmd == 'userswitcher':
        return 0
    sys.stderr.write("Unknown command: %r\nType 'manage.py help' for usage.\n" % cmd)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
