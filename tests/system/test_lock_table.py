"""lock_table against moto: table lifecycle, info and digest removal, read back through DynamoDB and S3.

The digest trap and the table retirement with real terraform are in test_lock_table_terraform.py.
"""

import hashlib
import json
import uuid

import pytest

from ansible_collections.tfstate.s3_backend.plugins.modules import lock_table, lock_table_info
from tests.testbed.collection import run_module

TERRAFORM_LOCK_INFO = ('{"ID":"%s","Operation":"OperationTypeApply","Info":"","Who":"ci@runner",'
                       '"Version":"1.11.4","Created":"2026-11-27T10:27:34.131593493Z","Path":"%s"}')
# A state body with a marker that must never appear in any module result.
SECRET = "db-password-%s" % uuid.uuid4().hex


def state_body(serial):
    return json.dumps({"version": 4, "serial": serial, "outputs": {"password": {"value": SECRET}}}).encode()


@pytest.fixture()
def table_name():
    return "tf-locks-%s" % uuid.uuid4().hex[:10]


def table_names(dynamodb):
    return dynamodb.list_tables()["TableNames"]


def get_digest(dynamodb, table, table_key):
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": table_key}}, ConsistentRead=True).get("Item")
    return item["Digest"]["S"] if item else None


def put_lock_item(dynamodb, table, path, lock_id=None):
    lock_id = lock_id or str(uuid.uuid4())
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": path}, "Info": {"S": TERRAFORM_LOCK_INFO % (lock_id, path)}})
    return lock_id


def put_digest_item(dynamodb, table, path, digest):
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": path + "-md5"}, "Digest": {"S": digest}})


@pytest.fixture()
def table(aws_params, table_name):
    assert run_module(lock_table, dict(aws_params, name=table_name, state="present"))["changed"] is True
    return table_name


def test_create_check_mode_then_create_then_idempotent(aws_params, dynamodb, table_name):
    args = dict(aws_params, name=table_name, state="present")
    checked = run_module(lock_table, args, check_mode=True, diff=True)
    assert checked["changed"] is True, checked
    assert checked["diff"]["before"]["table"]["exists"] is False
    assert checked["diff"]["after"]["table"]["exists"] is True
    assert table_name not in table_names(dynamodb)

    created = run_module(lock_table, args)
    assert created["changed"] is True, created
    described = dynamodb.describe_table(TableName=table_name)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert described["AttributeDefinitions"] == [{"AttributeName": "LockID", "AttributeType": "S"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    assert run_module(lock_table, args)["changed"] is False
    protect = run_module(lock_table, dict(args, deletion_protection=True))
    assert protect["changed"] is True
    assert dynamodb.describe_table(TableName=table_name)["Table"]["DeletionProtectionEnabled"] is True


def test_a_table_created_meanwhile_by_a_parallel_run_is_adopted(aws_params, dynamodb, table_name, monkeypatch):
    """Race: several roots roll back to the same deleted table at once; another run creates it first."""
    from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import lock_table as lock_table_utils

    original = lock_table_utils.describe_table
    raced = []

    def missing_then_created_by_another_run(client, table):
        if not raced:
            raced.append(True)
            dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                  AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                                  KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
            return None
        return original(client, table)

    monkeypatch.setattr(lock_table_utils, "describe_table", missing_then_created_by_another_run)
    adopted = run_module(lock_table, dict(aws_params, name=table_name, state="present"))
    assert raced and adopted.get("failed") is not True, adopted
    assert adopted["changed"] is False
    assert adopted["lock_table"]["exists"] is True
    assert dynamodb.describe_table(TableName=table_name)["Table"]["TableStatus"] == "ACTIVE"


def test_existing_table_with_a_key_terraform_cannot_use_is_refused(aws_params, dynamodb, table_name):
    dynamodb.create_table(TableName=table_name, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    refused = run_module(lock_table, dict(aws_params, name=table_name, state="present"))
    assert refused.get("failed") is True
    assert table_name in refused["msg"] and "LockID" in refused["msg"]


def test_info_groups_locks_and_digests_by_state(aws_params, dynamodb, s3, table, bucket_name):
    path = "%s/prod/terraform.tfstate" % bucket_name
    held_id = put_lock_item(dynamodb, table, path)
    put_digest_item(dynamodb, table, path, "0" * 32)
    put_digest_item(dynamodb, table, "%s/env:/staging/prod/terraform.tfstate" % bucket_name, "1" * 32)
    put_digest_item(dynamodb, table, "other-bucket/x.tfstate", "2" * 32)
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": "no-slash"}})

    info = run_module(lock_table_info, dict(aws_params, name=table))
    assert info["changed"] is False and "diff" not in info
    assert info["lock_table"]["exists"] is True
    assert (info["lock_table"]["item_count"], info["lock_table"]["lock_item_count"],
            info["lock_table"]["digest_item_count"]) == (5, 1, 3)
    by_path = dict((entry["state_path"], entry) for entry in info["states"])
    assert by_path[path]["lock"]["id"] == held_id
    assert by_path[path]["lock"]["who"] == "ci@runner"
    assert by_path[path]["digest"] == "0" * 32
    assert by_path["other-bucket/x.tfstate"]["lock"] is None
    assert info["unrecognised_items"] == ["no-slash"]

    narrowed = run_module(lock_table_info, dict(aws_params, name=table, bucket=bucket_name, prefix="env:/"))
    assert [entry["state_path"] for entry in narrowed["states"]] == [
        "%s/env:/staging/prod/terraform.tfstate" % bucket_name]
    assert narrowed["lock_table"]["item_count"] == 1

    missing = run_module(lock_table_info, dict(aws_params, name=table + "-gone"))
    assert missing["lock_table"]["exists"] is False and missing["states"] == []

    # lock_table only changes a table: without state or digest it refuses, and the items are as they were.
    refused = run_module(lock_table, dict(aws_params, name=table, bucket=bucket_name, prefix="env:/"))
    assert refused.get("failed") and "state, digest" in refused["msg"], refused
    after = run_module(lock_table_info, dict(aws_params, name=table))
    assert [(e["state_path"], (e["lock"] or {}).get("id"), e["digest"]) for e in after["states"]] == \
        [(e["state_path"], (e["lock"] or {}).get("id"), e["digest"]) for e in info["states"]]


def test_digest_sync_hashes_the_bytes_not_the_etag_and_never_returns_them(
        aws_params, dynamodb, s3, table, bucket_name):
    """A multipart-uploaded state has an ETag that is not its MD5: the digest must be the real MD5."""
    s3.create_bucket(Bucket=bucket_name)
    key = "big/terraform.tfstate"
    part = state_body(7) + b" " * (5 * 1024 * 1024)  # parts other than the last must be >= 5 MiB
    upload = s3.create_multipart_upload(Bucket=bucket_name, Key=key)
    etags = [s3.upload_part(Bucket=bucket_name, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                            Body=body)["ETag"] for number, body in ((1, part), (2, b"\n"))]
    s3.complete_multipart_upload(Bucket=bucket_name, Key=key, UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"ETag": etag, "PartNumber": number} for number, etag in enumerate(etags, 1)]})
    real_md5 = hashlib.md5(s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()).hexdigest()
    etag = s3.head_object(Bucket=bucket_name, Key=key)["ETag"].strip('"')
    assert etag != real_md5 and etag.endswith("-2")
    digest_key = "%s/%s-md5" % (bucket_name, key)

    args = dict(aws_params, name=table, bucket=bucket_name, keys=[key], digest="sync")
    checked = run_module(lock_table, args, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["diff"]["after"]["digests"] == {digest_key: real_md5}
    assert get_digest(dynamodb, table, digest_key) is None

    synced = run_module(lock_table, args)
    assert synced["changed"] is True, synced
    assert get_digest(dynamodb, table, digest_key) == real_md5
    assert SECRET not in json.dumps(synced) and SECRET not in json.dumps(checked)
    assert run_module(lock_table, args)["changed"] is False


def test_digest_sync_removes_a_digest_whose_state_is_gone(aws_params, dynamodb, s3, table, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    put_digest_item(dynamodb, table, "%s/deleted/terraform.tfstate" % bucket_name, "3" * 32)
    s3.put_object(Bucket=bucket_name, Key="live/terraform.tfstate", Body=state_body(1))
    put_digest_item(dynamodb, table, "%s/live/terraform.tfstate" % bucket_name, "4" * 32)
    synced = run_module(lock_table, dict(aws_params, name=table, bucket=bucket_name, digest="sync"))
    assert synced["changed"] is True, synced
    assert get_digest(dynamodb, table, "%s/deleted/terraform.tfstate-md5" % bucket_name) is None
    assert get_digest(dynamodb, table, "%s/live/terraform.tfstate-md5" % bucket_name) == hashlib.md5(
        state_body(1)).hexdigest()


def test_digest_absent_removes_only_the_selected_digests(aws_params, dynamodb, table, bucket_name):
    prod = "%s/prod/terraform.tfstate" % bucket_name
    staging = "%s/env:/staging/prod/terraform.tfstate" % bucket_name
    for path in (prod, staging, "other-bucket/prod/terraform.tfstate"):
        put_digest_item(dynamodb, table, path, "5" * 32)
    lock_held = put_lock_item(dynamodb, table, prod)

    named = dict(aws_params, name=table, bucket=bucket_name, key="prod/terraform.tfstate",
                 workspaces=["staging"], digest="absent")
    checked = run_module(lock_table, named, check_mode=True, diff=True)
    assert checked["changed"] is True and checked["diff"]["after"]["digests"] == {staging + "-md5": None}
    assert get_digest(dynamodb, table, staging + "-md5") == "5" * 32

    assert run_module(lock_table, named)["changed"] is True
    assert get_digest(dynamodb, table, staging + "-md5") is None
    assert get_digest(dynamodb, table, prod + "-md5") == "5" * 32
    assert run_module(lock_table, named)["changed"] is False

    whole_bucket = dict(aws_params, name=table, bucket=bucket_name, digest="absent")
    assert run_module(lock_table, whole_bucket)["changed"] is True
    assert get_digest(dynamodb, table, prod + "-md5") is None
    assert get_digest(dynamodb, table, "other-bucket/prod/terraform.tfstate-md5") == "5" * 32
    item = dynamodb.get_item(TableName=table, Key={"LockID": {"S": prod}})["Item"]
    assert lock_held in item["Info"]["S"]  # the lock item is not a digest: untouched


def test_delete_refused_while_a_lock_item_exists(aws_params, dynamodb, table, bucket_name):
    held_id = put_lock_item(dynamodb, table, "%s/prod/terraform.tfstate" % bucket_name)
    refused = run_module(lock_table, dict(aws_params, name=table, state="absent"))
    assert refused.get("failed") is True
    assert held_id in refused["msg"] and refused["blockers"][0]["id"] == held_id
    assert table in table_names(dynamodb)


def test_delete_refused_for_digests_without_cutover_time(aws_params, dynamodb, table, bucket_name):
    put_digest_item(dynamodb, table, "%s/prod/terraform.tfstate" % bucket_name, "6" * 32)
    refused = run_module(lock_table, dict(aws_params, name=table, state="absent"))
    assert refused.get("failed") is True and "cutover_time" in refused["msg"]
    assert table in table_names(dynamodb)
    bad_time = run_module(lock_table, dict(aws_params, name=table, state="absent", cutover_time="yesterday"))
    assert bad_time.get("failed") is True and "cutover_time" in bad_time["msg"]
    assert table in table_names(dynamodb)


def test_deletion_protection_respected_unless_lifted_and_backup_first(aws_params, dynamodb, table):
    dynamodb.update_table(TableName=table, DeletionProtectionEnabled=True)
    args = dict(aws_params, name=table, state="absent", backup=True, backup_name=table + "-final")

    refused = run_module(lock_table, args)
    assert refused.get("failed") is True and "lift_deletion_protection" in refused["msg"]
    assert table in table_names(dynamodb)

    checked = run_module(lock_table, dict(args, lift_deletion_protection=True), check_mode=True, diff=True)
    assert checked["changed"] is True and checked["diff"]["after"]["table"]["exists"] is False
    assert checked["lock_table"]["exists"] is False and checked["states"] == []
    assert table in table_names(dynamodb)
    assert dynamodb.list_backups(TableName=table)["BackupSummaries"] == []

    deleted = run_module(lock_table, dict(args, lift_deletion_protection=True))
    assert deleted["changed"] is True, deleted
    assert table not in table_names(dynamodb)
    backup = dynamodb.describe_backup(BackupArn=deleted["backup"]["arn"])["BackupDescription"]
    assert backup["BackupDetails"]["BackupName"] == table + "-final"
    assert backup["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert backup["SourceTableDetails"]["TableName"] == table

    assert run_module(lock_table, dict(args, lift_deletion_protection=True))["changed"] is False


def test_delete_judges_digests_of_a_bucket_that_is_gone_as_unused(aws_params, dynamodb, table, bucket_name):
    put_digest_item(dynamodb, table, "%s/app/terraform.tfstate" % bucket_name, "8" * 32)
    args = dict(aws_params, name=table, state="absent", cutover_time="2026-01-01T00:00:00Z")
    checked = run_module(lock_table, args, check_mode=True)
    assert checked["changed"] is True, checked
    assert checked["lock_table"]["exists"] is False and checked["states"] == []
    assert table in table_names(dynamodb)
    assert run_module(lock_table, args)["changed"] is True
    assert table not in table_names(dynamodb)


def test_digest_cannot_be_combined_with_deleting_the_table(aws_params, dynamodb, table, bucket_name):
    refused = run_module(lock_table, dict(aws_params, name=table, state="absent", digest="sync", bucket=bucket_name))
    assert refused.get("failed") is True and "state=absent" in refused["msg"]
    assert table in table_names(dynamodb)


def test_rollback_creates_the_table_and_syncs_digests_in_one_task(aws_params, dynamodb, s3, table_name, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="app/terraform.tfstate", Body=state_body(3))
    digest_key = "%s/app/terraform.tfstate-md5" % bucket_name
    args = dict(aws_params, name=table_name, state="present", digest="sync", bucket=bucket_name,
                key="app/terraform.tfstate")

    checked = run_module(lock_table, args, check_mode=True, diff=True)
    assert checked["changed"] is True, checked
    assert checked["diff"]["after"]["digests"] == {digest_key: hashlib.md5(state_body(3)).hexdigest()}
    assert table_name not in table_names(dynamodb)

    done = run_module(lock_table, args)
    assert done["changed"] is True, done
    assert get_digest(dynamodb, table_name, digest_key) == hashlib.md5(state_body(3)).hexdigest()
    assert [entry["digest"] for entry in done["states"]] == [hashlib.md5(state_body(3)).hexdigest()]
    assert run_module(lock_table, args)["changed"] is False


def test_sync_never_overwrites_a_digest_terraform_wrote_meanwhile(
        aws_params, dynamodb, s3, table, bucket_name, monkeypatch):
    """Race: Terraform writes a new state and digest between our hash and our write."""
    from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import digests

    s3.create_bucket(Bucket=bucket_name)
    key = "app/terraform.tfstate"
    path = "%s/%s" % (bucket_name, key)
    s3.put_object(Bucket=bucket_name, Key=key, Body=state_body(1))
    put_digest_item(dynamodb, table, path, "7" * 32)
    original = digests.md5_of_object
    raced = []

    def md5_then_terraform_writes(*args, **kwargs):
        digest = original(*args, **kwargs)
        if not raced:
            raced.append(True)
            s3.put_object(Bucket=bucket_name, Key=key, Body=state_body(2))
            put_digest_item(dynamodb, table, path, hashlib.md5(state_body(2)).hexdigest())
        return digest

    monkeypatch.setattr(digests, "md5_of_object", md5_then_terraform_writes)
    synced = run_module(lock_table, dict(aws_params, name=table, bucket=bucket_name, keys=[key], digest="sync"))
    assert raced and synced.get("failed") is not True, synced
    assert get_digest(dynamodb, table, path + "-md5") == hashlib.md5(state_body(2)).hexdigest()


def test_info_on_a_missing_table_with_a_bucket_selection(aws_params, table_name, bucket_name):
    info = run_module(lock_table_info, dict(aws_params, name=table_name, bucket=bucket_name, key="app/terraform.tfstate"))
    assert info.get("failed") is not True, info
    assert info["lock_table"]["exists"] is False and info["states"] == []
