"""pytest fixtures shared by every test: the collection on sys.path, a moto server, terraform.

Helpers that test files import live in tests/testbed/ (collection.py: ROOT, run_module,
run_playbook, ansible_env; aws.py: REGION, client), not here.
"""

import os
import sys
import uuid

import pytest

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)  # the checkout, for tests.*

from tests.testbed.collection import CORPUS_DIR, link_collection, required_by_ci  # noqa: E402

link_collection()

from tests.testbed.aws import REGION, UNCHECKED_SETUP_REQUESTS, client  # noqa: E402
from tests.testbed.moto_server import MotoServer  # noqa: E402
from tests.testbed.terraform import TerraformRoot, terraform_binary  # noqa: E402


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


@pytest.fixture(scope="module")
def enforcing_server(tmp_path_factory):
    """A moto server of the test module's own that checks IAM after the administrator's set-up requests
    (tests.testbed.aws: UNCHECKED_SETUP_REQUESTS, keyed_client, user_with_policy)."""
    server = MotoServer.start(auth_after=UNCHECKED_SETUP_REQUESTS,
                              log_path=str(tmp_path_factory.mktemp("moto-iam") / "moto.log"))
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


@pytest.fixture()
def s3(moto_server):
    return client(moto_server, "s3")


@pytest.fixture()
def dynamodb(moto_server):
    return client(moto_server, "dynamodb")


@pytest.fixture()
def iam(moto_server):
    return client(moto_server, "iam")


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
    script = os.path.join(_CHECKOUT, "tests", "testbed", "terragrunt.py")
    path.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, script))
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="session")
def corpus_dir():
    """The shared backend corpus (../shared/corpus); skipped where missing, but a failure under CI."""
    if not os.path.isfile(os.path.join(CORPUS_DIR, "manifest.json")):
        message = "the shared corpus is missing: %s" % CORPUS_DIR
        if required_by_ci():
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    return CORPUS_DIR


@pytest.fixture()
def tf_root(tmp_path, moto_server, terraform_bin):
    """Factory: ``tf_root(name)`` gives a TerraformRoot (with main.tf) under tmp_path."""

    def make(name="root", **kwargs):
        root = TerraformRoot(tmp_path / name, moto_server.url, binary=terraform_bin, **kwargs)
        root.write_main()
        return root

    return make
