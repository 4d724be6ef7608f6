"""Backend shapes through a real migrate run (terraform against moto): a ``backend.tfvars`` partial configuration
given with ``-backend-config`` is migrated, and a backend that does not lock (``use_lockfile = false``) is left
alone with a reason saying so, seen through the files, the last ``terraform init``, S3 and DynamoDB."""

import json
import os

import hcl2

from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
OPT_OUT = 'terraform {\n  backend "s3" {\n    bucket       = "%s"\n    key          = "unlocked/terraform.tfstate"\n' \
          '    region       = "us-east-1"\n    use_lockfile = false\n  }\n}\n'


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_a_backend_tfvars_migrates_and_an_unlocked_backend_is_left_alone(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin):
    partial = tf_root("tfvars")
    partial.write("backend.tf", 'terraform {\n  backend "s3" {\n    region  = "us-east-1"\n    encrypt = true\n'
                                '  }\n}\n')
    partial.write("backend.tfvars", 'bucket         = "%s"\nkey            = "tfvars/terraform.tfstate"\n'
                                    'dynamodb_table = "%s"\n' % (state_bucket, lock_table))
    partial.init("-backend-config=backend.tfvars")
    partial.apply(serial="1")
    unlocked = tf_root("unlocked")
    unlocked.write("backend.tf", OPT_OUT % state_bucket)
    unlocked.init()
    unlocked_files = dict((name, _read(os.path.join(unlocked.path, name)))
                          for name in ("backend.tf", ".terraform/terraform.tfstate"))

    hosts = {"tfvars": {"tfstate_root": partial.path, "tfstate_init_args": ["-backend-config=backend.tfvars"]},
             "unlocked": {"tfstate_root": unlocked.path}}
    inventory = fleet_inventory(tmp_path, moto_server.url, terraform_bin, hosts,
                                migrate_backup_dir=str(tmp_path / "backups"), migrate_target="lockfile")
    result = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    with open(str(tmp_path / "reports" / "migrate-report.json")) as handle:
        rows = dict((row["host"], row) for row in json.load(handle)["results"])
    assert rows["tfvars"]["status"] == "migrated", (rows, result.stdout[-4000:])

    # The partial configuration is what changed, and terraform's last init says lockfile.
    settings = hcl2.loads(open(os.path.join(partial.path, "backend.tfvars")).read())
    assert settings["use_lockfile"] is True and "dynamodb_table" not in settings
    with open(os.path.join(partial.path, ".terraform", "terraform.tfstate")) as handle:
        config = json.load(handle)["backend"]["config"]
    assert config["use_lockfile"] is True and not config.get("dynamodb_table")
    partial.plan()   # terraform works on the rewritten configuration
    assert "tfvars/terraform.tfstate" in [item["Key"] for item in s3.list_objects_v2(
        Bucket=state_bucket, Prefix="tfvars/").get("Contents", [])]

    # The unlocked root: no locking was turned on; its files and last init are as they were, nothing in S3.
    row = rows["unlocked"]
    assert row["phase"] == "preflight" and row["status"] != "migrated", row
    assert "does not lock (lock mode none" in row["reason"] and "never turns locking on" in row["reason"], row
    assert "%s:2" % os.path.join(unlocked.path, "backend.tf") in row["reason"], row
    for name, content in unlocked_files.items():
        assert _read(os.path.join(unlocked.path, name)) == content, name
    assert s3.list_objects_v2(Bucket=state_bucket, Prefix="unlocked/").get("KeyCount") == 0
    assert [item for item in dynamodb.scan(TableName=lock_table)["Items"]
            if item["LockID"]["S"].startswith("%s/unlocked/" % state_bucket)] == []
