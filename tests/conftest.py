"""pytest fixtures shared by every test: the collection on sys.path, a moto server, terraform."""

import contextlib
import io
import json
import os
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".ansible", "collections")
CORPUS_DIR = os.path.abspath(os.path.join(ROOT, "..", "shared", "corpus"))


def _link_collection():
    """Serve the checkout as ansible_collections.tfstate.s3_backend (scripts/lib.sh does the same)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "tfstate", "s3_backend")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)


_link_collection()

from tests.testbed.moto_server import MotoServer  # noqa: E402
from tests.testbed.terraform import TerraformRoot, terraform_binary  # noqa: E402

REGION = "us-east-1"


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


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = MotoServer.start(log_path=str(log))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_aws_faithful(tmp_path_factory):
    """A second moto server with moto's stricter-than-AWS checks lifted (see moto_aws_faithful.py)."""
    from tests.testbed.moto_aws_faithful import start_faithful_server

    log = tmp_path_factory.mktemp("moto-faithful") / "moto.log"
    server = start_faithful_server(log_path=str(log))
    yield server
    server.stop()


@pytest.fixture()
def aws_params(moto_server):
    """amazon.aws-style connection options pointing at the moto server."""
    return {
        "endpoint_url": moto_server.url,
        "access_key": "testing",
        "secret_key": "testing",
        "region": REGION,
    }


@pytest.fixture()
def aws_env(moto_server, monkeypatch):
    """Process environment for boto3 and subprocesses talking to moto."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_URL", "EC2_URL"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "AWS_ENDPOINT_URL": moto_server.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _client(server, service):
    import boto3
    from botocore.config import Config
    return boto3.client(
        service, endpoint_url=server.url, region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture()
def s3(moto_server):
    return _client(moto_server, "s3")


@pytest.fixture()
def dynamodb(moto_server):
    return _client(moto_server, "dynamodb")


@pytest.fixture()
def iam(moto_server):
    return _client(moto_server, "iam")


@pytest.fixture()
def bucket_name():
    """A bucket name no other test uses on the shared moto server."""
    return "tfstate-test-%s" % uuid.uuid4().hex[:12]


@pytest.fixture()
def state_bucket(s3, bucket_name):
    """A versioned state bucket, as every backend this collection migrates has."""
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    return bucket_name


@pytest.fixture()
def lock_table(dynamodb, bucket_name):
    """A DynamoDB lock table the way Terraform's documentation creates it (LockID hash key, on demand)."""
    name = bucket_name + "-locks"
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    return name


@pytest.fixture(scope="session")
def terraform_bin():
    """The terraform binary; skipped where missing, but a failure when CI requires it."""
    path = terraform_binary()
    if not path:
        if os.environ.get("TFSTATE_REQUIRE_TERRAFORM"):
            pytest.fail("terraform is not on the PATH and TFSTATE_REQUIRE_TERRAFORM is set")
        pytest.skip("terraform is not on the PATH")
    return path


@pytest.fixture(scope="session")
def terragrunt_standin(tmp_path_factory, terraform_bin):
    """An executable ``terragrunt`` that runs tests/testbed/terragrunt.py (the real one is not installable here)."""
    path = tmp_path_factory.mktemp("terragrunt-bin") / "terragrunt"
    script = os.path.join(ROOT, "tests", "testbed", "terragrunt.py")
    path.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, script))
    path.chmod(0o755)
    return str(path)


@pytest.fixture()
def tf_root(tmp_path, moto_server, terraform_bin):
    """Factory: ``tf_root(name)`` gives a TerraformRoot (with main.tf) under tmp_path."""

    def make(name="root", **kwargs):
        root = TerraformRoot(tmp_path / name, moto_server.url, binary=terraform_bin, **kwargs)
        root.write_main()
        return root

    return make


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
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook]
    cmd += ["-i", inventory or os.path.join(ROOT, "tests", "inventory", "localhost.yml")]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(args)
    return subprocess.run(cmd, cwd=ROOT, env=ansible_env(env), capture_output=True, text=True, timeout=900,
                          check=False)
