"""state_bucket against a moto server, every effect read back through the S3 API."""

import json

import boto3
import botocore.client
import pytest
from botocore.config import Config

from ansible_collections.tfstate.s3_backend.plugins.modules import state_bucket
from tests.testbed.collection import run_module

HARDENED = dict(
    versioning=True,
    encryption="AES256",
    public_access_block={},
    require_tls=True,
    noncurrent_version_expiration_days=30,
    tags={"owner": "platform"},
)


@pytest.fixture()
def api_calls(monkeypatch):
    """Every AWS operation name sent by any boto3 client in this process, in order."""
    seen = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        seen.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return seen


def write_calls(operations):
    return [op for op in operations if not op.startswith(("Get", "Head", "List"))]


def bucket_names(s3):
    return sorted(b["Name"] for b in s3.list_buckets().get("Buckets", []))


@pytest.mark.smoke
def test_check_mode_then_create_then_idempotent(aws_params, s3, bucket_name, api_calls):
    args = dict(aws_params, name=bucket_name, **HARDENED)

    checked = run_module(state_bucket, args, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert bucket_name not in bucket_names(s3)
    assert write_calls(api_calls) == []

    created = run_module(state_bucket, args, diff=True)
    assert created["changed"] is True, created
    assert created["diff"]["before"] == {}

    assert s3.get_bucket_versioning(Bucket=bucket_name)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket_name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    pab = s3.get_public_access_block(Bucket=bucket_name)["PublicAccessBlockConfiguration"]
    assert all(pab[key] for key in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket_name)["Policy"])
    [tls] = policy["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket_name)["Rules"]
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert s3.get_bucket_tagging(Bucket=bucket_name)["TagSet"] == [{"Key": "owner", "Value": "platform"}]

    del api_calls[:]
    again = run_module(state_bucket, args)
    assert again["changed"] is False, again
    assert again["changes"] == []
    assert api_calls, "the second run read nothing"
    assert write_calls(api_calls) == []


def test_tls_statement_merges_with_other_statements(aws_params, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    theirs = {
        "Sid": "AllowAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::%s/*" % bucket_name,
    }
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [theirs]}))

    result = run_module(state_bucket, dict(aws_params, name=bucket_name, require_tls=True))
    assert result["changed"] is True
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket_name)["Policy"])["Statement"]
    assert [stmt["Sid"] for stmt in statements] == ["AllowAuditRead", "DenyInsecureTransport"]
    assert statements[0] == theirs

    result = run_module(state_bucket, dict(aws_params, name=bucket_name, require_tls=False))
    assert result["changed"] is True
    statements = json.loads(s3.get_bucket_policy(Bucket=bucket_name)["Policy"])["Statement"]
    assert statements == [theirs]


def test_unset_options_are_left_unmanaged(aws_params, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_tagging(Bucket=bucket_name, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, versioning=True))
    assert result["changes"] == ["versioning"]
    assert s3.get_bucket_tagging(Bucket=bucket_name)["TagSet"] == [{"Key": "team", "Value": "x"}]
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_encryption(Bucket=bucket_name)


def test_kms_encryption_is_read_back(aws_params, s3, bucket_name):
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    args = dict(aws_params, name=bucket_name, encryption="aws:kms", kms_key_id=key, bucket_key_enabled=True)
    result = run_module(state_bucket, args)
    assert result["changed"] is True
    rule = s3.get_bucket_encryption(Bucket=bucket_name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert rule["BucketKeyEnabled"] is True
    assert run_module(state_bucket, args)["changed"] is False


def test_object_lock_at_creation_and_refusal_to_turn_it_off(aws_params, s3, bucket_name):
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, object_lock_enabled=True))
    assert result["changed"] is True
    config = s3.get_object_lock_configuration(Bucket=bucket_name)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"

    refused = run_module(state_bucket, dict(aws_params, name=bucket_name, object_lock_enabled=False, versioning=True))
    assert refused["failed"] is True
    assert "can never be turned off" in refused["msg"] and bucket_name in refused["msg"]
    assert s3.get_object_lock_configuration(Bucket=bucket_name)["ObjectLockConfiguration"] == config


def test_access_logging(aws_params, s3, bucket_name):
    target = bucket_name + "-logs"
    s3.create_bucket(Bucket=target)
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::%s/*" % target}]}))
    args = dict(aws_params, name=bucket_name, access_logging={"target_bucket": target, "target_prefix": "state/"})
    assert run_module(state_bucket, args)["changed"] is True
    enabled = s3.get_bucket_logging(Bucket=bucket_name)["LoggingEnabled"]
    assert enabled == {"TargetBucket": target, "TargetPrefix": "state/"}
    assert run_module(state_bucket, args)["changed"] is False
    assert run_module(state_bucket, dict(aws_params, name=bucket_name, access_logging={"enabled": False}))["changed"]
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket_name)


@pytest.mark.parametrize("name", ["Bad_Name", "ab", "192.168.1.1", "my..bucket", "-leading"])
def test_invalid_bucket_name_fails_before_any_call(aws_params, s3, name, api_calls):
    before = bucket_names(s3)
    del api_calls[:]
    result = run_module(state_bucket, dict(aws_params, name=name, versioning=True))
    assert result["failed"] is True
    assert "Invalid bucket name %r" % name in result["msg"]
    assert api_calls == []
    assert bucket_names(s3) == before


def test_existing_bucket_in_another_region_is_refused(aws_params, moto_server, s3, bucket_name):
    eu = boto3.client("s3", endpoint_url=moto_server.url, region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
    eu.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, **HARDENED))
    assert result["failed"] is True
    assert "already exists in region eu-west-1, not in us-east-1" in result["msg"]
    assert s3.get_bucket_versioning(Bucket=bucket_name).get("Status") is None
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_policy(Bucket=bucket_name)


def test_kms_key_without_kms_encryption_is_refused(aws_params, s3, bucket_name):
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, encryption="AES256", kms_key_id="alias/x"))
    assert result["failed"] is True
    assert "encryption=aws:kms" in result["msg"] and bucket_name in result["msg"]
    assert bucket_name not in bucket_names(s3)


def test_missing_logging_target_changes_nothing(aws_params, s3, bucket_name):
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, versioning=True,
                                           access_logging={"target_bucket": bucket_name + "-nope"}))
    assert result["failed"] is True
    assert bucket_name + "-nope does not exist" in result["msg"]
    assert bucket_name not in bucket_names(s3)


def test_absent_refuses_non_empty_bucket_unless_forced(aws_params, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket_name, Key="app/terraform.tfstate", Body=b"{}")
    s3.delete_object(Bucket=bucket_name, Key="app/terraform.tfstate")  # only a version and a delete marker remain

    refused = run_module(state_bucket, dict(aws_params, name=bucket_name, state="absent"))
    assert refused["failed"] is True and "is not empty" in refused["msg"]
    assert bucket_name in bucket_names(s3)

    checked = run_module(state_bucket, dict(aws_params, name=bucket_name, state="absent", force=True), check_mode=True)
    assert checked["changed"] is True
    assert bucket_name in bucket_names(s3)

    deleted = run_module(state_bucket, dict(aws_params, name=bucket_name, state="absent", force=True))
    assert deleted["changed"] is True
    assert bucket_name not in bucket_names(s3)
    assert run_module(state_bucket, dict(aws_params, name=bucket_name, state="absent"))["changed"] is False


def test_amazon_aws_option_names_are_aliases(aws_params, s3, bucket_name):
    """encryption_key_id and public_access (amazon.aws.s3_bucket's names) set what kms_key_id and public_access_block do."""
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    # A partial public_access: the settings left out are true here (false in amazon.aws.s3_bucket).
    aliased = dict(aws_params, name=bucket_name, encryption="aws:kms", encryption_key_id=key,
                   public_access={"block_public_policy": False})
    assert run_module(state_bucket, aliased)["changed"] is True
    rule = s3.get_bucket_encryption(Bucket=bucket_name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert s3.get_public_access_block(Bucket=bucket_name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": True}

    # The same values under this module's names are the same settings: nothing to change.
    canonical = dict(aws_params, name=bucket_name, encryption="aws:kms", kms_key_id=key,
                     public_access_block={"block_public_policy": False})
    assert run_module(state_bucket, canonical)["changed"] is False


def _logging_to(target, prefix="logs/"):
    return {"target_bucket": target, "target_prefix": prefix}


def test_log_target_without_log_delivery_permission_is_explained(aws_params, s3, bucket_name, api_calls):
    """S3 (here moto) answers InvalidTargetBucketForLogging: the error says what a log target needs."""
    target = bucket_name + "-logs"
    s3.create_bucket(Bucket=target)  # no bucket policy for logging.s3.amazonaws.com, no ACL grant
    s3.create_bucket(Bucket=bucket_name)
    args = dict(aws_params, name=bucket_name, versioning=True, access_logging=_logging_to(target))
    result = run_module(state_bucket, args)

    assert result["failed"] is True
    assert "PutBucketLogging" in api_calls  # S3 itself refused the target
    assert result["aws_error_code"] == "InvalidTargetBucketForLogging"
    message = result["msg"]
    assert "S3 refused bucket %s as the access log target of bucket %s" % (target, bucket_name) in message
    for prerequisite in ("same region and account", "logging.s3.amazonaws.com", "s3:PutObject",
                         "arn:aws:s3:::%s/*" % target, "bucket owner enforced", "Log Delivery group",
                         "SSE-S3", "Object Lock", "Requester Pays"):
        assert prerequisite in message, prerequisite
    # What was written before the refusal is named, and read back through S3.
    assert "the settings written before it stay: versioning" in message
    assert s3.get_bucket_versioning(Bucket=bucket_name)["Status"] == "Enabled"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket_name)


def test_log_target_in_another_region_changes_nothing(aws_params, moto_server, s3, bucket_name, api_calls):
    target = bucket_name + "-logs"
    eu = boto3.client("s3", endpoint_url=moto_server.url, region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
    eu.create_bucket(Bucket=target, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    del api_calls[:]
    result = run_module(state_bucket, dict(aws_params, name=bucket_name, versioning=True,
                                           access_logging=_logging_to(target)))
    assert result["failed"] is True
    assert "%s is in region eu-west-1, bucket %s in us-east-1" % (target, bucket_name) in result["msg"]
    assert "logging.s3.amazonaws.com" in result["msg"]
    assert write_calls(api_calls) == []
    assert bucket_name not in bucket_names(s3)
