"""Runs that overlap refuse each other: two rollbacks of one root, a rollback during a migrate and a
migrate during a rollback. Real terraform against moto; the first run is slowed by a terraform
wrapper that sleeps before `init`, so the second starts while the first holds the maintenance lock.

Effects are seen through S3, DynamoDB and terraform; the refusal through the second run's report.
"""

import json
import os
import stat

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.runs import parse_freeze_info
from tests.system.test_rollback import KEY, PLAYBOOK, lock_items, lock_objects, trapped_root, write_migration_record
from tests.testbed.collection import ROOT, kill_playbook, run_playbook, start_playbook
from tests.testbed.fleet import fleet_inventory
from tests.testbed.terraform import wait_for

pytestmark = pytest.mark.terraform

MIGRATE = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def slow_terraform(tmp_path, terraform_bin, seconds=10):
    """A terraform that sleeps before every `init`: the run using it holds its maintenance lock that long."""
    path = tmp_path / "slow-terraform"
    path.write_text('#!/bin/sh\n[ "$1" = init ] && sleep %s\nexec %s "$@"\n' % (seconds, terraform_bin))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def inventory(directory, moto_server, root, terraform_bin):
    directory.mkdir(parents=True, exist_ok=True)
    reports = str(directory / "reports")
    return fleet_inventory(directory, moto_server.url, terraform_bin, {"app": {"tfstate_root": root.path}},
                           rollback_report_dir=reports, migrate_report_dir=reports,
                           tfstate_backup_dir=str(directory / "backups"), tfstate_aws_region="us-east-1")


def row(directory, name):
    with open(str(directory / "reports" / ("%s-report.json" % name))) as handle:
        return {result["host"]: result for result in json.load(handle)["results"]}["app"]


def freeze_run(s3, bucket):
    """The run ID in the maintenance lock's Info on the root's state, or None while there is none."""
    try:
        body = json.loads(s3.get_object(Bucket=bucket, Key=KEY + ".tflock")["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    return (parse_freeze_info(body.get("Info")) or {}).get("run_id")


def hold_root(playbook, directory, s3, bucket, inventory_path):
    """Start ``playbook`` and wait until it holds the root's maintenance lock; ``(process, its run ID)``."""
    first = start_playbook(playbook, inventory_path, directory / "first.log", env=ENV)
    run_id = wait_for(lambda: freeze_run(s3, bucket) or first.poll() is not None, timeout=120,
                      what="the first run's maintenance lock")
    assert first.poll() is None, (directory / "first.log").read_text()[-3000:]
    return first, run_id


def finish(process, log):
    try:
        assert process.wait(timeout=300) == 0, log.read_text()[-4000:]
    finally:
        kill_playbook(process)


def assert_dynamodb_locking(root, dynamodb, table, bucket):
    """No lock is left, a plan works, and a held DynamoDB lock item refuses terraform."""
    lock_id = "%s/%s" % (bucket, KEY)
    root.plan()
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": lock_id}, "Info": {"S": json.dumps(
        {"ID": "0badc0de-0000-4000-8000-000000000001", "Operation": "OperationTypeApply", "Who": "ci@runner",
         "Version": "1.11.4", "Created": "2026-11-27T10:00:00Z", "Path": lock_id, "Info": ""})}})
    try:
        refused = root.plan(check=False)
        assert refused.returncode != 0 and "0badc0de-0000-4000-8000-000000000001" in refused.stderr
    finally:
        dynamodb.delete_item(TableName=table, Key={"LockID": {"S": lock_id}})


def test_two_rollbacks_of_one_root_at_once_the_second_stops_naming_the_first(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root, terraform_bin):
    root = trapped_root(tf_root, state_bucket, lock_table)
    write_migration_record(s3, state_bucket, lock_table)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    slow = slow_terraform(tmp_path, terraform_bin)
    first, run_a = hold_root(PLAYBOOK, first_dir, s3, state_bucket,
                             inventory(first_dir, moto_server, root, slow))
    try:
        second = run_playbook(PLAYBOOK, inventory=inventory(second_dir, moto_server, root, terraform_bin), env=ENV)
        assert second.returncode != 0, second.stdout[-3000:]
        refused = row(second_dir, "rollback")
        assert refused["status"] == "stopped" and run_a in refused["reason"], refused
        # The first run still holds its lock: the second released nothing.
        assert freeze_run(s3, state_bucket) == run_a
    finally:
        finish(first, first_dir / "first.log")
    assert row(first_dir, "rollback")["status"] == "rolled_back"
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []
    assert_dynamodb_locking(root, dynamodb, lock_table, state_bucket)


def test_a_rollback_during_a_migrate_and_a_migrate_during_a_rollback_are_refused_naming_the_run(
        tmp_path, moto_server, aws_env, s3, dynamodb, state_bucket, lock_table, tf_root, terraform_bin):
    root = tf_root("app")
    root.write_backend(bucket=state_bucket, key=KEY, dynamodb_table=lock_table)
    root.init()
    root.apply(serial="1")
    slow = slow_terraform(tmp_path, terraform_bin)

    # A migrate (to dual) holds the root: a rollback stops, naming the migrate run.
    migrating, rolling = tmp_path / "migrate", tmp_path / "rollback"
    first, run_id = hold_root(MIGRATE, migrating, s3, state_bucket, inventory(migrating, moto_server, root, slow))
    try:
        second = run_playbook(PLAYBOOK, inventory=inventory(rolling, moto_server, root, terraform_bin), env=ENV)
        assert second.returncode != 0, second.stdout[-3000:]
        refused = row(rolling, "rollback")
        assert refused["status"] == "stopped" and run_id in refused["reason"], refused
    finally:
        finish(first, migrating / "first.log")
    assert row(migrating, "migrate")["status"] == "migrated"

    # A rollback holds the (now dual) root: a migrate to lockfile stops, naming the rollback run.
    migrating, rolling = tmp_path / "migrate-2", tmp_path / "rollback-2"
    first, run_id = hold_root(PLAYBOOK, rolling, s3, state_bucket, inventory(rolling, moto_server, root, slow))
    try:
        second = run_playbook(MIGRATE, inventory=inventory(migrating, moto_server, root, terraform_bin), env=ENV,
                              extra_vars={"migrate_target": "lockfile"})
        assert second.returncode != 0, second.stdout[-3000:]
        refused = row(migrating, "migrate")
        assert refused["status"] == "stopped" and run_id in refused["reason"], refused
    finally:
        finish(first, rolling / "first.log")
    assert row(rolling, "rollback")["status"] == "rolled_back"
    assert lock_objects(s3, state_bucket) == [] and lock_items(dynamodb, lock_table) == []
    assert_dynamodb_locking(root, dynamodb, lock_table, state_bucket)
