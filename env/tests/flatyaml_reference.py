#!/usr/bin/env python3
# A reference flatyaml for cross-checking ecsfleet-env's flatten, written from
# the behaviour of the appliance's salt/common/flatyaml.py: PyYAML safe_load,
# keys joined with COMBINE, lists as _N plus _len, strings stripped and
# shlex-quoted, bools lower-case, None empty, str() otherwise; sorted per root.
# usage: flatyaml_reference.py ROOTS < file.yml
import sys
from collections.abc import Mapping
from shlex import quote

import yaml


def walk(node, key, sep, out):
    if isinstance(node, Mapping):
        for k, v in node.items():
            walk(v, key + sep + k if key else k, sep, out)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            walk(v, key + sep + str(i) if key else str(i), sep, out)
        out[key + sep + "len"] = len(node)
    elif node is None:
        out[key] = ""
    elif isinstance(node, str):
        out[key] = quote(node.strip())
    elif isinstance(node, bool):
        out[key] = repr(node).lower()
    else:
        out[key] = node


def main():
    data = yaml.safe_load(sys.stdin)
    sep = "_"
    for root in sys.argv[1].split(","):
        out = {}
        if root == ".":
            walk(data, "", sep, out)
            prefix = ""
        elif root in data:
            walk(data[root], "", sep, out)
            prefix = root.upper() + sep
        else:
            print('Error: key "{}" not found in data'.format(root), file=sys.stderr)
            continue
        for k, v in sorted(out.items()):
            print("{}{}={}".format(prefix, k.upper(), v))


if __name__ == "__main__":
    main()
