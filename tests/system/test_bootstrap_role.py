"""The bootstrap playbook end to end, on an AWS-faithful moto server (TLS, real bucket-policy conditions)."""

import json
import os
import subprocess

import boto3
import pytest
from botocore.config import Config

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.iam_policy import backend_policy
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.moto_aws_faithful import start_faithful_server
from tests.testbed.terraform import MAIN_TF, terraform_env

PLAYBOOK = os.path.join(ROOT, "playbooks", "bootstrap.yml")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    state = tmp_path_factory.mktemp("moto-tls")
    server = start_faithful_server(log_path=str(state / "moto.log"), tls_dir=str(state))
    yield server
    server.stop()


@pytest.fixture()
def tls_s3(tls_server):
    return boto3.client("s3", endpoint_url=tls_server.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", verify=tls_server.ca_bundle,
                        config=Config(s3={"addressing_style": "path"}))


def _env(server):
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    if server.ca_bundle:
        env["AWS_CA_BUNDLE"] = server.ca_bundle
    return env


def _roots(tmp_path, *names):
    paths = []
    for name in names:
        path = tmp_path / name
        path.mkdir()
        (path / "main.tf").write_text(MAIN_TF)
        paths.append(str(path))
    return paths


def _vars(server, bucket, roots, tmp_path, **extra):
    values = {
        "tfstate_aws_endpoint_url": server.url,
        "bootstrap_bucket_name": bucket,
        "bootstrap_roots": roots,
        "bootstrap_policy_file": str(tmp_path / "policy.json"),
    }
    values.update(extra)
    return values


def _buckets(s3):
    return [b["Name"] for b in s3.list_buckets().get("Buckets", [])]


@pytest.mark.smoke
def test_bootstrap_check_mode_converge_idempotent_and_terraform(tls_server, tls_s3, bucket_name, tmp_path,
                                                                terraform_bin):
    app, net = _roots(tmp_path, "app", "net")
    roots = [{"path": app}, {"path": net, "format": "tfbackend"}]
    extra = _vars(tls_server, bucket_name, roots, tmp_path, bootstrap_verify=True,
                  bootstrap_terraform_bin=terraform_bin)

    checked = run_playbook(PLAYBOOK, extra, check=True, env=_env(tls_server))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert bucket_name not in _buckets(tls_s3)
    assert sorted(os.listdir(app)) == ["main.tf"]
    assert not (tmp_path / "policy.json").exists()

    first = run_playbook(PLAYBOOK, extra, env=_env(tls_server))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "IAM policy: %s" % (tmp_path / "policy.json") in first.stdout

    assert tls_s3.get_bucket_versioning(Bucket=bucket_name)["Status"] == "Enabled"
    pab = tls_s3.get_public_access_block(Bucket=bucket_name)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    policy = json.loads(tls_s3.get_bucket_policy(Bucket=bucket_name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["DenyInsecureTransport"]

    backend_tf = open(os.path.join(app, "backend.tf")).read()
    assert 'bucket       = "%s"' % bucket_name in backend_tf and "use_lockfile = true" in backend_tf
    assert "dynamodb" not in backend_tf
    partial = open(os.path.join(net, "s3.tfbackend")).read()
    assert 'key          = "net/terraform.tfstate"' in partial
    fmt = subprocess.run([terraform_bin, "fmt", "-check", "-diff", app, net], capture_output=True, text=True, check=False)
    assert fmt.returncode == 0, fmt.stdout

    written = json.loads((tmp_path / "policy.json").read_text())
    assert written == backend_policy(bucket_name, ["app/terraform.tfstate", "net/terraform.tfstate"], workspaces=True)

    # The verification ran terraform init against the new backend in each root.
    for root in (app, net):
        backend_state = json.loads(open(os.path.join(root, ".terraform", "terraform.tfstate")).read())
        assert backend_state["backend"]["config"]["bucket"] == bucket_name
        assert backend_state["backend"]["config"]["use_lockfile"] is True

    second = run_playbook(PLAYBOOK, extra, env=_env(tls_server))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout, second.stdout


def test_tls_statement_is_enforced_for_plain_http(tmp_path, bucket_name, terraform_bin):
    """Over plain HTTP the TLS-only policy refuses terraform: the statement is effective, not decoration."""
    server = start_faithful_server(log_path=str(tmp_path / "moto.log"))
    try:
        (app,) = _roots(tmp_path, "app")
        extra = _vars(server, bucket_name, [{"path": app}], tmp_path)
        result = run_playbook(PLAYBOOK, extra, env=_env(server))
        assert result.returncode == 0, result.stdout + result.stderr
        init = subprocess.run([terraform_bin, "init", "-no-color", "-backend-config=use_path_style=true"], cwd=app,
                              env=terraform_env(server.url, workdir=app), capture_output=True, text=True, check=False)
        assert init.returncode != 0
        assert "403" in init.stderr
    finally:
        server.stop()


def test_missing_root_changes_nothing(tls_server, tls_s3, bucket_name, tmp_path):
    (app,) = _roots(tmp_path, "app")
    missing = str(tmp_path / "no-such-root")
    result = run_playbook(PLAYBOOK, _vars(tls_server, bucket_name, [{"path": app}, {"path": missing}], tmp_path),
                          env=_env(tls_server))
    assert result.returncode != 0
    assert "Terraform root %s does not exist" % missing in result.stdout
    assert bucket_name not in _buckets(tls_s3)
    assert sorted(os.listdir(app)) == ["main.tf"]


def test_different_existing_backend_is_not_replaced_silently(tls_server, tls_s3, bucket_name, tmp_path):
    (app,) = _roots(tmp_path, "app")
    theirs = 'terraform {\n  backend "s3" {\n    bucket = "old"\n    key = "x"\n    dynamodb_table = "locks"\n  }\n}\n'
    (tmp_path / "app" / "backend.tf").write_text(theirs)
    result = run_playbook(PLAYBOOK, _vars(tls_server, bucket_name, [{"path": app}], tmp_path), env=_env(tls_server))
    assert result.returncode != 0
    assert "backend.tf already holds a different backend configuration" in result.stdout
    assert (tmp_path / "app" / "backend.tf").read_text() == theirs
    assert bucket_name not in _buckets(tls_s3)

    replaced = run_playbook(PLAYBOOK, _vars(tls_server, bucket_name, [{"path": app}], tmp_path,
                                            bootstrap_overwrite_backend=True), env=_env(tls_server))
    assert replaced.returncode == 0, replaced.stdout
    assert "use_lockfile = true" in (tmp_path / "app" / "backend.tf").read_text()
    backups = [name for name in os.listdir(app) if name.startswith("backend.tf.") and name != "backend.tf"]
    assert len(backups) == 1 and (tmp_path / "app" / backups[0]).read_text() == theirs


def test_backend_declared_in_another_file_is_refused(tls_server, tls_s3, bucket_name, tmp_path):
    (app,) = _roots(tmp_path, "app")
    (tmp_path / "app" / "versions.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    result = run_playbook(PLAYBOOK, _vars(tls_server, bucket_name, [{"path": app}], tmp_path), env=_env(tls_server))
    assert result.returncode != 0
    assert "versions.tf" in result.stdout and "already declares a backend" in result.stdout
    assert not (tmp_path / "app" / "backend.tf").exists()
    assert bucket_name not in _buckets(tls_s3)
