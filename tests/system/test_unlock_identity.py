"""unlock.yml acts as each root's backend principal, proven with two principals under moto's IAM enforcement.

The inventory's principal (``ops``) may do nothing but sts:AssumeRole the role the backend names; only that role may
use the bucket and the lock table. A lock a killed job left (a ``.tflock`` object and its DynamoDB item, two hours
old) is released by ``unlock.yml`` run on the root (its backend's ``assume_role``), and read back as the
administrator; run on localhost with the same state named in ``unlock_states`` (the inventory's credentials alone),
the release is denied and the lock stays. ``locks.yml`` on the root finds the lock the same way.
"""

import datetime
import json
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils.lock_info import dump_lock, new_lock
from tests.testbed.aws import UNCHECKED_SETUP_REQUESTS, keyed_client, user_with_policy
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory
from tests.testbed.moto_server import MotoServer
from tests.testbed.terraform import backend_block

UNLOCK = os.path.join(ROOT, "playbooks", "unlock.yml")
LOCKS = os.path.join(ROOT, "playbooks", "locks.yml")
ACCOUNT = "123456789012"
BUCKET = "tfstate-unlock-identity"
TABLE = "unlock-identity-locks"
KEY = "app/terraform.tfstate"
ROLE_ARN = "arn:aws:iam::%s:role/tfstate-backend" % ACCOUNT


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """An enforcing moto server: admin, the role that may use the state, ops who may only assume it."""
    server = MotoServer.start(auth_after=UNCHECKED_SETUP_REQUESTS,
                              log_path=str(tmp_path_factory.mktemp("moto-unlock") / "moto.log"))
    try:
        admin = user_with_policy(keyed_client(server, "iam", ("testing", "testing")), "admin",
                                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                                          "Resource": "*"}]})
        iam = keyed_client(server, "iam", admin)
        keyed_client(server, "s3", admin).create_bucket(Bucket=BUCKET)
        keyed_client(server, "dynamodb", admin).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        ops = user_with_policy(iam, "ops", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]})
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::%s:user/ops" % ACCOUNT}}]}
        iam.create_role(RoleName="tfstate-backend", AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName="tfstate-backend", PolicyName="state", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"],
                                                    "Resource": "*"}]}))
        yield {"server": server, "admin": admin, "ops": ops}
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_identity(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _ops_env(estate):
    return {"AWS_ACCESS_KEY_ID": estate["ops"][0], "AWS_SECRET_ACCESS_KEY": estate["ops"][1],
            "AWS_REGION": "us-east-1"}


def _left_lock(estate):
    """A lock a killed apply left two hours ago, in both stores; its ID."""
    lock = new_lock("%s/%s" % (BUCKET, KEY), "OperationTypeApply", who="ci@runner",
                    now=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2))
    body = dump_lock(lock)
    keyed_client(estate["server"], "s3", estate["admin"]).put_object(Bucket=BUCKET, Key=KEY + ".tflock", Body=body)
    keyed_client(estate["server"], "dynamodb", estate["admin"]).put_item(
        TableName=TABLE, Item={"LockID": {"S": "%s/%s" % (BUCKET, KEY)}, "Info": {"S": body}})
    return lock["ID"]


def _held(estate):
    """(the .tflock object exists, the DynamoDB lock item exists), read as the administrator."""
    s3 = keyed_client(estate["server"], "s3", estate["admin"])
    dynamodb = keyed_client(estate["server"], "dynamodb", estate["admin"])
    return (s3.list_objects_v2(Bucket=BUCKET, Prefix=KEY + ".tflock").get("KeyCount", 0) == 1,
            "Item" in dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": "%s/%s" % (BUCKET, KEY)}}))


def test_unlock_on_the_root_assumes_its_backend_role_and_the_inventory_alone_is_denied(estate, tmp_path):
    lock_id = _left_lock(estate)
    root = tmp_path / "app"
    root.mkdir()
    (root / "backend.tf").write_text(backend_block(BUCKET, KEY, dynamodb_table=TABLE, extra={
        "assume_role": '{\n      role_arn = "%s"\n    }' % ROLE_ARN}))
    endpoint = {"tfstate_aws_endpoint_url": estate["server"].url}

    # The inventory's credentials alone (the state named on localhost): denied, the lock stays in both stores.
    denied = run_playbook(UNLOCK, env=_ops_env(estate), extra_vars=dict(endpoint, unlock_lock_id=lock_id, unlock_states=[
        {"bucket": BUCKET, "key": KEY, "dynamodb_table": TABLE}]))
    assert denied.returncode != 0 and "AccessDenied" in denied.stdout, denied.stdout[-3000:]
    assert _held(estate) == (True, True)

    # locks.yml on the root finds it, as the backend's role.
    inventory = fleet_inventory(tmp_path, estate["server"].url, "terraform", {"app": {"tfstate_root": str(root)}})
    found = run_playbook(LOCKS, inventory=inventory, env=_ops_env(estate), extra_vars={"tfstate_locks_hosts": "all"})
    assert found.returncode == 0, found.stdout[-3000:]
    assert found.stdout.count("ID %s" % lock_id) == 2, found.stdout[-3000:]  # the .tflock and the lock item

    # unlock.yml on the root: released in both stores, through the role.
    done = run_playbook(UNLOCK, inventory=inventory, env=_ops_env(estate),
                        extra_vars={"tfstate_unlock_hosts": "all", "unlock_lock_id": lock_id})
    assert done.returncode == 0, done.stdout[-3000:]
    assert _held(estate) == (False, False)
    again = run_playbook(UNLOCK, inventory=inventory, env=_ops_env(estate),
                         extra_vars={"tfstate_unlock_hosts": "all", "unlock_lock_id": lock_id})
    assert again.returncode != 0 and "No lock with ID %s was found" % lock_id in again.stdout, again.stdout[-3000:]
