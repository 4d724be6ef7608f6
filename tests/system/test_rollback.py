"""playbooks/rollback.yml with real terraform against moto: a root that applied in lockfile mode
(the DynamoDB digests are stale: the rollback trap) goes back to DynamoDB locking and plans again.

Effects are seen through terraform runs and the S3 and DynamoDB APIs, not through the role's report.
"""

import datetime
import hashlib
import json
import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.runs import freeze_info
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.terraform import kill_process_group, wait_for

pytestmark = pytest.mark.terraform

PLAYBOOK = os.path.join(ROOT, "playbooks", "rollback.yml")
KEY = "app/terraform.tfstate"
STAGING_KEY = "env:/staging/" + KEY
CHECKSUM_ERROR = "does not have the expected content"


def trapped_root(tf_root, state_bucket, table, workspaces=()):
    """A root applied with DynamoDB locking, then cut over to use_lockfile and applied again.

    Every workspace's digest is then stale: with dynamodb_table back, terraform would fail."""
    root = tf_root("app")
    root.write_backend(bucket=state_bucket, key=KEY, dynamodb_table=table)
    root.init()
    for workspace in workspaces:
        root.run("workspace", "new", workspace)
        root.apply(serial="1")
    root.run("workspace", "select", "default")
    root.apply(serial="1")
    root.write_backend(bucket=state_bucket, key=KEY, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")
    for workspace in workspaces:
        root.run("workspace", "select", workspace)
        root.apply(serial="2")
    root.run("workspace", "select", "default")
    return root


def write_migration_record(s3, bucket, table):
    """What the migrate role leaves next to the state after the cut-over."""
    record = {"mode": "lockfile", "dynamodb_table": table, "cutover_time": "2026-01-01T00:00:00Z",
              "root": "app", "collection_version": "0.1.0"}
    s3.put_object(Bucket=bucket, Key=KEY + ".tfstate-s3-backend.json", Body=json.dumps(record).encode())


def write_inventory(tmp_path, moto_server, hosts):
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts, "vars": {
        "tfstate_aws_endpoint_url": moto_server.url,
        "tfstate_aws_region": "us-east-1",
        "rollback_report_dir": str(tmp_path / "reports"),
        "tfstate_backup_dir": str(tmp_path / "backups"),
    }}}))
    return str(path)


def rollback(inventory, check=False, extra_vars=None, playbook=PLAYBOOK):
    return run_playbook(playbook, extra_vars, inventory=inventory, check=check, diff=check,
                        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})


def report(tmp_path):
    with open(str(tmp_path / "reports" / "rollback-report.json")) as handle:
        return dict((result["host"], result) for result in json.load(handle)["results"])


def state_md5(s3, bucket, key):
    return hashlib.md5(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


def digest(dynamodb, table, bucket, key):
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": "%s/%s-md5" % (bucket, key)}},
                             ConsistentRead=True).get("Item")
    return item["Digest"]["S"] if item else None


def lock_items(dynamodb, table):
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return [item["LockID"]["S"] for item in items if not item["LockID"]["S"].endswith("-md5")]


def lock_objects(s3, bucket):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if o["Key"].endswith(".tflock")]


def git(path, *args):
    return subprocess.run(["git"] + list(args), cwd=path, check=True, capture_output=True, text=True,
                          env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")).stdout


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_rollback_after_lockfile_applies_leaves_a_working_dynamodb_backend(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root):
    root = trapped_root(tf_root, state_bucket, lock_table, workspaces=["staging"])
    write_migration_record(s3, state_bucket, lock_table)
    stale = {key: digest(dynamodb, lock_table, state_bucket, key) for key in (KEY, STAGING_KEY)}
    for key in (KEY, STAGING_KEY):
        assert stale[key] is not None and stale[key] != state_md5(s3, state_bucket, key)
    backend_file = os.path.join(root.path, "backend.tf")
    lockfile_backend = read(backend_file)
    inventory = write_inventory(tmp_path, moto_server, {"app": {"tfstate_root": root.path}})

    # Check mode shows the rewrite and changes nothing.
    checked = rollback(inventory, check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r'^\+\s+dynamodb_table\s+= "%s"$' % lock_table, checked.stdout, re.M), checked.stdout
    assert re.search(r'^-\s+use_lockfile\s+= true$', checked.stdout, re.M), checked.stdout
    assert read(backend_file) == lockfile_backend
    with open(str(tmp_path / "reports" / "rollback-preview.json")) as handle:
        [preview] = json.load(handle)["results"]
    assert preview["status"] == "would_roll_back" and preview["next_step"] == "run without --check to apply", preview
    assert not (tmp_path / "reports" / "rollback-report.json").exists()
    assert {key: digest(dynamodb, lock_table, state_bucket, key) for key in (KEY, STAGING_KEY)} == stale
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []

    done = rollback(inventory)
    assert done.returncode == 0, done.stdout + done.stderr
    text = read(backend_file).decode()
    assert 'dynamodb_table = "%s"' % lock_table in text and "use_lockfile" not in text
    # The backup is kept where migrate keeps it, out of the root's repository.
    assert not [name for name in os.listdir(root.path) if name.startswith("backend.tf.")]
    folder = os.path.join(str(tmp_path / "backups"), state_bucket, *KEY.split("/"))  # named by bucket and state key
    backups = os.listdir(folder)
    assert len(backups) == 1 and backups[0].startswith("backend.tf.") and backups[0].endswith("~"), backups
    assert read(os.path.join(folder, backups[0])) == lockfile_backend
    # The digest trap is undone for every workspace, and the freeze and lock proof are gone.
    for key in (KEY, STAGING_KEY):
        assert digest(dynamodb, lock_table, state_bucket, key) == state_md5(s3, state_bucket, key)
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []
    record = json.loads(s3.get_object(Bucket=state_bucket, Key=KEY + ".tfstate-s3-backend.json")["Body"].read())
    assert record["mode"] == "dynamodb" and record["dynamodb_table"] == lock_table
    result = report(tmp_path)["app"]
    assert result["status"] == "rolled_back", result
    assert result["verification"] == {"plan_ok": True, "locked_plan_refused": True, "matches_baseline": None}
    assert result["lock_mode_after"] == "dynamodb" and result["run_id"] and result["principal"]
    assert sorted(result["digests_synced"]) == sorted("%s/%s" % (state_bucket, k) for k in (KEY, STAGING_KEY))

    # terraform plans without a checksum error, in each workspace, and locks with DynamoDB only.
    assert CHECKSUM_ERROR not in root.plan().stderr
    root.run("workspace", "select", "staging")
    root.plan()
    root.run("workspace", "select", "default")
    slow = root.start_apply(sleep_seconds=20, serial="3")
    try:
        lock_id = "%s/%s" % (state_bucket, KEY)
        item = wait_for(lambda: dynamodb.get_item(TableName=lock_table, Key={"LockID": {"S": lock_id}}).get("Item")
                        or slow.poll() is not None, timeout=60, what="terraform's DynamoDB lock item")
        assert slow.poll() is None, "the slow apply ended early: %s" % (slow.communicate(),)
        assert json.loads(item["Info"]["S"])["Path"] == lock_id
        assert lock_objects(s3, state_bucket) == []
    finally:
        kill_process_group(slow)
    dynamodb.delete_item(TableName=lock_table, Key={"LockID": {"S": "%s/%s" % (state_bucket, KEY)}})

    # A second run (by the playbook's collection name) changes nothing.
    items_before = sorted(json.dumps(i, sort_keys=True) for i in dynamodb.scan(TableName=lock_table)["Items"])
    again = rollback(inventory, playbook="tfstate.s3_backend.rollback")
    assert again.returncode == 0, again.stdout + again.stderr
    assert report(tmp_path)["app"]["status"] == "unchanged"
    assert read(backend_file).decode() == text
    assert sorted(json.dumps(i, sort_keys=True) for i in dynamodb.scan(TableName=lock_table)["Items"]) == items_before


def test_rollback_recreates_a_deleted_table(tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root):
    root = trapped_root(tf_root, state_bucket, lock_table)
    dynamodb.delete_table(TableName=lock_table)
    host = {"tfstate_root": root.path, "tfstate_dynamodb_table": lock_table, "rollback_reason": "INC-42: plans fail"}
    inventory = write_inventory(tmp_path, moto_server, {"app": host})

    checked = rollback(inventory, check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert lock_table not in dynamodb.list_tables()["TableNames"]

    done = rollback(inventory)
    assert done.returncode == 0, done.stdout + done.stderr
    described = dynamodb.describe_table(TableName=lock_table)["Table"]
    assert described["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert report(tmp_path)["app"]["table_created"] is True
    # The ledger says who, when and why: stage dynamodb with the run and the reason.
    entry = json.loads(s3.get_object(Bucket=state_bucket, Key="tfstate-s3-backend-ledger/%s/dynamodb.json" % KEY)
                       ["Body"].read())
    assert entry["stage"] == "dynamodb" and entry["reason"] == "INC-42: plans fail" and entry["run_id"], entry
    planned = root.plan()
    assert CHECKSUM_ERROR not in planned.stderr


def test_rollback_of_a_dual_root_keeps_its_table(tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table,
                                                 tf_root):
    root = tf_root("app")
    root.write_backend(bucket=state_bucket, key=KEY, dynamodb_table=lock_table, use_lockfile=True)
    root.init()
    root.apply(serial="1")
    git(root.path, "init", "-q", "-b", "main")
    git(root.path, "add", "main.tf", "backend.tf")
    git(root.path, "commit", "-q", "-m", "dual locking")
    inventory = write_inventory(tmp_path, moto_server, {"app": {"tfstate_root": root.path, "tfstate_git_commit": True}})
    # A killed run left its maintenance lock behind, its lease over: the next run releases it and goes on.
    started = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    dead = {"run_id": "ctl-1-2", "controller": "elsewhere", "pid": 1, "pid_start": "2"}
    leftover = new_lock("%s/%s" % (state_bucket, KEY), "OperationTypeMigrate", who="tfstate.s3_backend@elsewhere",
                        info=freeze_info(dead, started, 60))
    s3.put_object(Bucket=state_bucket, Key=KEY + ".tflock", Body=dump_lock(leftover).encode(),
                  ContentType="application/json")

    done = rollback(inventory)
    assert done.returncode == 0, done.stdout + done.stderr
    text = read(os.path.join(root.path, "backend.tf")).decode()
    assert 'dynamodb_table = "%s"' % lock_table in text and "use_lockfile" not in text
    assert report(tmp_path)["app"]["lock_mode_before"] == "dual"
    # Committed on a branch of its own; the default branch is untouched.
    assert report(tmp_path)["app"]["branch"] == "tfstate/dynamodb-locking"
    assert git(root.path, "log", "--format=%s", "main").splitlines() == ["dual locking"]
    assert git(root.path, "diff", "--name-only", "main", "tfstate/dynamodb-locking").split() == ["backend.tf"]
    assert "use_lockfile" not in git(root.path, "show", "tfstate/dynamodb-locking:backend.tf")
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []
    # DynamoDB-only now: a held lock item refuses terraform, a lock object alone does not.
    lock_id = "%s/%s" % (state_bucket, KEY)
    dynamodb.put_item(TableName=lock_table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(
        {"ID": "5d3c2f8e-0000-4c3d-9e8f-7a6b5c4d3e2f", "Operation": "OperationTypeApply", "Who": "ci@runner",
         "Version": "1.11.4", "Created": "2026-11-27T10:00:00Z", "Path": lock_id, "Info": ""})}})
    refused = root.plan(check=False)
    assert refused.returncode != 0 and "5d3c2f8e-0000-4c3d-9e8f-7a6b5c4d3e2f" in refused.stderr
    dynamodb.delete_item(TableName=lock_table, Key={"LockID": {"S": lock_id}})
    s3.put_object(Bucket=state_bucket, Key=KEY + ".tflock", Body=b"{}")
    assert CHECKSUM_ERROR not in root.plan().stderr


def test_rollback_stops_a_root_whose_state_is_locked(tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket,
                                                     lock_table, tf_root):
    root = trapped_root(tf_root, state_bucket, lock_table)
    write_migration_record(s3, state_bucket, lock_table)
    backend_file = os.path.join(root.path, "backend.tf")
    lockfile_backend = read(backend_file)
    stale = digest(dynamodb, lock_table, state_bucket, KEY)
    inventory = write_inventory(tmp_path, moto_server, {"app": {"tfstate_root": root.path}})

    slow = root.start_apply(sleep_seconds=60, serial="3")
    try:
        wait_for(lambda: lock_objects(s3, state_bucket) or slow.poll() is not None, timeout=60,
                 what="terraform's lock object")
        assert slow.poll() is None, "the slow apply ended early: %s" % (slow.communicate(),)
        holder = json.loads(s3.get_object(Bucket=state_bucket, Key=KEY + ".tflock")["Body"].read())["ID"]
        stopped = rollback(inventory)
        # The report is written, then the run fails because a root stopped.
        assert stopped.returncode != 0
        result = report(tmp_path)["app"]
        assert result["status"] == "stopped", result
        assert holder in result["reason"]
        assert read(backend_file) == lockfile_backend
        assert digest(dynamodb, lock_table, state_bucket, KEY) == stale
        assert lock_objects(s3, state_bucket) == [KEY + ".tflock"]
        held = json.loads(s3.get_object(Bucket=state_bucket, Key=KEY + ".tflock")["Body"].read())["ID"]
        assert held == holder
    finally:
        kill_process_group(slow)
