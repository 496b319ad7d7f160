#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shipped configuration, and each example in it uncommented on its own, loaded the way the shell
does (serve-local.sh sources it with `set -a`): the handler must accept every one of them.

systemd's EnvironmentFile= reading of the same files is checked under real systemd by
tests/system/system-test.sh, which runs this program with --emit DIR to get the files."""

import os
import re
import subprocess
import sys

TESTS_DIR = os.environ.get("TESTS_DIR", os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DOCKER_RUN_BIN", os.path.join(TESTS_DIR, "..", "src", "docker-run"))
CONF = os.path.join(TESTS_DIR, "..", "packaging", "docker-run.conf")
EXAMPLE = re.compile(r"^#([A-Z][A-Z0-9_]*)=(.*)$")


def variants(text):
    """(name, file text): the file as shipped, then once per commented-out example with it uncommented. An
    example is a run of consecutive commented assignments: a pair that must be set together is one."""
    yield "as shipped", text
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not EXAMPLE.match(lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and EXAMPLE.match(lines[j]):
            j += 1
        name = "+".join(EXAMPLE.match(line).group(1) for line in lines[i:j])
        yield name, "\n".join(lines[:i] + [line[1:] for line in lines[i:j]] + lines[j:])
        i = j


def shell_check(path):
    """Source the file as serve-local.sh does, then ask the handler whether it accepts what it sees."""
    script = 'set -euo pipefail; set -a; . "$1"; set +a; export API_ACCESS_TOKEN=${API_ACCESS_TOKEN:-t}; ' \
             'exec "$2" --check-config'
    return subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "bash", "-c", script, "check", path, BIN],
                          capture_output=True, text=True, timeout=30)


def main():
    text = open(CONF).read()
    if len(sys.argv) == 3 and sys.argv[1] == "--emit":
        for n, (name, body) in enumerate(variants(text)):
            with open(os.path.join(sys.argv[2], "%02d-%s.conf" % (n, name.replace(" ", "-"))), "w") as f:
                f.write(body)
        return 0
    failed = 0
    examples = 0
    header = text.split("\n\n", 1)[0]
    for unit in ("docker-run@.service", "docker-run-sweep.service"):
        if unit not in header:
            failed += 1
            print("FAIL the header does not name %s, which reads this file" % unit)
    for name, body in variants(text):
        path = "/tmp/docker-run-conf-example-%d.conf" % os.getpid()
        with open(path, "w") as f:
            f.write(body)
        try:
            p = shell_check(path)
        finally:
            os.unlink(path)
        examples += name != "as shipped"
        if p.returncode != 0:
            failed += 1
            print("FAIL %s: exit %d: %s%s" % (name, p.returncode, p.stdout, p.stderr))
        else:
            print("ok   %s" % name)
    if examples < 5:
        failed += 1
        print("FAIL only %d examples found in %s" % (examples, CONF))
    print("%d examples, %d failed" % (examples, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
