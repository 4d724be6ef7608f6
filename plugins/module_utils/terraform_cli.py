# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running terraform (or tofu) in a root, and reading what it said. No Ansible imports."""

import hashlib
import os
import re
import shutil
import subprocess

# Terraform's diagnostics: "Error: <summary>" then, for a file, "  on <file> line <n>".
_ERROR = re.compile(r"^(?:\u2502\s*)?Error: (.+)$")
_ON_FILE = re.compile(r"^(?:\u2502\s*)?\s*on (\S+) line (\d+)")
DEFAULT_TIMEOUT = 900


class TerraformFailed(Exception):
    """A terraform command failed; the message holds its first error and the file it names."""

    def __init__(self, message, rc=None, stderr=""):
        super().__init__(message)
        self.rc = rc
        self.stderr = stderr


def first_error(output):
    """``"<summary> (<file>:<line>)"`` of terraform's first error, or its last non-empty line."""
    lines = (output or "").splitlines()
    for index, line in enumerate(lines):
        match = _ERROR.match(line.strip())
        if not match:
            continue
        summary = match.group(1).strip()
        for following in lines[index + 1:index + 6]:
            place = _ON_FILE.match(following.strip())
            if place:
                return "%s (%s:%s)" % (summary, place.group(1).rstrip(":,"), place.group(2))
        return summary
    rest = [line.strip() for line in lines if line.strip()]
    return rest[-1] if rest else "no output"


def terraform_env(base=None, extra=None):
    """The environment of a terraform run: the controller's, with the root's AWS settings and no prompts."""
    env = dict(os.environ if base is None else base)
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    for name, value in (extra or {}).items():
        if value in (None, ""):
            continue
        env[name] = str(value)
    # AWX's AWS credential injects AWS_SECURITY_TOKEN on older versions; terraform reads AWS_SESSION_TOKEN.
    if env.get("AWS_SECURITY_TOKEN") and not env.get("AWS_SESSION_TOKEN"):
        env["AWS_SESSION_TOKEN"] = env["AWS_SECURITY_TOKEN"]
    return env


# The AWS options of this collection's modules (the group/tfstate.s3_backend.aws defaults) as terraform reads them.
AWS_ENV = (("profile", "AWS_PROFILE"), ("region", "AWS_REGION"), ("endpoint_url", "AWS_ENDPOINT_URL"),
           ("aws_ca_bundle", "AWS_CA_BUNDLE"))


def aws_env(options):
    """The environment variables that give terraform the task's AWS ``options`` (unset ones left out)."""
    return dict((variable, options[name]) for name, variable in AWS_ENV if options.get(name) not in (None, ""))


def terragrunt_env(env, terraform_bin):
    """``env`` for a terragrunt run: terragrunt starts ``terraform_bin`` (the binary the preflight checked) and
    never prompts. Both spellings of each variable: ``TG_*`` (terragrunt 0.73 and later) and ``TERRAGRUNT_*``."""
    env = dict(env)
    if terraform_bin:
        env["TG_TF_PATH"] = env["TERRAGRUNT_TFPATH"] = terraform_bin
    env["TG_NON_INTERACTIVE"] = env["TERRAGRUNT_NON_INTERACTIVE"] = "true"
    return env


def runner(migration):
    """``(binary, env changes)`` that run init and plan in a migrated root: terraform, or terragrunt for a
    Terragrunt root (``migration["terragrunt_bin"]``), which then starts the checked terraform."""
    terragrunt = migration.get("terragrunt_bin")
    terraform = migration["terraform"]["binary"]
    if terragrunt:
        return terragrunt, terragrunt_env({}, terraform)
    return terraform, {}


def run(argv, cwd, env, timeout=DEFAULT_TIMEOUT):
    """``(rc, stdout, stderr)`` of one command; a timeout or a missing binary is rc 124 or 127."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, "", "%s did not finish within %ss" % (" ".join(argv[:2]), timeout)
    except OSError as exc:
        return 127, "", "%s: %s" % (argv[0], exc)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def init_argv(binary, init_args, endpoint_url=None):
    """``terraform init -reconfigure`` with the root's arguments (path-style S3 for a custom endpoint)."""
    argv = [binary, "init", "-no-color", "-input=false", "-reconfigure"] + list(init_args or [])
    if endpoint_url and "-backend-config=use_path_style=true" not in argv:
        # S3-compatible endpoints (and moto) answer path-style requests only.
        argv.append("-backend-config=use_path_style=true")
    return argv


def plan_argv(binary, lock_timeout, detailed=False):
    argv = [binary, "plan", "-no-color", "-input=false", "-lock-timeout=%s" % lock_timeout]
    if detailed:
        argv.append("-detailed-exitcode")
    return argv


_LOCK_INFO_FIELD = re.compile(r"^(?:\u2502\s*)?\s*(ID|Operation|Who|Created):\s*(\S.*)$")


def lock_named(output):
    """``"lock ID <id> (<operation>, <who>, created <time>)"`` of the lock terraform says refused it, or ''."""
    text = output or ""
    if "Lock Info:" not in text:
        return ""
    fields = {}
    for line in text.split("Lock Info:", 1)[1].splitlines():
        match = _LOCK_INFO_FIELD.match(line.strip())
        if match and match.group(1) not in fields:
            fields[match.group(1)] = match.group(2).strip()
    if "ID" not in fields:
        return ""
    return "lock ID %s (%s, %s, created %s)" % (
        fields["ID"], fields.get("Operation", "?"), fields.get("Who", "?"), fields.get("Created", "?"))


def refused_by_lockfile(rc, stderr, lock_id):
    """Whether a plan was refused by the ``.tflock`` object holding ``lock_id`` (and not by anything else)."""
    return (rc != 0 and "Error acquiring the state lock" in stderr and lock_id in stderr
            and "PutObject" in stderr)


def refused_by_lock_item(rc, stderr, lock_id):
    """Whether a plan was refused by the DynamoDB lock item holding ``lock_id`` (not by a ``.tflock`` object)."""
    return (rc != 0 and "Error acquiring the state lock" in stderr and lock_id in stderr
            and "PutObject" not in stderr)


# Where a binary's version answer is remembered (one small file per binary file and question).
VERSION_CACHE = os.path.join("~", ".cache", "tfstate-s3-backend", "versions")


def version_cache_key(path, stat, argv_tail):
    """The name a binary file's answer is kept under: its real path, size and modification time, and the question."""
    text = "\0".join([os.path.realpath(path), str(stat.st_size), str(stat.st_mtime_ns)] + list(argv_tail))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def binary_version(binary, env, argv_tail=("version",), cache_dir=VERSION_CACHE, runner=None):
    """``(rc, stdout, stderr)`` of ``<binary> <argv_tail>``, remembered per binary file: every root's preflight runs
    in a fresh worker, and what one unchanged binary file answers does not change (a replaced binary is asked
    again). Only a successful answer is kept; a remembered one comes back as stdout."""
    runner = runner or run
    path = shutil.which(binary, path=(env or {}).get("PATH", os.environ.get("PATH")))
    cache = None
    if path:
        try:
            key = version_cache_key(path, os.stat(path), argv_tail)
            cache = os.path.join(os.path.expanduser(cache_dir), key)
            with open(cache) as handle:
                return 0, handle.read(), ""
        except OSError:
            pass
    rc, out, err = runner([binary] + list(argv_tail), None, env, 60)
    if rc == 0 and cache:
        _keep(cache, out or err)  # some binaries (older terragrunt) answer on stderr
    return rc, out, err


def _keep(path, text):
    """Write ``text`` to ``path`` through a temp file and a rename (concurrent workers write the same answer)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = "%s.%d.tmp" % (path, os.getpid())
        with open(temp, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError:
        pass  # a cache that cannot be written only costs the next preflight one more run
