"""`./manage.py shell` of Django 1.8.17 running IPython 4.1.1 (ecs: requirements/all.freeze),
emulated for stdin that is not a terminal, as the appliance's helper scripts feed it
(create-internal-user.sh:23; create-client-certificate.sh:25):

- the banner (IPython 4 default_banner with the image's Python 3.5.2);
- before each cell, separate_in "\\n" and the prompt "In [n]: "; on continuation lines
  "   ...: " (in2_template, dots as wide as n); prompts in the Linux color scheme with
  readline's \\001/\\002 markers around the escapes (IPython/core/prompts.py: InputColors),
  as input() writes them to a non-terminal stdout; the lab file /var/lib/ecs-lab/ipython-nocolor turns them off;
- the line-oriented input splitter of IPython 4 (push/push_accepts_more): a simple statement
  runs at once, a block runs at its first blank line;
- per cell: SyntaxError shown as IPython's SyntaxTB, other exceptions as its context
  traceback (frames of the cell only), both on stdout; Out[n]: for an expression value;
  the execution count grows for every non-blank cell, errors included;
- exit()/quit() (ExitAutocall: no argument; exit(1) is a TypeError) end the session after
  the cell; at end of input: "\\n", the confirm-exit question answered by its default;
- exit status 0 whatever the code did.
"""
import ast
import codeop
import hashlib
import linecache
import os
import re
import sys
import traceback

# the lab turns the prompt colors off by creating /var/lib/ecs-lab/ipython-nocolor
COLORS = not os.path.exists('/var/lib/ecs-lab/ipython-nocolor')


def _ic(code):
    # IPython.utils.coloransi.InputTermColors: escapes wrapped for readline
    return '\001\033[%sm\002' % code if COLORS else ''


def _c(code):
    return '\033[%sm' % code if COLORS else ''


BANNER = ('Python 3.5.2 (default, Nov 12 2018, 13:43:14) \n'
          'Type "copyright", "credits" or "license" for more information.\n\n'
          'IPython 4.1.1 -- An enhanced Interactive Python.\n'
          '?         -> Introduction and overview of IPython\'s features.\n'
          '%quickref -> Quick reference.\n'
          'help      -> Python\'s own help system.\n'
          'object?   -> Details about \'object\', use \'object??\' for extra details.\n')

PLUS_IMPORTS = ('# Shell Plus Model Imports\n'
                'from django.contrib.auth.models import Group, User\n'
                'from ecs.core.models import EthicsCommission\n'
                'from ecs.pki.models import Certificate, CertificateAuthority\n'
                'from ecs.users.models import UserProfile, UserSettings\n')


class Shell:
    def __init__(self):
        self.count = 1
        self.exit_now = False
        self.ns = {'__name__': '__main__', '__builtins__': __builtins__}
        self.ns['exit'] = self.ns['quit'] = ExitAutocall(self)

    # -- prompts (IPython/core/prompts.py: in_template 'In [\\#]: ', in2 '   .\\D.: ')
    def prompt_in(self):
        return '\n%sIn [%s%d%s]: %s' % (_ic('0;32'), _ic('1;32'), self.count, _ic('0;32'), _ic('0'))

    def prompt_in2(self):
        return '%s   .%s.: %s' % (_ic('0;32'), '.' * len(str(self.count)), _ic('0'))

    def out(self, value):
        if value is None:
            return
        self.ns['_'] = value
        text = repr(value)
        prompt = '%sOut[%s%d%s]: %s' % (_c('0;31'), _c('1;31'), self.count, _c('0;31'), _c('0'))
        if '\n' in text:
            text = '\n' + text
        sys.stdout.write(prompt + text + '\n')

    # -- the cell
    def run_cell(self, cell):
        if not cell or cell.isspace():
            return
        name = '<ipython-input-%d-%s>' % (self.count, hashlib.sha1(cell.encode('utf-8')).hexdigest()[:12])
        linecache.cache[name] = (len(cell), None, cell.splitlines(True), name)
        try:
            tree = ast.parse(cell, filename=name)
        except (SyntaxError, ValueError, OverflowError, TypeError) as e:
            self.show_syntaxerror(_py35_syntaxerror(e, cell, name))
            self.count += 1
            return
        body = tree.body
        try:
            if body and isinstance(body[-1], ast.Expr):
                head, last = body[:-1], body[-1]
                if head:
                    exec(compile(ast.Module(head, []), name, 'exec'), self.ns)
                value = eval(compile(ast.Expression(last.value), name, 'eval'), self.ns)
                self.out(value)
            else:
                exec(compile(tree, name, 'exec'), self.ns)
        except SystemExit:
            self.exit_now = True
        except BaseException as e:
            self.show_traceback(e)
        sys.stdout.flush()
        self.count += 1

    def show_syntaxerror(self, e):
        msg = _py35_message(e.msg if isinstance(e, SyntaxError) else str(e))
        out = []
        if isinstance(e, SyntaxError):
            out.append('  File "%s", line %s' % (e.filename, e.lineno))
            if e.text:
                text = e.text.rstrip('\n')
                stripped = text.lstrip()
                caret = max((e.offset or 1) - 1 - (len(text) - len(stripped)), 0)
                out.append('    ' + stripped)
                out.append('    ' + ' ' * caret + '^')
        out.append('%s: %s' % (type(e).__name__, msg))
        sys.stdout.write('\n'.join(out) + '\n\n')

    def show_traceback(self, e):
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename.startswith('<ipython-input-')]
        etype = type(e).__name__
        out = [_c('0;31') + '-' * 75 + _c('0'),
               etype + 'Traceback (most recent call last)'.rjust(75 - len(etype))]
        for f in frames:
            out.append('%s in %s()' % (f.filename, f.name))
            lines = linecache.getlines(f.filename)
            lo = max(f.lineno - 3, 1)
            hi = min(f.lineno + 3, len(lines))
            for n in range(lo, hi + 1):
                mark = '----> ' if n == f.lineno else '      '
                out.append('%s%d %s' % (mark, n, lines[n - 1].rstrip('\n')))
            out.append('')
        out.append('%s: %s' % (etype, _py35_message(str(e))))
        sys.stdout.write('\n'.join(out) + '\n')

    # -- IPython 4 TerminalInteractiveShell.interact with its InputSplitter
    def interact(self):
        buf = []
        indent = 0
        full_dedent = False
        while not self.exit_now:
            prompt = self.prompt_in2() if buf else self.prompt_in()
            sys.stdout.write(prompt)
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                sys.stdout.write('\n')
                sys.stdout.write('Do you really want to exit ([y]/n)? \n')
                break
            line = line.rstrip('\n')
            if not buf:
                indent, full_dedent = 0, False
            buf.append(line)
            source = '\n'.join(buf) + '\n'
            indent, full_dedent = _update_indent(line, indent, full_dedent)
            if _accepts_more(source, buf, indent):
                continue
            buf = []
            self.run_cell(source)


class ExitAutocall:
    """IPython.core.autocall.ExitAutocall: `exit` takes no argument."""

    def __init__(self, shell):
        self._shell = shell

    def __repr__(self):
        return '<IPython.core.autocall.ExitAutocall object at 0x7f3c1d2e8b70>'

    def __call__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError('__call__() takes 1 positional argument but %d were given' % (len(args) + 1))
        self._shell.exit_now = True


_DEDENT = re.compile(r'^\s+(raise|return|pass|break|continue)\b')


def _update_indent(line, indent, full_dedent):
    """IPython 4 InputSplitter._find_indent, for one non-blank, comment-free line."""
    code = line.split('#', 1)[0] if '#' in line and "'" not in line and '"' not in line else line
    if not code or code.isspace():
        return indent, full_dedent
    inisp = len(code) - len(code.lstrip())
    if inisp < indent:
        indent = inisp
        if indent <= 0:
            full_dedent = True
    if code.rstrip()[-1] == ':':
        indent += 4
    elif _DEDENT.match(code):
        indent -= 4
        if indent <= 0:
            full_dedent = True
    return max(indent, 0), full_dedent


def _is_complete(source):
    try:
        return codeop.compile_command(source, '<input>', 'exec') is not None
    except (SyntaxError, OverflowError, ValueError, TypeError):
        return True


def _accepts_more(source, buf, indent):
    """IPython 4 InputSplitter.push_accepts_more."""
    if not _is_complete(source):
        return True
    last = buf[-1]
    if not last or last.isspace():
        return False
    if indent == 0:
        if len(buf) <= 1:
            return False
        try:
            tree = ast.parse(source)
        except Exception:
            return False
        if len(tree.body) == 1 and not hasattr(tree.body[0], 'body'):
            return False
    return True


def _py35_syntaxerror(e, cell, name):
    """Python 3.5's parser takes one token at a time and stops at the first one that does not
    fit, before the tokenizer reaches an unterminated string further on (x='O'Brien' fails at
    Brien: "invalid syntax"); Python 3.11 reports the unterminated string. Compile the cell up
    to that string to find the earlier error."""
    if not (isinstance(e, SyntaxError) and e.msg.startswith('unterminated') and e.lineno and e.offset):
        return e
    lines = cell.splitlines(True)
    head = ''.join(lines[:e.lineno - 1]) + lines[e.lineno - 1][:e.offset - 1]
    try:
        compile(head, name, 'exec')
    except SyntaxError as e2:
        if (e2.lineno, e2.offset or 0) < (e.lineno, e.offset) and not e2.msg.startswith('unexpected EOF'):
            e2.msg = 'invalid syntax'
            e2.text = lines[e2.lineno - 1]
            return e2
    return e


def _py35_message(msg):
    """Python 3.11's wording where the image's Python 3.5 says otherwise."""
    msg = re.sub(r'^unterminated string literal \(detected at line \d+\)$', 'EOL while scanning string literal', msg)
    msg = re.sub(r'^unterminated triple-quoted string literal.*$', 'EOF while scanning triple-quoted string literal', msg)
    msg = re.sub(r'^invalid syntax\. Perhaps you forgot a comma\?$', 'invalid syntax', msg)
    msg = re.sub(r'^(\w+\.)+(\w+\(\) takes)', r'\2', msg)
    return msg


def main(plus=False):
    shell = Shell()
    if plus:
        sys.stdout.write(PLUS_IMPORTS)
        exec(PLUS_IMPORTS, shell.ns)
    sys.stdout.write(BANNER)
    try:
        shell.interact()
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    return 0
