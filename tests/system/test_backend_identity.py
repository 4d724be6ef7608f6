"""The migrate role acts as the principal terraform does, proven with two principals under moto's IAM enforcement.

The inventory's principal (``ops``) may do nothing but sts:AssumeRole the role the backend names; only that
role may use the bucket and the lock table. A root whose backend says ``assume_role { role_arn = ... }`` is
migrated (terraform assumes the role too, against the moto server's STS), and what changed is read back as the
administrator through the S3 API and with terraform. With the role's name wrong, or with the backend's identity
switched off, the root stops before anything changes. A backend ``profile`` (shared files in the test's tmp dir,
given through AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE) is used the same way.

moto's pitfalls here: a trust policy must name the user's ARN (moto does not read ``:root`` as "the account"), and
the user policy's Resource must be the role ARN for a wrong role name to be refused (moto's AssumeRole itself
does not need the role to exist).
"""

import json
import os

import pytest

from tests.testbed.aws import UNCHECKED_SETUP_REQUESTS, keyed_client, user_with_policy
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory
from tests.testbed.moto_server import MotoServer
from tests.testbed.terraform import TerraformRoot, kill_process_group, wait_for

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ACCOUNT = "123456789012"
BUCKET = "tfstate-identity"
TABLE = "identity-locks"
ROLE = "tfstate-backend"
ROLE_ARN = "arn:aws:iam::%s:role/%s" % (ACCOUNT, ROLE)


def _user(iam, name, statements):
    return user_with_policy(iam, name, {"Version": "2012-10-17", "Statement": statements})


STATE_RIGHTS = [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"], "Resource": "*"}]


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """An enforcing moto server: admin, the role that may use the state, ops who may only assume it, a profile user."""
    server = MotoServer.start(auth_after=UNCHECKED_SETUP_REQUESTS,
                              log_path=str(tmp_path_factory.mktemp("moto-identity") / "moto.log"))
    try:
        admin = _user(keyed_client(server, "iam", ("testing", "testing")), "admin",
                      [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
        iam = keyed_client(server, "iam", admin)
        keyed_client(server, "s3", admin).create_bucket(Bucket=BUCKET)
        keyed_client(server, "s3", admin).put_bucket_versioning(Bucket=BUCKET,
                                                                VersioningConfiguration={"Status": "Enabled"})
        keyed_client(server, "dynamodb", admin).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        ops = _user(iam, "ops", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}])
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::%s:user/ops" % ACCOUNT}}]}
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=ROLE, PolicyName="state", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": STATE_RIGHTS}))
        profiled = _user(iam, "profiled", STATE_RIGHTS)
        yield {"server": server, "admin": admin, "ops": ops, "profiled": profiled}
    finally:
        server.stop()


def _root(estate, tmp_path, terraform_bin, name, extra, env=None):
    """A root locked with DynamoDB whose backend names its own identity, applied once by terraform as ops."""
    root = TerraformRoot(tmp_path / name, estate["server"].url, binary=terraform_bin,
                         access_key=estate["ops"][0], secret_key=estate["ops"][1])
    root.env.update(env or {})
    root.write_main()
    root.write_backend(bucket=BUCKET, key="%s/terraform.tfstate" % name, dynamodb_table=TABLE, extra=extra)
    return root


def _inventory(tmp_path, estate, terraform_bin, root, **extra):
    return fleet_inventory(tmp_path, estate["server"].url, terraform_bin, {"app": {"tfstate_root": root.path}},
                           **dict({"migrate_backup_dir": ""}, **extra))


def _ops_env(estate, **extra):
    """ansible-playbook's environment: the inventory's principal is ops (and terraform inherits it)."""
    return dict({"AWS_ACCESS_KEY_ID": estate["ops"][0], "AWS_SECRET_ACCESS_KEY": estate["ops"][1],
                 "AWS_REGION": "us-east-1"}, **extra)


@pytest.fixture(autouse=True)
def _no_ambient_identity(monkeypatch):
    """Nothing from the caller's environment may pick the principal."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _row(tmp_path):
    [row] = json.load(open(tmp_path / "reports" / "migrate-report.json"))["results"]
    return row


def _assume_role(role_arn):
    return {"assume_role": '{\n      role_arn = "%s"\n    }' % role_arn}


def test_ops_alone_cannot_touch_the_state(estate):
    """The enforcement is on and ops's own rights are nil (else the migration below proves nothing)."""
    with pytest.raises(Exception) as denied:
        keyed_client(estate["server"], "s3", estate["ops"]).list_objects_v2(Bucket=BUCKET)
    assert "AccessDenied" in str(denied.value)


def test_migrate_assumes_the_backend_role_as_terraform_does(estate, tmp_path, terraform_bin):
    admin_s3 = keyed_client(estate["server"], "s3", estate["admin"])
    root = _root(estate, tmp_path, terraform_bin, "app", _assume_role(ROLE_ARN))
    root.init()
    root.apply(serial="1")
    before = open(os.path.join(root.path, "backend.tf")).read()

    # With the backend's identity switched off, the inventory's principal is used: it cannot read the bucket.
    inventory = _inventory(tmp_path, estate, terraform_bin, root, tfstate_aws_use_backend_identity=False)
    refused = run_playbook(PLAYBOOK, inventory=inventory, env=_ops_env(estate))
    assert refused.returncode != 0
    assert os.path.exists(tmp_path / "reports" / "migrate-report.json"), refused.stdout[-4000:] + refused.stderr[-4000:]
    assert "AccessDenied" in _row(tmp_path)["reason"] and _row(tmp_path)["status"] == "stopped"
    assert open(os.path.join(root.path, "backend.tf")).read() == before

    inventory = _inventory(tmp_path, estate, terraform_bin, root)
    done = run_playbook(PLAYBOOK, inventory=inventory, env=_ops_env(estate))
    assert done.returncode == 0, done.stdout[-4000:]
    # The fleet view read the bucket's ledger as the root's role too (ops alone cannot).
    assert "could not be read" not in done.stdout + done.stderr
    fleet = dict((entry["host"], entry) for entry in
                 json.load(open(tmp_path / "reports" / "migrate-fleet.json"))["results"])
    assert fleet["app"]["stage"] == "dual" and fleet["app"]["last_run"]["status"] == "migrated"
    row = _row(tmp_path)
    assert row["status"] == "migrated" and row["identity"] == "backend"
    assert row["principal"].startswith("arn:aws:sts::%s:assumed-role/%s/tfstate-s3-backend-" % (ACCOUNT, ROLE))
    assert row["verification"]["locked_plan_refused"] is True

    # Read back as the administrator: the files lock with both stores, the record is next to the state.
    after = open(os.path.join(root.path, "backend.tf")).read()
    assert "use_lockfile" in after and "dynamodb_table" in after and ROLE_ARN in after
    record = json.loads(admin_s3.get_object(Bucket=BUCKET, Key="app/terraform.tfstate.tfstate-s3-backend.json")
                        ["Body"].read())
    assert record["mode"] == "dual"
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=BUCKET, Prefix="app/terraform.tfstate.tflock")
    # Terraform, as ops through the role, now locks with the .tflock object too.
    slow = root.start_apply(sleep_seconds=30, serial="2")
    try:
        lock = wait_for(lambda: admin_s3.list_objects_v2(
            Bucket=BUCKET, Prefix="app/terraform.tfstate.tflock").get("Contents"), timeout=60,
            what="the .tflock of terraform's apply through the role")
        assert lock[0]["Key"] == "app/terraform.tfstate.tflock"
    finally:
        kill_process_group(slow)


def test_a_wrong_role_stops_the_root_naming_the_role(estate, tmp_path, terraform_bin):
    wrong = "arn:aws:iam::%s:role/tfstate-backend-typo" % ACCOUNT
    root = _root(estate, tmp_path, terraform_bin, "wrong", _assume_role(wrong))
    before = open(os.path.join(root.path, "backend.tf")).read()
    inventory = _inventory(tmp_path, estate, terraform_bin, root)
    result = run_playbook(PLAYBOOK, inventory=inventory, env=_ops_env(estate))
    assert result.returncode != 0
    row = _row(tmp_path)
    assert row["status"] == "stopped" and row["phase"] == "preflight"
    assert "cannot act as the backend's role %s" % wrong in row["reason"]
    assert "AccessDenied" in row["reason"]
    assert open(os.path.join(root.path, "backend.tf")).read() == before
    admin_s3 = keyed_client(estate["server"], "s3", estate["admin"])
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=BUCKET, Prefix="wrong/")


def test_migrate_uses_the_backend_profile(estate, tmp_path, terraform_bin):
    config = tmp_path / "aws-config"
    config.write_text("[profile x]\nregion = us-east-1\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[x]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % estate["profiled"])
    files = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    root = _root(estate, tmp_path, terraform_bin, "profiled", {"profile": '"x"'}, env=files)
    root.init()
    root.apply(serial="1")

    inventory = _inventory(tmp_path, estate, terraform_bin, root)
    done = run_playbook(PLAYBOOK, inventory=inventory, env=_ops_env(estate, **files))
    assert done.returncode == 0, done.stdout[-4000:]
    row = _row(tmp_path)
    assert row["status"] == "migrated"
    assert row["principal"] == "arn:aws:iam::%s:user/profiled" % ACCOUNT
    admin_s3 = keyed_client(estate["server"], "s3", estate["admin"])
    record = json.loads(admin_s3.get_object(Bucket=BUCKET, Key="profiled/terraform.tfstate.tfstate-s3-backend.json")
                        ["Body"].read())
    assert record["mode"] == "dual"


def test_a_missing_backend_profile_stops_the_root_naming_file_and_profile(estate, tmp_path, terraform_bin):
    config = tmp_path / "aws-config"
    config.write_text("[profile other]\nregion = us-east-1\n")
    root = _root(estate, tmp_path, terraform_bin, "noprofile", {"profile": '"missing-profile"'})
    inventory = _inventory(tmp_path, estate, terraform_bin, root)
    result = run_playbook(PLAYBOOK, inventory=inventory, env=_ops_env(estate, AWS_CONFIG_FILE=str(config)))
    assert result.returncode != 0
    row = _row(tmp_path)
    assert row["status"] == "stopped" and row["phase"] == "preflight"
    assert "%s:2: the backend's profile missing-profile cannot be used" % os.path.join(root.path, "backend.tf") \
        in row["reason"] and "ProfileNotFound" in row["reason"]


def test_rollback_assumes_the_backend_role_as_terraform_does(estate, tmp_path, terraform_bin):
    """The rollback role runs the migrate phases, so it acts as the backend's role too: ops alone could do nothing."""
    import hashlib

    admin_s3 = keyed_client(estate["server"], "s3", estate["admin"])
    admin_dynamodb = keyed_client(estate["server"], "dynamodb", estate["admin"])
    key = "rb/terraform.tfstate"
    root = _root(estate, tmp_path, terraform_bin, "rb", _assume_role(ROLE_ARN))
    root.init()
    root.apply(serial="1")
    # Cut over to use_lockfile by hand and applied: the DynamoDB digest is stale (the rollback trap).
    root.write_backend(bucket=BUCKET, key=key, use_lockfile=True, extra=_assume_role(ROLE_ARN))
    root.init(reconfigure=True)
    root.apply(serial="2")
    inventory = _inventory(tmp_path, estate, terraform_bin, root, rollback_table=TABLE,
                           rollback_report_dir=str(tmp_path / "reports"))
    done = run_playbook(os.path.join(ROOT, "playbooks", "rollback.yml"), inventory=inventory, env=_ops_env(estate))
    assert done.returncode == 0, done.stdout[-4000:]
    [row] = json.load(open(tmp_path / "reports" / "rollback-report.json"))["results"]
    assert row["status"] == "rolled_back" and row["identity"] == "backend", row
    assert row["principal"].startswith("arn:aws:sts::%s:assumed-role/%s/tfstate-s3-backend-" % (ACCOUNT, ROLE))
    # Read back as the administrator: the digest is the state's MD5, no lock is left; terraform plans through the role.
    state = admin_s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    item = admin_dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": "%s/%s-md5" % (BUCKET, key)}})["Item"]
    assert item["Digest"]["S"] == hashlib.md5(state).hexdigest()
    assert "Contents" not in admin_s3.list_objects_v2(Bucket=BUCKET, Prefix=key + ".tflock")
    after = open(os.path.join(root.path, "backend.tf")).read()
    assert "use_lockfile" not in after and 'dynamodb_table = "%s"' % TABLE in after and ROLE_ARN in after
    root.plan()
