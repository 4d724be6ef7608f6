"""playbooks/retire.yml acts as the table's principal: the backend's ``assume_role`` in another account.

Under moto's IAM enforcement (test_rollback_accounts' estate): the inventory's principal, ``ops`` in account A, may do
nothing but sts:AssumeRole the role the backend names in account B, where the bucket and the lock table live. A root
applied by terraform with DynamoDB locking, then cut over to the lockfile (its migration record names the table), is
examined as its backend's role and the table is backed up and deleted as that role: seen through account B's
administrator (ListTables, ListBackups) and a terraform plan through the role. The same root with the inventory's
credentials alone (no assume_role) is denied, naming the action, and the table stays.
"""

import json
import os

import pytest

from tests.system.test_backend_identity import _assume_role, _ops_env, _root
from tests.system.test_retire import a_cutover_moment, write_migration_record
from tests.system.test_rollback_accounts import ACCOUNT_B, BUCKET, ROLE_ARN, TABLE
from tests.system.test_rollback_accounts import accounts  # noqa: F401 pylint: disable=unused-import
from tests.testbed.aws import keyed_client
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory
from tests.testbed.terraform import backend_block

pytestmark = pytest.mark.terraform

RETIRE = os.path.join(ROOT, "playbooks", "retire.yml")
KEY = "app/terraform.tfstate"


@pytest.fixture(autouse=True)
def _no_ambient_identity(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _retire(accounts, tmp_path, root_path, terraform_bin):
    tmp_path.mkdir()
    reports = tmp_path / "reports"
    inventory = fleet_inventory(tmp_path, accounts["server"].url, terraform_bin, {"app": {"tfstate_root": root_path}},
                                retire_report_dir=str(reports), retire_grace_period_days=0)
    done = run_playbook(RETIRE, {"retire_table": TABLE}, inventory=inventory, env=_ops_env(accounts))
    [row] = json.load(open(str(reports / "retire-report.json")))["results"]
    return done, row


def test_retire_deletes_the_table_as_the_backend_role_and_the_inventory_alone_is_denied(
        accounts, tmp_path, terraform_bin):
    admin_dynamodb = keyed_client(accounts["server"], "dynamodb", accounts["admin_b"])
    root = _root(accounts, tmp_path, terraform_bin, "app", _assume_role(ROLE_ARN))
    root.write_backend(bucket=BUCKET, key=KEY, dynamodb_table=TABLE, extra=_assume_role(ROLE_ARN))
    root.init()
    root.apply(serial="1")
    cutover = a_cutover_moment()
    root.write_backend(bucket=BUCKET, key=KEY, use_lockfile=True, extra=_assume_role(ROLE_ARN))
    root.init(reconfigure=True)
    root.apply(serial="2")
    write_migration_record(keyed_client(accounts["server"], "s3", accounts["admin_b"]), BUCKET, KEY, "lockfile",
                           TABLE, cutover)

    # The same root without its assume_role: the inventory's credentials alone are denied, naming the action.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "backend.tf").write_text(backend_block(BUCKET, KEY, use_lockfile=True))
    denied, row = _retire(accounts, tmp_path / "denied", str(alone), terraform_bin)
    assert denied.returncode != 0, denied.stdout[-3000:]
    assert row["status"] == "failed" and "AccessDenied" in row["reason"] and "DescribeTable" in row["reason"], row
    assert row["principal"] is None
    assert TABLE in admin_dynamodb.list_tables()["TableNames"]

    # Through the backend's role: backed up and deleted in account B.
    done, row = _retire(accounts, tmp_path / "role", root.path, terraform_bin)
    assert done.returncode == 0, done.stdout[-4000:]
    assert row["status"] == "retired", row
    assert row["principal"]["host"] == "app" and row["principal"]["assume_role"]["role_arn"] == ROLE_ARN, row
    assert TABLE not in admin_dynamodb.list_tables()["TableNames"]
    [backup] = admin_dynamodb.list_backups(TableName=TABLE)["BackupSummaries"]
    assert backup["BackupName"] == row["backup"]["name"] and ":%s:" % ACCOUNT_B in backup["BackupArn"], backup
    root.plan()  # the root works on through the role, with its lockfile
