"""The checkout as the collection, and running its modules and playbooks from tests.

Helpers test files import (fixtures stay in tests/conftest.py): ROOT, CORPUS_DIR, ansible_env,
run_module, run_playbook, start_playbook.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".ansible", "collections")
# The shared backend corpus (read-only); TFSTATE_CORPUS_DIR points elsewhere.
CORPUS_DIR = os.path.abspath(os.environ.get("TFSTATE_CORPUS_DIR") or os.path.join(ROOT, "..", "shared", "corpus"))


def required_by_ci():
    """Whether this run is CI's (CI or TFSTATE_REQUIRE_TERRAFORM set): what a test needs must be there."""
    return bool(os.environ.get("CI") or os.environ.get("TFSTATE_REQUIRE_TERRAFORM"))


def link_collection():
    """Serve the checkout as ansible_collections.tfstate.s3_backend (scripts/lib.sh does the same)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "tfstate", "s3_backend")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)


def ansible_env(extra=None):
    """Environment for ansible-playbook/ansible-doc subprocesses run on the checkout."""
    env = dict(os.environ)
    env.update({
        "ANSIBLE_HOME": os.path.join(ROOT, ".ansible"),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_REMOTE_TMP": os.path.join(ROOT, ".ansible", "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    })
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


@contextlib.contextmanager
def _module_args(args):
    """ansible-core 2.19's ``patch_module_args``; on older cores (the smoke stage's), the same by hand."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes

        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved
        return
    with patch_module_args(args):
        yield


def run_module(module, args, check_mode=False, diff=False):
    """Run a module's main() in-process; return its result dict (``failed`` set on failure)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    out = io.StringIO()
    with _module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


def run_playbook(playbook, extra_vars=None, inventory=None, check=False, diff=False, env=None, args=()):
    """Run ansible-playbook on the checkout; returns the CompletedProcess."""
    return subprocess.run(playbook_command(playbook, extra_vars, inventory, check, diff, args), cwd=ROOT,
                          env=ansible_env(env), capture_output=True, text=True, timeout=900, check=False)


def playbook_command(playbook, extra_vars=None, inventory=None, check=False, diff=False, args=()):
    """The ansible-playbook command line run_playbook runs."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook]
    cmd += ["-i", inventory or os.path.join(ROOT, "tests", "inventory", "localhost.yml")]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(args)
    return cmd


def start_playbook(playbook, inventory, log_path, env=None, args=()):
    """Start ansible-playbook in a process group of its own (kill_process_group ends it); output to ``log_path``."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-i", inventory] + list(args)
    with open(str(log_path), "w") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(env), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def playbook_processes(pid):
    """The PIDs of every process under ``pid`` (Ansible's workers start their own sessions: setsid)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_playbook(proc):
    """SIGKILL the playbook's process group and every process under it, as a killed CI runner ends: a worker
    runs in a session of its own, and killing only the group would let it finish its task (a whole cut-over)."""
    tree = playbook_processes(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=30)
