"""Staged migration (dual, then lockfile) and an interrupted run, with real terraform against moto."""

import json
import os
import socket
import subprocess


from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs as migration
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, lockfile
from tests.testbed.collection import ROOT, run_module, run_playbook
from tests.testbed.fleet import fleet_inventory, root_hosts
from tests.testbed.terraform import kill_process_group, wait_for

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")


def _dead_run_freeze_info():
    """The Info of a maintenance lock whose run was killed: its process on this controller is gone."""
    finished = subprocess.run(["true"], check=True)
    assert finished.returncode == 0
    gone = subprocess.Popen(["true"])
    gone.wait()
    identity = {"run_id": "killed-run", "controller": socket.gethostname(), "pid": gone.pid, "pid_start": "1"}
    return migration.freeze_info(identity, clock.now(), 3600)


def _inventory(tmp_path, moto_server, terraform_bin, roots, **extra):
    return fleet_inventory(tmp_path, moto_server.url, terraform_bin, root_hosts(roots), **extra)


def _env():
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def _lock_items(dynamodb, table):
    return [item for item in dynamodb.scan(TableName=table)["Items"] if "Info" in item]


def test_dual_then_lockfile_keeps_exclusion_with_a_dynamodb_only_client(
        tmp_path, moto_server, tf_root, s3, dynamodb, bucket_name, lock_table, terraform_bin):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    root = tf_root("app")
    root.write_backend(bucket=bucket_name, key="app/terraform.tfstate", dynamodb_table=lock_table)
    root.init()
    root.apply(serial="1")
    # A second checkout of the same root that keeps the old configuration (a pipeline not yet updated).
    old_client = tf_root("app-old-checkout")
    old_client.write_backend(bucket=bucket_name, key="app/terraform.tfstate", dynamodb_table=lock_table)
    old_client.init()

    inventory = _inventory(tmp_path, moto_server, terraform_bin, {"app": root})
    dual = run_playbook(PLAYBOOK, {"migrate_target": "dual"}, inventory=inventory, env=_env())
    assert dual.returncode == 0, dual.stdout[-4000:]
    text = open(os.path.join(root.path, "backend.tf")).read()
    assert "use_lockfile" in text and "dynamodb_table" in text

    # Dual client holds the lock: the DynamoDB-only client is refused (it sees the DynamoDB item).
    slow = root.start_apply(sleep_seconds=30, serial="dual-1")
    try:
        wait_for(lambda: _lock_items(dynamodb, lock_table), timeout=60, what="the dual client's DynamoDB lock item")
        assert "Contents" in s3.list_objects_v2(Bucket=bucket_name, Prefix="app/terraform.tfstate.tflock")
        refused = old_client.apply(serial="old-1", check=False)
        assert refused.returncode != 0 and "Error acquiring the state lock" in refused.stderr
    finally:
        kill_process_group(slow)
    root.run("force-unlock", "-force", _lock_id(s3, bucket_name))

    # DynamoDB-only client holds the lock: the dual client is refused too.
    slow = old_client.start_apply(sleep_seconds=30, serial="old-2")
    try:
        wait_for(lambda: _lock_items(dynamodb, lock_table), timeout=60, what="the old client's DynamoDB lock item")
        refused = root.apply(serial="dual-2", check=False)
        assert refused.returncode != 0 and "Error acquiring the state lock" in refused.stderr
    finally:
        kill_process_group(slow)
    old_client.run("force-unlock", "-force", _dynamodb_lock_id(dynamodb, lock_table))

    lockfile_run = run_playbook(PLAYBOOK, {"migrate_target": "lockfile"}, inventory=inventory, env=_env())
    assert lockfile_run.returncode == 0, lockfile_run.stdout[-4000:]
    staged = open(os.path.join(root.path, "backend.tf")).read()

    # The same bytes as a direct lockfile rewrite of the original file.
    direct = tf_root("direct")
    direct.write_backend(bucket=bucket_name, key="app/terraform.tfstate", dynamodb_table=lock_table)
    run_module(backend_hcl, {"path": [os.path.join(direct.path, "backend.tf")], "lock_mode": "lockfile"})
    assert staged == open(os.path.join(direct.path, "backend.tf")).read()
    root.plan()
    root.apply(serial="lockfile-1")
    assert _lock_items(dynamodb, lock_table) == []


def _lock_id(s3, bucket):
    return json.loads(s3.get_object(Bucket=bucket, Key="app/terraform.tfstate.tflock")["Body"].read())["ID"]


def _dynamodb_lock_id(dynamodb, table):
    [item] = _lock_items(dynamodb, table)
    return json.loads(item["Info"]["S"])["ID"]


def test_run_killed_after_rewrite_converges(tmp_path, moto_server, tf_root, s3, dynamodb, bucket_name, lock_table,
                                            terraform_bin, aws_params):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    root = tf_root("app")
    root.write_backend(bucket=bucket_name, key="app/terraform.tfstate", dynamodb_table=lock_table)
    root.init()
    root.apply(serial="1")

    # What a run killed between the rewrite and the re-init leaves: the freeze lock in both stores,
    # the rewritten file, and a working directory still initialised for DynamoDB.
    frozen = run_module(lockfile, dict(aws_params, bucket=bucket_name, key="app/terraform.tfstate",
                                       dynamodb_table=lock_table, operation="migrate",
                                       info=_dead_run_freeze_info()))
    assert frozen["acquired"] is True
    run_module(backend_hcl, {"path": [os.path.join(root.path, "backend.tf")], "lock_mode": "lockfile"})
    blocked = root.plan(check=False)
    assert blocked.returncode != 0  # the new configuration is not initialised yet

    inventory = _inventory(tmp_path, moto_server, terraform_bin, {"app": root})
    rerun = run_playbook(PLAYBOOK, {"migrate_target": "lockfile"}, inventory=inventory, env=_env())
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    [row] = json.load(open(tmp_path / "reports" / "migrate-report.json"))["results"]
    # The rerun took over the killed run's cut-over: it says so, naming the run and the lock it released.
    assert row["status"] == "resumed" and row["lock_mode_after"] == "lockfile", row
    assert any("interrupted run" in evidence for evidence in row["interrupted"]), row
    assert row["resumed_from"]["run_id"] == "killed-run" and row["resumed_from"]["lock_ids"] == [frozen["lock_id"]]
    assert "released its maintenance lock %s" % frozen["lock_id"] in row["reason"], row["reason"]
    assert s3.list_objects_v2(Bucket=bucket_name, Prefix="app/terraform.tfstate.tflock").get("KeyCount") == 0
    assert _lock_items(dynamodb, lock_table) == []
    root.plan()
    root.apply(serial="2")

    again = run_playbook(PLAYBOOK, {"migrate_target": "lockfile"}, inventory=inventory, env=_env())
    assert again.returncode == 0
    assert [line for line in again.stdout.splitlines() if line.startswith("app ")][0].count("changed=0") == 1


def test_check_mode_shows_the_diff_and_changes_nothing(tmp_path, moto_server, tf_root, s3, bucket_name, lock_table,
                                                       terraform_bin):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    root = tf_root("app")
    root.write_backend(bucket=bucket_name, key="app/terraform.tfstate", dynamodb_table=lock_table)
    root.init()
    before = open(os.path.join(root.path, "backend.tf")).read()
    inventory = _inventory(tmp_path, moto_server, terraform_bin, {"app": root})
    checked = run_playbook(PLAYBOOK, {"migrate_target": "lockfile"}, inventory=inventory, check=True, diff=True,
                           env=_env())
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert "+    use_lockfile" in checked.stdout and "-    dynamodb_table" in checked.stdout
    assert open(os.path.join(root.path, "backend.tf")).read() == before
    assert s3.list_objects_v2(Bucket=bucket_name).get("KeyCount") == 0
