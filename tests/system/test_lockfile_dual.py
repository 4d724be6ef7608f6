"""Dual mode (use_lockfile and dynamodb_table): one lock per store, found and released in both."""

import json

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import holding as locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock
from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile, lockfile_info
from tests.testbed.collection import run_module
from tests.testbed.terraform import lock_info_shown, wait_for

STATE_KEY = "dual/terraform.tfstate"
LOCK_KEY = STATE_KEY + ".tflock"


def create_lock_table(dynamodb, name):
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
    )
    return name


@pytest.fixture()
def dual(s3, dynamodb, bucket_name):
    """A bucket and a lock table; returns (bucket, table, LockID of STATE_KEY)."""
    s3.create_bucket(Bucket=bucket_name)
    table = create_lock_table(dynamodb, bucket_name + "-locks")
    return bucket_name, table, "%s/%s" % (bucket_name, STATE_KEY)


def lock_item(dynamodb, table, table_key):
    return dynamodb.get_item(TableName=table, Key={"LockID": {"S": table_key}}, ConsistentRead=True).get("Item")


def lock_object_exists(s3, bucket):
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=LOCK_KEY).get("KeyCount"))


def run_lockfile(aws_params, bucket, table, **args):
    return run_module(lockfile, dict(aws_params, bucket=bucket, key=STATE_KEY, dynamodb_table=table, **args))


def blocked_plan(root):
    plan = root.plan(check=False)
    assert plan.returncode != 0 and "Error acquiring the state lock" in plan.stderr, plan.stdout + plan.stderr
    return lock_info_shown(plan.stderr)


@pytest.mark.terraform
def test_terraform_dual_lock_reported_per_store_and_released_in_both(tf_root, s3, dynamodb, aws_params, dual):
    bucket, table, table_key = dual
    root = tf_root()
    root.write_backend(bucket=bucket, key=STATE_KEY, use_lockfile=True, dynamodb_table=table)
    root.init()
    root.apply()
    proc = root.start_apply(sleep_seconds=20)
    try:
        wait_for(lambda: lock_item(dynamodb, table, table_key), timeout=60, what="terraform's DynamoDB lock")
        shown = blocked_plan(root)
    finally:
        proc.kill()  # terraform never releases: both lock records stay behind
        proc.communicate()
    by_state = run_module(lockfile_info, dict(aws_params, bucket=bucket, key=STATE_KEY, dynamodb_table=table))["locks"]
    assert [(r["store"], r["lock_key"], r["table_key"], r["id"], r["who"], r["operation"]) for r in by_state] == [
        ("s3", LOCK_KEY, None, shown["ID"], shown["Who"], shown["Operation"]),
        ("dynamodb", None, table_key, shown["ID"], shown["Who"], shown["Operation"]),
    ]
    table_only = run_module(lockfile_info, dict(aws_params, dynamodb_table=table))["locks"]
    assert [(r["store"], r["table"], r["state_path"], r["id"]) for r in table_only] == [
        ("dynamodb", table, table_key, shown["ID"])]  # the -md5 digest item is not a lock
    backend = {"settings": {"bucket": bucket, "key": STATE_KEY, "dynamodb_table": table, "region": "us-east-1",
                            "use_lockfile": True}, "path": "/somewhere/backend.tf"}
    templated = {"settings": {"bucket": "${var.bucket}", "key": STATE_KEY}, "unresolved_settings": ["bucket"],
                 "file": "/elsewhere/backend.tf", "line": 3}
    from_backends = run_module(lockfile_info, dict(aws_params, backends=[backend, templated]))
    assert [(r["store"], r["id"], r["workspace"]) for r in from_backends["locks"]] == [
        ("s3", shown["ID"], "default"), ("dynamodb", shown["ID"], "default")]
    assert [(s["index"], s["file"], s["reason"]) for s in from_backends["skipped_backends"]] == [
        (1, "/elsewhere/backend.tf", "not literal: bucket")]

    released = run_lockfile(aws_params, bucket, table, state="absent", lock_id=shown["ID"])
    assert sorted(r["store"] for r in released["released"]) == ["dynamodb", "s3"] and released["kept"] == []
    assert lock_item(dynamodb, table, table_key) is None and not lock_object_exists(s3, bucket)
    root.plan()


@pytest.mark.terraform
def test_our_dual_lock_blocks_dynamodb_only_and_lockfile_only_clients(tf_root, s3, dynamodb, aws_params, dual):
    bucket, table, table_key = dual
    dynamodb_only, lockfile_only = tf_root("dynamodb_only"), tf_root("lockfile_only")
    dynamodb_only.write_backend(bucket=bucket, key=STATE_KEY, dynamodb_table=table)
    lockfile_only.write_backend(bucket=bucket, key=STATE_KEY, use_lockfile=True)
    for root in (dynamodb_only, lockfile_only):
        root.init()
    taken = run_lockfile(aws_params, bucket, table, who="ops@bastion", info="freeze for cut-over")
    assert taken["changed"] and json.loads(lock_item(dynamodb, table, table_key)["Info"]["S"])["ID"] == taken["lock_id"]
    for root in (dynamodb_only, lockfile_only):
        shown = blocked_plan(root)
        assert (shown["ID"], shown["Who"], shown["Info"]) == (taken["lock_id"], "ops@bastion", "freeze for cut-over")
    assert run_lockfile(aws_params, bucket, table, lock_id=taken["lock_id"])["changed"] is False
    released = run_lockfile(aws_params, bucket, table, state="absent", lock_id=taken["lock_id"])
    assert len(released["released"]) == 2
    for root in (dynamodb_only, lockfile_only):
        root.plan()


def test_held_dynamodb_item_rolls_back_our_lock_object(s3, dynamodb, aws_params, dual):
    bucket, table, table_key = dual
    holder = new_lock(table_key, "OperationTypeApply", who="legacy@runner")
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": table_key}, "Info": {"S": dump_lock(holder)}})
    refused = run_lockfile(aws_params, bucket, table)
    assert refused["failed"] and table in refused["msg"] and "legacy@runner" in refused["msg"]
    assert [(h["store"], h["id"]) for h in refused["held_by"]] == [("dynamodb", holder["ID"])]
    assert not lock_object_exists(s3, bucket)  # the file lock we took was released again, as terraform does
    assert json.loads(lock_item(dynamodb, table, table_key)["Info"]["S"])["ID"] == holder["ID"]


def test_item_replaced_between_read_and_delete_is_kept(s3, dynamodb, aws_params, dual, monkeypatch):
    bucket, table, table_key = dual
    taken = run_lockfile(aws_params, bucket, table)
    successor = dump_lock(new_lock(table_key, "OperationTypePlan", who="next@runner"))
    original_read = locks.read_target_locks

    def read_then_replace(*args, **kwargs):
        found = original_read(*args, **kwargs)
        dynamodb.put_item(TableName=table, Item={"LockID": {"S": table_key}, "Info": {"S": successor}})
        return found

    monkeypatch.setattr(locks, "read_target_locks", read_then_replace)
    result = run_lockfile(aws_params, bucket, table, state="absent", lock_id=taken["lock_id"])
    assert [r["store"] for r in result["released"]] == ["s3"]
    assert [(r["store"], r["kept_reason"]) for r in result["kept"]] == [("dynamodb", locks.KEPT_CHANGED)]
    assert lock_item(dynamodb, table, table_key)["Info"]["S"] == successor
    assert not lock_object_exists(s3, bucket)


def test_missing_table_fails_naming_it_and_leaves_no_lock_object(s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    result = run_lockfile(aws_params, bucket_name, bucket_name + "-no-such-table")
    assert result["failed"] and result["aws_error_code"] == "ResourceNotFoundException"
    assert bucket_name + "-no-such-table" in result["msg"] and LOCK_KEY in result["msg"]
    assert not lock_object_exists(s3, bucket_name)
