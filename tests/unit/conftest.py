"""Unit tests start no process: no terraform, git, ansible-playbook or moto server (those are tests/system's).

Every test here runs with process creation refused, so a test that would start one fails, naming what it
tried, instead of quietly making ``pytest tests/unit`` slow and dependent on the machine.
"""

import os
import subprocess

import pytest

# Fixtures of tests/conftest.py that start a process (the moto servers) or exist to run one (terraform).
PROCESS_FIXTURES = ("moto_server", "moto_aws_faithful", "enforcing_server", "terraform_bin", "terragrunt_standin")


class ProcessStarted(AssertionError):
    """A unit test tried to start a process."""


def _refuse(what):
    def refuse(*args, **_kwargs):
        shown = args[1] if what == "subprocess" and len(args) > 1 else (args[0] if args else "")
        raise ProcessStarted("a unit test starts no process (%s %r): move the test to tests/system" % (what, shown))
    return refuse


@pytest.fixture(autouse=True)
def no_process(request, monkeypatch):
    """Refuse every way of starting a process for the test's duration, and the fixtures that start one."""
    used = sorted(set(PROCESS_FIXTURES) & set(request.fixturenames))
    if used:
        raise ProcessStarted("a unit test starts no process: %s uses %s; move it to tests/system"
                             % (request.node.nodeid, ", ".join(used)))
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse("subprocess"))
    for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp",
                 "execvpe", "spawnv", "spawnve", "spawnvp", "spawnvpe"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse("os.%s" % name))
