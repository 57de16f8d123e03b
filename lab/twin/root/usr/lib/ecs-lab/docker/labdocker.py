#!/usr/bin/python3
"""ecs-lab stand-in for docker-engine 1.13's client and docker-compose <= 1.20.99.

Called by /usr/bin/docker and /usr/local/bin/docker-compose (which record the
call first). No daemon, no images, no network: containers are files.
  /var/lib/ecs-lab/docker/images.json          images by name, dangling ids
  /var/lib/ecs-lab/docker/containers/NAME.json  containers that exist (survive reboots, as
                                               /var/lib/docker does)
  /run/ecs-lab/containers/NAME                 marker: container NAME is running (JSON:
                                               its environment); a reboot empties /run
The ECS containers' commands go to the ECS entrypoint stand-in /usr/lib/ecs-lab/ecs/start.
See lab/TWIN-DOCKER.md for the real lines each behaviour follows.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

STATE = '/var/lib/ecs-lab/docker'
RUN = '/run/ecs-lab/containers'
ENTRYPOINT = '/usr/lib/ecs-lab/ecs/start'
FAULTS = os.environ.get('ECS_LAB_FAULTS', '').split()
# ENV and WORKDIR of the ecs/ecs image (ecs: Dockerfile:4,15,45)
ECS_IMAGE_ENV = {'LANG': 'en_US.UTF-8', 'HOME': '/app',
                 'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}


def err(msg, code=1):
    sys.stderr.write(msg + '\n')
    sys.exit(code)


def rand_hex(n):
    return os.urandom(n // 2 + 1).hex()[:n]


# ---------------------------------------------------------------- state
def load_images():
    try:
        with open(os.path.join(STATE, 'images.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {'images': {}, 'dangling': []}


def save_images(d):
    os.makedirs(STATE, exist_ok=True)
    tmp = os.path.join(STATE, 'images.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(d, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(STATE, 'images.json'))


def norm_image(name):
    last = name.rsplit('/', 1)[-1]
    return name if ':' in last or '@' in last else name + ':latest'


def cdir():
    p = os.path.join(STATE, 'containers')
    os.makedirs(p, exist_ok=True)
    return p


def get_container(name):
    try:
        with open(os.path.join(cdir(), name + '.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def put_container(c):
    tmp = os.path.join(cdir(), c['name'] + '.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(c, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(cdir(), c['name'] + '.json'))


def del_container(name):
    for p in (os.path.join(cdir(), name + '.json'), os.path.join(RUN, name)):
        try:
            os.unlink(p)
        except OSError:
            pass


def all_containers():
    out = []
    for fn in sorted(os.listdir(cdir())):
        if fn.endswith('.json'):
            c = get_container(fn[:-5])
            if c:
                out.append(c)
    return out


def is_running(name):
    return os.path.exists(os.path.join(RUN, name))


def running_env(name):
    try:
        with open(os.path.join(RUN, name)) as f:
            return json.load(f).get('env', {})
    except (OSError, ValueError):
        return {}


def mark_running(c, env):
    os.makedirs(RUN, exist_ok=True)
    tmp = os.path.join(RUN, c['name'] + '.tmp')
    with open(tmp, 'w') as f:
        json.dump({'env': env, 'started': time.time(), 'pid': os.getpid()}, f)
    os.replace(tmp, os.path.join(RUN, c['name']))
    c['status'] = 'running'
    put_container(c)


def mark_exited(name, code):
    c = get_container(name)
    try:
        os.unlink(os.path.join(RUN, name))
    except OSError:
        pass
    if c:
        c['status'] = 'exited'
        c['exit_code'] = code
        put_container(c)


# ---------------------------------------------------------------- entrypoint
def run_entrypoint(args, env, stdin=None):
    """Run the ECS image's ENTRYPOINT /docker-entrypoint.sh (ecs: Dockerfile:21-22,56) with args."""
    full = dict(ECS_IMAGE_ENV)
    full.update(env)
    cwd = '/app/ecs' if os.path.isdir('/app/ecs') else '/'
    p = subprocess.Popen([ENTRYPOINT] + list(args), env=full, cwd=cwd, stdin=stdin)
    while True:
        try:
            return p.wait()
        except KeyboardInterrupt:
            continue


def is_ecs_image(image):
    return norm_image(image or '') == 'ecs/ecs:latest'


# ================================================================ docker
def docker_images(args):
    quiet = False
    filters = []
    ref = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ('-q', '--quiet'):
            quiet = True
        elif a in ('-f', '--filter'):
            i += 1
            filters.append(args[i])
        elif a.startswith('--filter='):
            filters.append(a.split('=', 1)[1])
        elif a in ('-a', '--all', '--no-trunc', '--digests'):
            pass
        elif a.startswith('-'):
            err('unknown flag: %s\nSee \'docker images --help\'.' % a, 125)
        else:
            ref = a
        i += 1
    d = load_images()
    rows = []
    if 'dangling=true' in filters:
        rows = [('<none>', '<none>', iid) for iid in d['dangling']]
    else:
        for name, iid in sorted(d['images'].items()):
            repo, tag = name.rsplit(':', 1)
            if ref is not None:
                r = ref if ':' in ref.rsplit('/', 1)[-1] else None
                if (r and norm_image(r) != name) or (not r and ref != repo):
                    continue
            rows.append((repo, tag, iid))
    if not quiet:
        head = ('REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE')
        table = [head] + [(r, t, i, 'About an hour ago', '0 B') for r, t, i in rows]
        w = [max(len(x[k]) for x in table) + 3 for k in range(4)]
        for x in table:
            print(''.join(x[k].ljust(w[k]) for k in range(4)) + x[4])
        return 0
    if quiet:
        seen = []
        for _, _, iid in rows:
            if iid not in seen:
                seen.append(iid)
                print(iid)
    else:
        print('%-20s%-20s%-20s%-20s%s' % ('REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'))
        for repo, tag, iid in rows:
            print('%-20s%-20s%-20s%-20s%s' % (repo, tag, iid, 'About an hour ago', '0 B'))
    return 0


def docker_rmi(args):
    names = [a for a in args if not a.startswith('-')]
    d = load_images()
    rc = 0
    for n in names:
        if n in d['dangling']:
            d['dangling'].remove(n)
            print('Deleted: sha256:%s' % hashlib.sha256(n.encode()).hexdigest())
            continue
        key = norm_image(n)
        ids = [k for k, v in d['images'].items() if v == n]
        if key in d['images'] or ids:
            for k in ([key] if key in d['images'] else ids):
                iid = d['images'].pop(k)
                print('Untagged: %s' % k)
                print('Deleted: sha256:%s' % hashlib.sha256(iid.encode()).hexdigest())
            continue
        sys.stderr.write('Error response from daemon: No such image: %s\n' % n)
        rc = 1
    save_images(d)
    return rc


def docker_pull(args):
    names = [a for a in args if not a.startswith('-')]
    if len(names) != 1:
        err('"docker pull" requires exactly 1 argument(s).', 1)
    name = norm_image(names[0])
    repo, tag = name.rsplit(':', 1)
    d = load_images()
    print('%s: Pulling from %s' % (tag, repo if '/' in repo else 'library/' + repo))
    digest = hashlib.sha256(name.encode()).hexdigest()
    if name in d['images']:
        print('Digest: sha256:%s' % digest)
        print('Status: Image is up to date for %s' % names[0])
    else:
        d['images'][name] = rand_hex(12)
        save_images(d)
        print('Digest: sha256:%s' % digest)
        print('Status: Downloaded newer image for %s' % names[0])
    return 0


def docker_volume(args):
    if args and args[0] == 'ls':
        if '-q' not in args and '--quiet' not in args:
            print('DRIVER              VOLUME NAME')
        return 0   # the stand-in has no volumes
    if args and args[0] == 'rm':
        rc = 0
        for n in args[1:]:
            if not n.startswith('-'):
                sys.stderr.write('Error response from daemon: get %s: no such volume\n' % n)
                rc = 1
        return rc
    err('docker volume %s: not emulated by the ecs-lab stand-in' % ' '.join(args), 2)


def docker_exec(args):
    interactive = tty = False
    env = {}
    i = 0
    while i < len(args) and args[i].startswith('-'):
        a = args[i]
        if a in ('-e', '--env', '-u', '--user', '-w', '--workdir'):
            if a in ('-e', '--env'):
                k, _, v = args[i + 1].partition('=')
                env[k] = v
            i += 2
            continue
        if a.startswith('--'):
            if a == '--interactive':
                interactive = True
            elif a == '--tty':
                tty = True
            elif a not in ('--privileged', '--detach'):
                err('unknown flag: %s\nSee \'docker exec --help\'.' % a, 125)
        else:
            for ch in a[1:]:
                if ch == 'i':
                    interactive = True
                elif ch == 't':
                    tty = True
                elif ch not in 'd':
                    err('unknown shorthand flag: \'%s\' in %s\nSee \'docker exec --help\'.' % (ch, a), 125)
        i += 1
    rest = args[i:]
    if len(rest) < 2:
        err('"docker exec" requires at least 2 argument(s).\nSee \'docker exec --help\'.\n\n'
            'Usage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n'
            'Run a command in a running container', 1)
    name, cmd = rest[0], rest[1:]
    c = get_container(name)
    if c is None:
        err('Error response from daemon: No such container: %s' % name, 1)
    if not is_running(name):
        err('Error response from daemon: Container %s is not running' % c['id'], 1)
    if tty and interactive and not sys.stdin.isatty():
        err('the input device is not a TTY', 1)
    cenv = running_env(name)
    cenv.update(env)
    stdin = None if interactive else subprocess.DEVNULL
    if not is_ecs_image(c.get('image')):
        err('ecs-lab stand-in: exec into %s (%s) is not emulated' % (name, c.get('image')), 126)
    if cmd[0] in ('/start', '/docker-entrypoint.sh'):
        return run_entrypoint(cmd[1:], cenv, stdin)
    # any other command: run it as the entrypoint's "exec $@" would (as root)
    return run_entrypoint(cmd, cenv, stdin)


def docker_ps(args):
    show_all = '-a' in args or '--all' in args
    quiet = '-q' in args or '--quiet' in args
    fmt = None
    for i, a in enumerate(args):
        if a == '--format':
            fmt = args[i + 1]
    for c in all_containers():
        running = is_running(c['name'])
        if not running and not show_all:
            continue
        status = 'Up' if running else 'Exited (%s)' % c.get('exit_code', 0)
        if quiet:
            print(c['id'][:12])
        elif fmt:
            print(fmt.replace('{{.Names}}', c['name']).replace('{{.ID}}', c['id'][:12])
                  .replace('{{.Image}}', c['image']).replace('{{.Status}}', status).replace('\\t', '\t'))
        else:
            print('%-14s%-28s%-10s%s' % (c['id'][:12], c['image'], status, c['name']))
    return 0


def docker_stop(args):
    rc = 0
    for n in [a for a in args if not a.startswith('-') and not a.isdigit()]:
        if get_container(n) is None:
            sys.stderr.write('Error response from daemon: No such container: %s\n' % n)
            rc = 1
            continue
        if is_running(n):
            mark_exited(n, 0)
        print(n)
    return rc


def docker_main(args):
    while args and args[0].startswith('-'):
        if args[0] in ('-H', '--host', '--config', '-l', '--log-level'):
            args = args[2:]
        elif args[0] in ('-v', '--version'):
            print('Docker version 1.13.1, build 092cba3')
            return 0
        else:
            args = args[1:]
    if not args:
        err('Usage: docker COMMAND', 0)
    cmd, rest = args[0], args[1:]
    if cmd == 'image' and rest and rest[0] == 'ls':
        cmd, rest = 'images', rest[1:]
    table = {'images': docker_images, 'rmi': docker_rmi, 'pull': docker_pull,
             'volume': docker_volume, 'exec': docker_exec, 'ps': docker_ps,
             'stop': docker_stop}
    if cmd == 'version':
        print('Client:\n Version:      1.13.1\n API version:  1.26\n\nServer:\n Version:      1.13.1')
        return 0
    if cmd not in table:
        err('docker %s: not emulated by the ecs-lab stand-in (usr/lib/ecs-lab/docker/labdocker.py)' % cmd, 2)
    return table[cmd](rest)


# ================================================================ docker-compose
class Project:
    def __init__(self, files, name):
        import yaml
        self.files = files
        self.dir = os.path.dirname(os.path.abspath(files[0]))
        self.services = {}
        self.order = []
        for fn in files:
            with open(fn) as f:
                d = yaml.safe_load(f) or {}
            for k, v in (d.get('services') or {}).items():
                if k not in self.services:
                    self.order.append(k)
                self.services[k] = v or {}
        # docker-compose 1.x: project name = basename of the project directory,
        # lower-cased, without characters other than [-_a-z0-9]
        self.name = re.sub(r'[^-_a-z0-9]', '', (name or os.path.basename(self.dir)).lower())
        self.order = self._toposort()

    def _deps(self, s):
        svc = self.services[s]
        deps = []
        for key in ('links', 'depends_on'):
            for l in svc.get(key) or []:
                deps.append(l.split(':')[0])
        return [d for d in deps if d in self.services]

    def _toposort(self):
        out = []
        seen = set()

        def visit(s):
            if s in seen:
                return
            seen.add(s)
            for d in self._deps(s):
                visit(d)
            out.append(s)
        for s in self.order:
            visit(s)
        return out

    def cname(self, service):
        return '%s_%s_1' % (self.name, service)

    def image(self, service):
        svc = self.services[service]
        return norm_image(svc.get('image') or '%s_%s' % (self.name, service.replace('.', '')))

    def env(self, service):
        """The container's environment: env_file entries, then `environment` with ${VAR}
        taken from the caller's environment (compose interpolation)."""
        svc = self.services[service]
        env = {}
        ef = svc.get('env_file') or []
        for fn in ([ef] if isinstance(ef, str) else ef):
            try:
                with open(os.path.join(self.dir, fn)) as f:
                    for line in f:
                        line = line.strip()
                        if line and not line.startswith('#') and '=' in line:
                            k, v = line.split('=', 1)
                            env[k] = v
            except OSError:
                err('ERROR: Couldn\'t find env file: %s' % os.path.join(self.dir, fn), 1)
        e = svc.get('environment') or []
        items = e.items() if isinstance(e, dict) else [x.split('=', 1) if '=' in x else [x, None] for x in e]
        for k, v in items:
            if v is None:
                v = os.environ.get(k, '')
            v = re.sub(r'\$\{(\w+)\}|\$(\w+)', lambda m: os.environ.get(m.group(1) or m.group(2), ''), str(v))
            env[k] = v
        return env

    def command(self, service):
        c = self.services[service].get('command')
        if c is None:
            return []
        return c.split() if isinstance(c, str) else list(c)


def compose_ensure_image(p, service, quiet=False):
    d = load_images()
    img = p.image(service)
    if img in d['images']:
        return d['images'][img]
    if 'build' in p.services[service]:
        compose_build_one(p, service, d)
        sys.stderr.write('WARNING: Image for service %s was built because it did not already exist. '
                         'To rebuild this image you must use `docker-compose build` or '
                         '`docker-compose up --build`.\n' % service)
    else:
        if not quiet:
            sys.stderr.write('Pulling %s (%s)...\n' % (service, img))
        d['images'][img] = rand_hex(12)
    save_images(d)
    return d['images'][img]


def compose_build_one(p, service, d):
    b = p.services[service]['build']
    ctx = b if isinstance(b, str) else b.get('context', '.')
    ctxp = os.path.join(p.dir, ctx)
    if not os.path.isdir(ctxp):
        err('ERROR: build path %s either does not exist, is not accessible, or is not a valid URL.' % ctxp, 1)
    print('Building %s' % service)
    img = p.image(service)
    new = rand_hex(12)
    print('Step 1/1 : (ecs-lab stand-in: no image is really built from %s)' % ctxp)
    print(' ---> %s' % new)
    print('Successfully built %s' % new)
    old = d['images'].get(img)
    d['images'][img] = new
    if old and old not in d['images'].values() and old not in d['dangling']:
        d['dangling'].append(old)


def compose_build(p, args):
    services = [a for a in args if not a.startswith('-')] or [s for s in p.order if 'build' in p.services[s]]
    for s in services:
        if s not in p.services:
            err('ERROR: No such service: %s' % s, 1)
    if 'compose-build' in FAULTS:
        print('Building %s' % services[0])
        err('ERROR: Service \'%s\' failed to build: (ecs-lab fault compose-build)' % services[0], 1)
    d = load_images()
    for s in services:
        if 'build' in p.services[s]:
            compose_build_one(p, s, d)
        else:
            sys.stderr.write('%s uses an image, skipping\n' % s)
    save_images(d)
    return 0


def compose_start_container(p, s, verb_ok=True):
    """Create/recreate/start service s's container, mark it running; returns its name."""
    name = p.cname(s)
    iid = compose_ensure_image(p, s)
    c = get_container(name)
    if c is None:
        verb = 'Creating'
        c = {'name': name, 'id': rand_hex(64), 'service': s, 'project': p.name,
             'image': p.image(s), 'image_id': iid}
    elif c.get('image_id') != iid:
        verb = 'Recreating'
        c = {'name': name, 'id': rand_hex(64), 'service': s, 'project': p.name,
             'image': p.image(s), 'image_id': iid}
    elif is_running(name):
        verb = None
    else:
        verb = 'Starting'
    if verb:
        sys.stderr.write('%s %s ... done\n' % (verb, name))
    else:
        sys.stderr.write('%s is up-to-date\n' % name)
    mark_running(c, p.env(s))
    return name


# What the ECS entrypoint prints when a container starts with the service's command
# (ecs: scripts/docker-entrypoint.sh:35,55,67-70,77,87-98).
def entrypoint_banner(cmd):
    q = ' '.join(cmd)
    lines = ['docker-entrypoint.sh called with:"%s"' % q]
    if cmd and cmd[0] in ('worker', 'beat', 'smtpd', 'run'):
        lines.append('docker-entrypoint.sh called with:"_user %s"' % q)
        lines.append('activate environment')
        lines.append({'worker': 'execute celery worker', 'beat': 'execute celery beat',
                      'smtpd': 'execute smtpd'}.get(cmd[0], ''))
    elif cmd and cmd[0] == 'simple':
        lines.append('execute supervisor (web)')
    return [l for l in lines if l]


def compose_up(p, args):
    abort = '--abort-on-container-exit' in args
    exit_from = None
    for i, a in enumerate(args):
        if a == '--exit-code-from':
            exit_from = args[i + 1]
            abort = True
        elif a.startswith('--exit-code-from='):
            exit_from = a.split('=', 1)[1]
            abort = True
    if '-d' in args or '--detach' in args:
        err('docker-compose up -d: not emulated by the ecs-lab stand-in', 2)
    if exit_from and exit_from not in p.services:
        err('ERROR: No service named "%s" was found in your compose file.' % exit_from, 1)
    names = [compose_start_container(p, s) for s in p.order]
    width = max(len(n[len(p.name) + 1:]) for n in names)
    print('Attaching to %s' % ', '.join(names))
    for s in p.order:
        if is_ecs_image(p.image(s)):
            for line in entrypoint_banner(p.command(s)):
                print('%s | %s' % (p.cname(s)[len(p.name) + 1:].ljust(width), line))
    sys.stdout.flush()
    if 'ecs-web-exit' in FAULTS and 'ecs.web' in p.services:
        print('%s | ecs-lab fault ecs-web-exit: supervisord exits 1' % 'ecs.web_1'.ljust(width))
        mark_exited(p.cname('ecs.web'), 1)

    stopping = {'now': False}

    def on_signal(signum, frame):
        stopping['now'] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gone = None
    while not stopping['now']:
        for n in reversed(names):   # `compose stop` stops in reverse order
            if not is_running(n):
                gone = n
                break
        if gone:
            break
        time.sleep(0.5)
    if stopping['now']:
        sys.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n')
    else:
        c = get_container(gone) or {}
        print('%s exited with code %s' % (gone, c.get('exit_code', 0)))
        if abort:
            print('Aborting on container exit...')
    compose_stop_names(p, [n for n in reversed(names) if is_running(n)])
    sys.stdout.flush()
    if exit_from:
        c = get_container(p.cname(exit_from)) or {}
        return int(c.get('exit_code', 0) or 0)
    return 0


def compose_stop_names(p, names):
    for n in names:
        sys.stderr.write('Stopping %s ... done\n' % n)
        mark_exited(n, 0)


def compose_stop(p, args):
    services = [a for i, a in enumerate(args) if not a.startswith('-')
                and not (i > 0 and args[i - 1] in ('-t', '--timeout'))]
    names = [p.cname(s) for s in reversed(p.order) if not services or s in services]
    compose_stop_names(p, [n for n in names if is_running(n)])
    return 0


def compose_rm(p, args):
    stopped = [c['name'] for c in all_containers()
               if c.get('project') == p.name and not is_running(c['name'])]
    if not stopped:
        sys.stderr.write('No stopped containers\n')
        return 0
    if '-f' not in args and '--force' not in args:
        err('ecs-lab stand-in: docker-compose rm without -f is not emulated', 2)
    sys.stderr.write('Going to remove %s\n' % ', '.join(stopped))
    for n in stopped:
        sys.stderr.write('Removing %s ... done\n' % n)
        del_container(n)
    return 0


def compose_run(p, args):
    no_deps = rm = False
    cname = None
    env = {}
    i = 0
    while i < len(args) and args[i].startswith('-'):
        a = args[i]
        if a == '--no-deps':
            no_deps = True
        elif a == '--rm':
            rm = True
        elif a == '--name':
            cname = args[i + 1]
            i += 1
        elif a in ('-e',):
            k, _, v = args[i + 1].partition('=')
            env[k] = v
            i += 1
        elif a in ('-u', '--user', '-w', '--workdir', '--entrypoint', '-p', '--publish', '-v', '--volume'):
            i += 1
        elif a in ('-T', '-d', '--service-ports', '--use-aliases'):
            pass
        else:
            err('ERROR: ecs-lab stand-in: docker-compose run option %s is not emulated' % a, 2)
        i += 1
    if i >= len(args):
        err('Run a one-off command on a service.\n\nUsage: run [options] [-v VOLUME...] [-p PORT...] '
            '[-e KEY=VAL...] SERVICE [COMMAND] [ARGS...]', 1)
    service, cmd = args[i], args[i + 1:]
    if service not in p.services:
        err('ERROR: No such service: %s' % service, 1)
    if not no_deps:
        for d in p._deps(service):
            compose_start_container(p, d)
    iid = compose_ensure_image(p, service)
    name = cname or '%s_%s_run_1' % (p.name, service)
    if get_container(name) is not None:
        err('ERROR: Cannot create container for service %s: Conflict. The container name "/%s" is '
            'already in use by container %s. You have to remove (or rename) that container to be '
            'able to reuse that name.' % (service, name, get_container(name)['id']), 1)
    c = {'name': name, 'id': rand_hex(64), 'service': service, 'project': p.name,
         'image': p.image(service), 'image_id': iid, 'oneoff': True}
    cenv = p.env(service)
    cenv.update(env)
    mark_running(c, cenv)
    argv = cmd or p.command(service)
    extra = {}
    if argv[:1] == ['migrate'] and 'ecs-migrate' in FAULTS:
        extra['ECS_LAB_FAULT'] = 'ecs-migrate'
    if argv[:3] == ['run', './manage.py', 'bootstrap'] and 'ecs-bootstrap' in FAULTS:
        extra['ECS_LAB_FAULT'] = 'ecs-bootstrap'
    cenv.update(extra)
    try:
        if is_ecs_image(c['image']):
            rc = run_entrypoint(argv, cenv)
        else:
            sys.stderr.write('ecs-lab stand-in: running %s is not emulated\n' % service)
            rc = 0
    finally:
        mark_exited(name, 0)
    if rm:
        del_container(name)
    else:
        mark_exited(name, rc)
    return rc


def compose_ps(p, args):
    print('%-28s%-36s%-8s' % ('Name', 'Command', 'State'))
    print('-' * 72)
    for s in p.order:
        c = get_container(p.cname(s))
        if c:
            st = 'Up' if is_running(c['name']) else 'Exit %s' % c.get('exit_code', 0)
            print('%-28s%-36s%-8s' % (c['name'], ' '.join(p.command(s))[:34], st))
    return 0


def compose_main(args):
    files = []
    pname = os.environ.get('COMPOSE_PROJECT_NAME')
    while args and args[0].startswith('-'):
        a = args[0]
        if a in ('-f', '--file'):
            files.append(args[1])
            args = args[2:]
        elif a in ('-p', '--project-name'):
            pname = args[1]
            args = args[2:]
        elif a in ('--project-directory', '-H', '--host'):
            args = args[2:]
        elif a in ('-v', '--version'):
            print('docker-compose version 1.20.1, build 5d8c71b')
            return 0
        else:
            args = args[1:]
    if not args:
        err('Define and run multi-container applications with Docker.', 1)
    cmd, rest = args[0], args[1:]
    if cmd == 'version':
        print('docker-compose version 1.20.1, build 5d8c71b')
        return 0
    if not files:
        if os.environ.get('COMPOSE_FILE'):
            files = os.environ['COMPOSE_FILE'].split(':')
        else:
            d = os.getcwd()
            while True:
                for cand in ('docker-compose.yml', 'docker-compose.yaml'):
                    if os.path.exists(os.path.join(d, cand)):
                        files = [os.path.join(d, cand)]
                        break
                if files or d == '/':
                    break
                d = os.path.dirname(d)
            if not files:
                err('ERROR: \n        Can\'t find a suitable configuration file in this directory or any\n'
                    '        parent. Are you in the right directory?\n\n'
                    '        Supported filenames: docker-compose.yml, docker-compose.yaml\n        ', 1)
    for fn in files:
        if not os.path.exists(fn):
            err('ERROR: .FileNotFoundError: [Errno 2] No such file or directory: \'%s\'' % fn, 1)
    p = Project(files, pname)
    table = {'up': compose_up, 'stop': compose_stop, 'build': compose_build, 'run': compose_run,
             'rm': compose_rm, 'ps': compose_ps}
    if cmd == 'pull':
        for s in p.order:
            if 'build' not in p.services[s]:
                sys.stderr.write('Pulling %s (%s)...\n' % (s, p.image(s)))
                d = load_images()
                d['images'].setdefault(p.image(s), rand_hex(12))
                save_images(d)
        return 0
    if cmd not in table:
        err('docker-compose %s: not emulated by the ecs-lab stand-in (usr/lib/ecs-lab/docker/labdocker.py)' % cmd, 2)
    return table[cmd](p, rest)


if __name__ == '__main__':
    tool, argv = sys.argv[1], sys.argv[2:]
    try:
        sys.exit(docker_main(argv) if tool == 'docker' else compose_main(argv))
    except BrokenPipeError:
        sys.exit(1)
