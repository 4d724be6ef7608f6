"""bucket_object_lock against moto, every effect read back through the S3 API (and real terraform)."""

import json

import pytest
from botocore.exceptions import ClientError

from ansible_collections.tfstate.s3_backend.plugins.modules import bucket_object_lock
from tests.testbed.aws import REGION
from tests.testbed.collection import run_module
from tests.testbed.aws import client as client_of
from tests.testbed.terraform import TerraformRoot, wait_for

STATE_KEY = "prod/terraform.tfstate"
# The test bed's provisioner only sleeps on create; replacing on each new serial makes a later
# apply slow too (Terraform merges *override.tf files into the resource).
REPLACE_ON_NEW_SERIAL = 'resource "terraform_data" "probe" {\n  triggers_replace = var.serial\n}\n'


def lock_configuration(s3, bucket):
    """The bucket's Object Lock configuration as S3 returns it, or None when there is none."""
    try:
        return s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ObjectLockConfigurationNotFoundError"
        return None


def versioning_status(s3, bucket):
    return s3.get_bucket_versioning(Bucket=bucket).get("Status")


@pytest.fixture()
def versioned_bucket(s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    return bucket_name


def test_check_mode_changes_nothing_then_converges_then_idempotent(aws_params, s3, versioned_bucket):
    args = dict(aws_params, bucket=versioned_bucket)

    checked = run_module(bucket_object_lock, args, check_mode=True, diff=True)
    assert checked["changed"] is True, checked
    assert checked["diff"]["before"]["object_lock"]["enabled"] is False
    assert checked["diff"]["after"]["object_lock"]["enabled"] is True
    assert lock_configuration(s3, versioned_bucket) is None

    enabled = run_module(bucket_object_lock, args, diff=True)
    assert enabled["changed"] is True, enabled
    assert lock_configuration(s3, versioned_bucket) == {"ObjectLockEnabled": "Enabled"}

    again = run_module(bucket_object_lock, args)
    assert again["changed"] is False, again
    assert again["object_lock"] == {"enabled": True, "default_retention": None}


def test_default_retention_set_changed_and_removed_explicitly(aws_params, s3, versioned_bucket):
    args = dict(aws_params, bucket=versioned_bucket, default_retention={"mode": "GOVERNANCE", "days": 1})
    assert run_module(bucket_object_lock, args)["changed"] is True
    rule = lock_configuration(s3, versioned_bucket)["Rule"]["DefaultRetention"]
    assert (rule["Mode"], rule["Days"]) == ("GOVERNANCE", 1)
    assert run_module(bucket_object_lock, args)["changed"] is False

    # Leaving default_retention unset does not touch it.
    assert run_module(bucket_object_lock, dict(aws_params, bucket=versioned_bucket))["changed"] is False
    assert lock_configuration(s3, versioned_bucket)["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"

    years = dict(args, default_retention={"mode": "GOVERNANCE", "years": 1})
    assert run_module(bucket_object_lock, years)["changed"] is True
    assert lock_configuration(s3, versioned_bucket)["Rule"]["DefaultRetention"]["Years"] == 1

    remove = dict(aws_params, bucket=versioned_bucket, remove_default_retention=True)
    checked = run_module(bucket_object_lock, remove, check_mode=True, diff=True)
    assert checked["changed"] is True
    assert checked["diff"]["after"]["object_lock"]["default_retention"] is None
    assert "Rule" in lock_configuration(s3, versioned_bucket)
    assert run_module(bucket_object_lock, remove)["changed"] is True
    assert lock_configuration(s3, versioned_bucket) == {"ObjectLockEnabled": "Enabled"}
    assert run_module(bucket_object_lock, remove)["changed"] is False


def test_refuses_without_versioning_and_changes_nothing(aws_params, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    refused = run_module(bucket_object_lock, dict(aws_params, bucket=bucket_name))
    assert refused.get("failed") is True
    assert bucket_name in refused["msg"] and "versioning" in refused["msg"] and "enable_versioning" in refused["msg"]
    assert versioning_status(s3, bucket_name) is None
    assert lock_configuration(s3, bucket_name) is None

    enabled = run_module(bucket_object_lock, dict(aws_params, bucket=bucket_name, enable_versioning=True))
    assert enabled["changed"] is True, enabled
    assert versioning_status(s3, bucket_name) == "Enabled"
    assert lock_configuration(s3, bucket_name) == {"ObjectLockEnabled": "Enabled"}


def test_compliance_needs_explicit_opt_in(aws_params, s3, versioned_bucket):
    args = dict(aws_params, bucket=versioned_bucket, default_retention={"mode": "COMPLIANCE", "days": 1})
    refused = run_module(bucket_object_lock, args)
    assert refused.get("failed") is True
    assert "allow_compliance_mode" in refused["msg"]
    assert lock_configuration(s3, versioned_bucket) is None

    allowed = run_module(bucket_object_lock, dict(args, allow_compliance_mode=True))
    assert allowed["changed"] is True, allowed
    assert lock_configuration(s3, versioned_bucket)["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"


def test_turning_object_lock_off_is_refused_with_the_reason(aws_params, s3, versioned_bucket):
    args = dict(aws_params, bucket=versioned_bucket, state="absent")
    assert run_module(bucket_object_lock, args)["changed"] is False  # off already: nothing to do

    run_module(bucket_object_lock, dict(aws_params, bucket=versioned_bucket))
    refused = run_module(bucket_object_lock, args)
    assert refused.get("failed") is True
    assert "cannot turn it off" in refused["msg"]
    assert lock_configuration(s3, versioned_bucket) == {"ObjectLockEnabled": "Enabled"}


def test_missing_bucket_fails_naming_it(aws_params, bucket_name):
    failed = run_module(bucket_object_lock, dict(aws_params, bucket=bucket_name))
    assert failed.get("failed") is True
    assert bucket_name in failed["msg"] and failed["aws_error_code"] == "NoSuchBucket"


# --- Non-empty buckets: AWS allows Object Lock on them, plain moto does not ---------------------


@pytest.fixture()
def faithful_s3(moto_aws_faithful):
    return client_of(moto_aws_faithful, "s3")


@pytest.fixture()
def faithful_params(moto_aws_faithful):
    return {"endpoint_url": moto_aws_faithful.url, "access_key": "testing", "secret_key": "testing",
            "region": REGION}


def test_plain_moto_refuses_non_empty_bucket_and_the_faithful_server_does_not(
        aws_params, s3, faithful_params, faithful_s3, bucket_name):
    """Why the faithful server exists: the same request, a different answer only on moto's quirk."""
    for client in (s3, faithful_s3):
        client.create_bucket(Bucket=bucket_name)
        client.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
        client.put_object(Bucket=bucket_name, Key=STATE_KEY, Body=b"{}")

    on_moto = run_module(bucket_object_lock, dict(aws_params, bucket=bucket_name))
    assert on_moto.get("failed") is True and "Bucket needs to be empty" in on_moto["msg"]

    on_faithful = run_module(bucket_object_lock, dict(faithful_params, bucket=bucket_name))
    assert on_faithful["changed"] is True, on_faithful
    assert lock_configuration(faithful_s3, bucket_name) == {"ObjectLockEnabled": "Enabled"}


def object_exists(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def state_serial(s3, bucket):
    return json.loads(s3.get_object(Bucket=bucket, Key=STATE_KEY)["Body"].read())["serial"]


@pytest.mark.terraform
def test_terraform_keeps_locking_after_object_lock_on_a_bucket_holding_state(
        tmp_path, terraform_bin, moto_aws_faithful, faithful_params, faithful_s3, bucket_name):
    faithful_s3.create_bucket(Bucket=bucket_name)
    faithful_s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    roots = []
    for name in ("ci", "laptop"):
        root = TerraformRoot(tmp_path / name, moto_aws_faithful.url, binary=terraform_bin)
        root.write_main()
        root.write("override.tf", REPLACE_ON_NEW_SERIAL)
        root.write_backend(bucket=bucket_name, key=STATE_KEY, use_lockfile=True)
        roots.append(root)
    ci, laptop = roots
    ci.init()
    ci.apply(serial="1")
    serial_before = state_serial(faithful_s3, bucket_name)

    args = dict(faithful_params, bucket=bucket_name, default_retention={"mode": "GOVERNANCE", "days": 1})
    enabled = run_module(bucket_object_lock, args)
    assert enabled["changed"] is True, enabled
    rule = lock_configuration(faithful_s3, bucket_name)
    assert rule["ObjectLockEnabled"] == "Enabled"
    assert rule["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert run_module(bucket_object_lock, args)["changed"] is False

    laptop.init()
    slow = ci.start_apply(sleep_seconds=15, serial="2")
    try:
        wait_for(lambda: object_exists(faithful_s3, bucket_name, STATE_KEY + ".tflock") or slow.poll() is not None,
                 timeout=60, what="the .tflock object of the running apply")
        assert slow.poll() is None, "the slow apply ended early: %s" % (slow.communicate(),)
        refused = laptop.apply(serial="3", check=False)
        assert refused.returncode != 0
        assert "Error acquiring the state lock" in refused.stderr + refused.stdout
    finally:
        stdout, stderr = slow.communicate(timeout=120)
    assert slow.returncode == 0, stdout + stderr
    assert not object_exists(faithful_s3, bucket_name, STATE_KEY + ".tflock")
    assert state_serial(faithful_s3, bucket_name) > serial_before

    # What the documentation says a default retention does to lock files: every .tflock version
    # is kept under retention (Terraform's release only added a delete marker) and cannot be deleted.
    listing = faithful_s3.list_object_versions(Bucket=bucket_name, Prefix=STATE_KEY + ".tflock")
    lock_versions = listing.get("Versions", [])
    assert lock_versions and listing.get("DeleteMarkers")
    version_id = lock_versions[0]["VersionId"]
    head = faithful_s3.head_object(Bucket=bucket_name, Key=STATE_KEY + ".tflock", VersionId=version_id)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as denied:
        faithful_s3.delete_object(Bucket=bucket_name, Key=STATE_KEY + ".tflock", VersionId=version_id)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
