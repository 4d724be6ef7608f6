"""A rollback acts as the backend's ``assume_role`` principal in another account, as terraform does.

Under moto's IAM enforcement: the inventory's principal, ``ops`` in account A, may do nothing but
sts:AssumeRole the role its backends name in account B, where the bucket and the lock table live.
The rollback (the migrate phases with target dynamodb) must take that role for every call; what
changed is read back as account B's administrator and with terraform (through the role again).
"""

import hashlib
import json
import os

import pytest

from tests.system.test_backend_identity import _assume_role, _inventory, _ops_env, _root
from tests.testbed.aws import ALLOW_ALL, UNCHECKED_SETUP_REQUESTS, keyed_client, user_with_policy
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.moto_server import MotoServer

pytestmark = pytest.mark.terraform

ACCOUNT_A = "123456789012"
ACCOUNT_B = "210987654321"
BUCKET = "tfstate-account-b"
TABLE = "account-b-locks"
ROLE_ARN = "arn:aws:iam::%s:role/tfstate-backend" % ACCOUNT_B


def _in_account(client, account):
    """A client whose requests moto files under ``account`` (its unchecked set-up requests only)."""
    client.meta.events.register("before-sign.*.*",
                                lambda request, **kwargs: request.headers.__setitem__("x-moto-account-id", account))
    return client


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    # Two administrators (one per account) are made before the enforcement starts.
    server = MotoServer.start(auth_after=2 * UNCHECKED_SETUP_REQUESTS,
                              log_path=str(tmp_path_factory.mktemp("moto-accounts") / "moto.log"))
    try:
        admin_a = user_with_policy(keyed_client(server, "iam", ("testing", "testing")), "admin", ALLOW_ALL)
        admin_b = user_with_policy(_in_account(keyed_client(server, "iam", ("testing", "testing")), ACCOUNT_B),
                                   "admin-b", ALLOW_ALL)
        iam_b = keyed_client(server, "iam", admin_b)
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::%s:user/ops" % ACCOUNT_A}}]}
        iam_b.create_role(RoleName="tfstate-backend", AssumeRolePolicyDocument=json.dumps(trust))
        iam_b.put_role_policy(RoleName="tfstate-backend", PolicyName="state", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"],
                                                     "Resource": "*"}]}))
        keyed_client(server, "s3", admin_b).create_bucket(Bucket=BUCKET)
        keyed_client(server, "s3", admin_b).put_bucket_versioning(Bucket=BUCKET,
                                                                  VersioningConfiguration={"Status": "Enabled"})
        keyed_client(server, "dynamodb", admin_b).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        ops = user_with_policy(keyed_client(server, "iam", admin_a), "ops", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]})
        yield {"server": server, "ops": ops, "admin_b": admin_b}
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_identity(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_rollback_acts_as_the_backend_role_in_another_account(accounts, tmp_path, terraform_bin):
    with pytest.raises(Exception) as denied:  # ops alone can do nothing with the state
        keyed_client(accounts["server"], "s3", accounts["ops"]).list_objects_v2(Bucket=BUCKET)
    assert "AccessDenied" in str(denied.value)
    key = "app/terraform.tfstate"
    root = _root(accounts, tmp_path, terraform_bin, "app", _assume_role(ROLE_ARN))
    # In account B's bucket and table (_root's backend names another account's).
    root.write_backend(bucket=BUCKET, key=key, dynamodb_table=TABLE, extra=_assume_role(ROLE_ARN))
    root.init()
    root.apply(serial="1")
    root.write_backend(bucket=BUCKET, key=key, use_lockfile=True, extra=_assume_role(ROLE_ARN))
    root.init(reconfigure=True)
    root.apply(serial="2")  # the DynamoDB digest is stale now
    inventory = _inventory(tmp_path, accounts, terraform_bin, root, rollback_table=TABLE,
                           rollback_report_dir=str(tmp_path / "reports"))
    done = run_playbook(os.path.join(ROOT, "playbooks", "rollback.yml"), inventory=inventory, env=_ops_env(accounts))
    assert done.returncode == 0, done.stdout[-4000:]
    [row] = json.load(open(tmp_path / "reports" / "rollback-report.json"))["results"]
    assert row["status"] == "rolled_back" and row["identity"] == "backend" and row["account"] == ACCOUNT_B, row
    assert row["principal"].startswith("arn:aws:sts::%s:assumed-role/tfstate-backend/tfstate-s3-backend-" % ACCOUNT_B)
    # Read back as account B's administrator, then planned by terraform through the role.
    s3 = keyed_client(accounts["server"], "s3", accounts["admin_b"])
    dynamodb = keyed_client(accounts["server"], "dynamodb", accounts["admin_b"])
    state = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    item = dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": "%s/%s-md5" % (BUCKET, key)}})["Item"]
    assert item["Digest"]["S"] == hashlib.md5(state).hexdigest()
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=key + ".tflock")
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=key + ".tfstate-s3-backend.json")["Body"].read())
    assert record["mode"] == "dynamodb" and record["dynamodb_table"] == TABLE
    root.plan()
