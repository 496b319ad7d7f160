#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The documentation says what the code does: every variable (with its default, unit and range), every
error code (with its status) and every journal field, as the handler itself lists them
(--list-variables, --list-errors, --list-fields), is in the README, in docker-run(8) and, for the
variables, in the shipped configuration."""

import os
import re
import subprocess
import sys

TESTS_DIR = os.environ.get("TESTS_DIR", os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.join(TESTS_DIR, "..")
BIN = os.environ.get("DOCKER_RUN_BIN", os.path.join(TOP, "src", "docker-run"))


def listed(flag):
    out = subprocess.run([BIN, flag], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def section(text, title):
    """The text of a README section: from its title to the next one."""
    m = re.search(r"^%s\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)" % re.escape(title), text, re.S | re.M)
    return m.group(1) if m else ""


def main():
    readme = open(os.path.join(TOP, "README")).read()
    man = open(os.path.join(TOP, "man", "docker-run.8")).read()
    conf = open(os.path.join(TOP, "packaging", "docker-run.conf")).read()
    configuration = section(readme, "Configuration")
    problems = []

    variables = listed("--list-variables")
    for name, summary in variables:
        if not re.search(r"^    %s\n        %s\n" % (re.escape(name), re.escape(summary)), configuration, re.M):
            problems.append("README, Configuration: no entry \"    %s\" followed by \"        %s\"" % (name, summary))
        if ".TP\n.B %s\n%s\n" % (name, summary) not in man:
            problems.append("docker-run(8): no entry \".TP / .B %s / %s\"" % (name, summary))
        m = re.search(r"^#?%s=(.*)$" % re.escape(name), conf, re.M)
        if not m:
            problems.append("packaging/docker-run.conf: %s is not there (set, or as a commented example)" % name)
        else:
            default = re.match(r"default (\S+);", summary)
            example = re.search(r"^#%s=(.*)$" % re.escape(name), conf, re.M)
            if example and default and re.fullmatch(r"[0-9]+|true|false", default.group(1)) \
                    and example.group(1) != default.group(1):
                problems.append("packaging/docker-run.conf: #%s=%s, but its default is %s"
                                % (name, example.group(1), default.group(1)))

    errors = listed("--list-errors")
    for code, status in errors:
        if not re.search(r"^\s+%s\s+%s\s" % (re.escape(code), status), readme, re.M):
            problems.append("README: the error table has no line \"%s %s ...\"" % (code, status))
        if not re.search(r"^\.B %s\n%s\b" % (re.escape(code), status), man, re.M):
            problems.append("docker-run(8): no entry \".B %s\" with its status %s" % (code, status))

    fields = [f[0] for f in listed("--list-fields")]
    logging = section(readme, "Logging")
    for field in fields:
        if not re.search(r"\b%s\b" % re.escape(field), logging):
            problems.append("README, Logging: the journal field %s is not listed" % field)
        if not re.search(r"\b%s\b" % re.escape(field), man):
            problems.append("docker-run(8): the journal field %s is not listed" % field)

    for p in problems:
        print("FAIL " + p)
    print("%d variables, %d error codes, %d journal fields checked: %d problems"
          % (len(variables), len(errors), len(fields), len(problems)))
    if len(variables) < 30 or len(errors) < 30 or len(fields) < 10:
        print("FAIL the lists are too short to be the handler's own")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
