"""unlock.yml and locks.yml act as each root's backend principal, proven under moto's IAM enforcement with two accounts.

The inventory's principal (``ops``, account A) may do nothing but sts:AssumeRole the role the backend names in
account B, where the bucket and the lock table live (test_rollback_accounts' estate). A lock a killed job left (a
``.tflock`` object and its DynamoDB item, two hours old) is found by ``locks.yml`` and released by ``unlock.yml`` run
on the root (its backend's ``assume_role``), read back as account B's administrator; run on localhost with the same
state named in ``unlock_states`` (the inventory's credentials alone), the release is denied and the lock stays.
"""

import datetime
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock
from tests.system.test_rollback_accounts import BUCKET, ROLE_ARN, TABLE
from tests.system.test_rollback_accounts import accounts  # noqa: F401 pylint: disable=unused-import
from tests.testbed.aws import keyed_client
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory
from tests.testbed.terraform import backend_block

UNLOCK = os.path.join(ROOT, "playbooks", "unlock.yml")
LOCKS = os.path.join(ROOT, "playbooks", "locks.yml")
KEY = "app/terraform.tfstate"


@pytest.fixture(autouse=True)
def _no_ambient_identity(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _ops_env(accounts):
    return {"AWS_ACCESS_KEY_ID": accounts["ops"][0], "AWS_SECRET_ACCESS_KEY": accounts["ops"][1],
            "AWS_REGION": "us-east-1"}


def _left_lock(accounts):
    """A lock a killed apply left two hours ago, in both stores; its ID."""
    lock = new_lock("%s/%s" % (BUCKET, KEY), "OperationTypeApply", who="ci@runner",
                    now=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2))
    body = dump_lock(lock)
    keyed_client(accounts["server"], "s3", accounts["admin_b"]).put_object(Bucket=BUCKET, Key=KEY + ".tflock", Body=body)
    keyed_client(accounts["server"], "dynamodb", accounts["admin_b"]).put_item(
        TableName=TABLE, Item={"LockID": {"S": "%s/%s" % (BUCKET, KEY)}, "Info": {"S": body}})
    return lock["ID"]


def _held(accounts):
    """(the .tflock object exists, the DynamoDB lock item exists), read as the administrator."""
    s3 = keyed_client(accounts["server"], "s3", accounts["admin_b"])
    dynamodb = keyed_client(accounts["server"], "dynamodb", accounts["admin_b"])
    return (s3.list_objects_v2(Bucket=BUCKET, Prefix=KEY + ".tflock").get("KeyCount", 0) == 1,
            "Item" in dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": "%s/%s" % (BUCKET, KEY)}}))


def test_unlock_on_the_root_assumes_its_backend_role_and_the_inventory_alone_is_denied(accounts, tmp_path):
    lock_id = _left_lock(accounts)
    root = tmp_path / "app"
    root.mkdir()
    (root / "backend.tf").write_text(backend_block(BUCKET, KEY, dynamodb_table=TABLE, extra={
        "assume_role": '{\n      role_arn = "%s"\n    }' % ROLE_ARN}))
    endpoint = {"tfstate_aws_endpoint_url": accounts["server"].url}

    # The inventory's credentials alone (the state named on localhost): denied, the lock stays in both stores.
    denied = run_playbook(UNLOCK, env=_ops_env(accounts), extra_vars=dict(endpoint, unlock_lock_id=lock_id, unlock_states=[
        {"bucket": BUCKET, "key": KEY, "dynamodb_table": TABLE}]))
    assert denied.returncode != 0 and "AccessDenied" in denied.stdout, denied.stdout[-3000:]
    assert _held(accounts) == (True, True)

    # locks.yml on the root finds it, as the backend's role.
    inventory = fleet_inventory(tmp_path, accounts["server"].url, "terraform", {"app": {"tfstate_root": str(root)}})
    found = run_playbook(LOCKS, inventory=inventory, env=_ops_env(accounts), extra_vars={"tfstate_locks_hosts": "all"})
    assert found.returncode == 0, found.stdout[-3000:]
    assert found.stdout.count("ID %s" % lock_id) == 2, found.stdout[-3000:]  # the .tflock and the lock item

    # unlock.yml on the root: released in both stores, through the role.
    done = run_playbook(UNLOCK, inventory=inventory, env=_ops_env(accounts),
                        extra_vars={"tfstate_unlock_hosts": "all", "unlock_lock_id": lock_id})
    assert done.returncode == 0, done.stdout[-3000:]
    assert _held(accounts) == (False, False)
    again = run_playbook(UNLOCK, inventory=inventory, env=_ops_env(accounts),
                         extra_vars={"tfstate_unlock_hosts": "all", "unlock_lock_id": lock_id})
    assert again.returncode != 0 and "No lock with ID %s was found" % lock_id in again.stdout, again.stdout[-3000:]
