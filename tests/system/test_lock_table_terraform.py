"""lock_table with real terraform against moto: the digest trap reproduced and fixed, and a table
retired only when no client still uses it (locks seen in DynamoDB, digests matched to state versions)."""

import datetime
import hashlib
import re
import time
import uuid

import pytest

from ansible_collections.tfstate.s3_backend.plugins.modules import lock_table
from tests.testbed.collection import run_module
from tests.testbed.terraform import wait_for

pytestmark = pytest.mark.terraform

STATE_KEY = "app/terraform.tfstate"
CHECKSUM_ERROR = "does not have the expected content"


@pytest.fixture()
def table(aws_params):
    name = "tf-locks-%s" % uuid.uuid4().hex[:10]
    assert run_module(lock_table, dict(aws_params, name=name, state="present"))["changed"] is True
    return name


@pytest.fixture()
def state_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    return bucket_name


def dynamodb_root(tf_root, bucket, table, name="dynamodb-client"):
    root = tf_root(name)
    root.write_backend(bucket=bucket, key=STATE_KEY, dynamodb_table=table)
    root.init()
    return root


def state_md5(s3, bucket):
    return hashlib.md5(s3.get_object(Bucket=bucket, Key=STATE_KEY)["Body"].read()).hexdigest()


def get_digest(dynamodb, table, bucket):
    key = {"LockID": {"S": "%s/%s-md5" % (bucket, STATE_KEY)}}
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return item["Digest"]["S"] if item else None


def table_names(dynamodb):
    return dynamodb.list_tables()["TableNames"]


def after_a_moment():
    """A cut-over time strictly between the writes before and after it (S3 times have 1 ms or 1 s grain)."""
    time.sleep(1.1)
    moment = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(1.1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_digest_trap_reproduced_then_fixed_by_sync(aws_params, s3, dynamodb, tf_root, state_bucket, table):
    root = dynamodb_root(tf_root, state_bucket, table)
    root.apply(serial="1")
    assert get_digest(dynamodb, table, state_bucket) == state_md5(s3, state_bucket)

    # Lockfile-only: the state changes, the digest does not.
    root.write_backend(bucket=state_bucket, key=STATE_KEY, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")
    stale = get_digest(dynamodb, table, state_bucket)
    assert stale != state_md5(s3, state_bucket)

    # Back to dynamodb_table: Terraform refuses to read the state, already in init (which reads it).
    root.write_backend(bucket=state_bucket, key=STATE_KEY, dynamodb_table=table)
    trapped_init = root.run("init", "-no-color", "-backend-config=use_path_style=true", "-reconfigure", check=False)
    assert trapped_init.returncode != 0
    assert CHECKSUM_ERROR in trapped_init.stderr
    trapped = root.plan(check=False)
    assert trapped.returncode != 0
    assert CHECKSUM_ERROR in trapped.stderr
    calculated = re.search(r"Calculated checksum: ([0-9a-f]{32})", trapped.stderr).group(1)
    assert re.search(r"Stored checksum: +%s" % stale, trapped.stderr)

    args = dict(aws_params, name=table, bucket=state_bucket, key=STATE_KEY, digest="sync")
    checked = run_module(lock_table, args, check_mode=True, diff=True)
    assert checked["changed"] is True, checked
    assert get_digest(dynamodb, table, state_bucket) == stale

    synced = run_module(lock_table, args, diff=True)
    assert synced["changed"] is True, synced
    assert synced["digests"][0]["before"] == stale
    assert get_digest(dynamodb, table, state_bucket) == state_md5(s3, state_bucket) == calculated
    planned = root.plan(check=False)
    assert planned.returncode == 0, planned.stderr
    assert run_module(lock_table, args)["changed"] is False


def test_whole_bucket_sync_fixes_every_workspace_with_a_digest(aws_params, s3, dynamodb, tf_root, state_bucket, table):
    root = dynamodb_root(tf_root, state_bucket, table)
    root.run("workspace", "new", "staging")
    root.apply(serial="1")
    root.write_backend(bucket=state_bucket, key=STATE_KEY, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")
    staging_key = "env:/staging/" + STATE_KEY
    staging_md5 = hashlib.md5(s3.get_object(Bucket=state_bucket, Key=staging_key)["Body"].read()).hexdigest()

    synced = run_module(lock_table, dict(aws_params, name=table, bucket=state_bucket, digest="sync"))
    assert synced["changed"] is True, synced
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": "%s/%s-md5" % (state_bucket, staging_key)}})
    assert item["Item"]["Digest"]["S"] == staging_md5
    root.write_backend(bucket=state_bucket, key=STATE_KEY, dynamodb_table=table)
    root.init(reconfigure=True)
    assert root.plan(check=False).returncode == 0


def test_delete_refused_while_terraform_holds_a_dynamodb_lock(aws_params, dynamodb, tf_root, state_bucket, table):
    root = dynamodb_root(tf_root, state_bucket, table)
    slow = root.start_apply(sleep_seconds=15, serial="1")
    table_key = {"LockID": {"S": "%s/%s" % (state_bucket, STATE_KEY)}}
    try:
        item = wait_for(lambda: dynamodb.get_item(TableName=table, Key=table_key).get("Item") or slow.poll() is not None,
                        timeout=60, what="terraform's DynamoDB lock item")
        assert slow.poll() is None, "the slow apply ended early: %s" % (slow.communicate(),)
        refused = run_module(lock_table, dict(aws_params, name=table, state="absent", cutover_time="2000-01-01T00:00:00Z"))
        assert refused.get("failed") is True
        assert refused["blockers"][0]["reason"] == "lock item"
        assert refused["blockers"][0]["id"] in item["Info"]["S"]
        assert table in table_names(dynamodb)
    finally:
        stdout, stderr = slow.communicate(timeout=120)
    assert slow.returncode == 0, stdout + stderr


def test_delete_refused_while_a_dynamodb_client_writes_after_the_cutover(
        aws_params, dynamodb, tf_root, state_bucket, table):
    root = dynamodb_root(tf_root, state_bucket, table)
    root.apply(serial="1")
    cutover = after_a_moment()
    root.apply(serial="2")  # a clone still on dynamodb_table: a new digest for a post-cut-over version

    args = dict(aws_params, name=table, state="absent", cutover_time=cutover)
    for check_mode in (True, False):
        refused = run_module(lock_table, args, check_mode=check_mode)
        assert refused.get("failed") is True
        blocker = refused["blockers"][0]
        assert blocker["reason"].startswith("digest matches")
        assert blocker["state_path"] == "%s/%s" % (state_bucket, STATE_KEY)
        assert table in table_names(dynamodb)


def test_delete_succeeds_once_every_client_left_dynamodb(aws_params, s3, dynamodb, tf_root, state_bucket, table):
    root = dynamodb_root(tf_root, state_bucket, table)
    root.apply(serial="1")
    cutover = after_a_moment()
    root.write_backend(bucket=state_bucket, key=STATE_KEY, use_lockfile=True)
    root.init(reconfigure=True)
    root.apply(serial="2")  # lockfile-only after the cut-over: the old digest matches no newer version
    assert get_digest(dynamodb, table, state_bucket) is not None

    args = dict(aws_params, name=table, state="absent", cutover_time=cutover, backup=True)
    checked = run_module(lock_table, args, check_mode=True)
    assert checked["changed"] is True, checked
    assert table in table_names(dynamodb)
    assert dynamodb.list_backups(TableName=table)["BackupSummaries"] == []

    deleted = run_module(lock_table, args)
    assert deleted["changed"] is True, deleted
    assert table not in table_names(dynamodb)
    backups = dynamodb.list_backups(TableName=table)["BackupSummaries"]
    assert [b["BackupArn"] for b in backups] == [deleted["backup"]["arn"]]
    assert backups[0]["BackupStatus"] == "AVAILABLE"
    # Terraform on use_lockfile does not miss the table.
    root.apply(serial="3")
