"""lockfile_info finds the locks real terraform holds, as terraform itself reports them."""

import contextlib
import os
import uuid

import pytest

from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile_info
from tests.testbed.collection import run_module
from tests.testbed.terraform import lock_info_shown, wait_for

pytestmark = pytest.mark.terraform

# The longest an apply holds its lock when the test never releases it (a safety net, not a timing).
HOLD_LIMIT = 300


def object_exists(s3, bucket, key):
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"))


@contextlib.contextmanager
def apply_holding_lock(root, s3, bucket, lock_key):
    """A terraform apply that holds the state lock while the block runs (however long a loaded machine makes it:
    the apply waits for a release file, not a fixed time); it must then finish cleanly and release its lock."""
    release = os.path.join(str(root.path), "release-%s" % uuid.uuid4().hex[:8])
    proc = root.start_apply(sleep_seconds=HOLD_LIMIT, release_file=release)
    try:
        wait_for(lambda: object_exists(s3, bucket, lock_key) or proc.poll() is not None, timeout=120,
                 what="terraform to take the lock %s" % lock_key)
        assert proc.poll() is None, "terraform apply ended before the test saw its lock"
        yield proc
        assert proc.poll() is None, "terraform apply ended before the block was done with its lock"
    finally:
        with open(release, "w"):
            pass
        out, err = proc.communicate(timeout=HOLD_LIMIT + 60)
    assert proc.returncode == 0, out + err
    assert not object_exists(s3, bucket, lock_key), "terraform left its lock behind"


def terraform_lock_view(root):
    """The lock holder as Terraform shows it: a second plan fails with its ``Lock Info:`` block."""
    plan = root.plan(check=False)
    assert plan.returncode != 0, "plan ran although the state is locked"
    assert "Error acquiring the state lock" in plan.stderr
    shown = lock_info_shown(plan.stderr)
    assert shown.get("ID"), plan.stderr
    return shown


def same_instant(terraform_created, lock_created):
    """Terraform shows ``2026-11-27 11:04:08.129901625 +0000 UTC`` for ``2026-11-27T11:04:08.129901625Z``."""
    return terraform_created.replace(" +0000 UTC", "Z").replace(" ", "T") == lock_created


def find(aws_params, **args):
    result = run_module(lockfile_info, dict(aws_params, **args))
    assert not result.get("failed"), result
    return result["locks"]


def test_finds_terraform_apply_lock_as_terraform_shows_it(tf_root, s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    root = tf_root()
    root.write_backend(bucket=bucket_name, key="prod/app/terraform.tfstate", use_lockfile=True)
    root.init()
    root.apply()  # a state object exists next to the lock: it is listed, never reported
    with apply_holding_lock(root, s3, bucket_name, "prod/app/terraform.tfstate.tflock"):
        by_bucket = find(aws_params, bucket=bucket_name)
        by_state = find(aws_params, bucket=bucket_name, key="prod/app/terraform.tfstate", stale_after=3600)
        shown = terraform_lock_view(root)
        head = s3.head_object(Bucket=bucket_name, Key="prod/app/terraform.tfstate.tflock")
    assert len(by_bucket) == 1
    lock = by_bucket[0]
    assert (lock["id"], lock["operation"], lock["who"], lock["version"], lock["path"]) == (
        shown["ID"], shown["Operation"], shown["Who"], shown["Version"], shown["Path"])
    assert same_instant(shown["Created"], lock["created"])
    assert lock["store"] == "s3" and lock["lock_key"] == "prod/app/terraform.tfstate.tflock"
    assert lock["state_path"] == "%s/prod/app/terraform.tfstate" % bucket_name
    assert (lock["etag"], lock["version_id"]) == (head["ETag"], head["VersionId"])
    assert lock["corrupt"] is False and lock["stale"] is False and 0 <= lock["age_seconds"] < 60
    assert [(r["id"], r["workspace"]) for r in by_state] == [(shown["ID"], "default")]
    # Released by terraform itself: nothing is reported any more.
    assert find(aws_params, bucket=bucket_name) == []


def test_workspace_lock_under_default_prefix(tf_root, s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    root = tf_root()
    root.write_backend(bucket=bucket_name, key="net/terraform.tfstate", use_lockfile=True)
    root.init()
    root.run("workspace", "new", "-no-color", "staging")
    lock_key = "env:/staging/net/terraform.tfstate.tflock"
    with apply_holding_lock(root, s3, bucket_name, lock_key):
        every_workspace = find(aws_params, bucket=bucket_name, key="net/terraform.tfstate")
        named = find(aws_params, bucket=bucket_name, key="net/terraform.tfstate", workspaces=["staging"])
        default_only = find(aws_params, bucket=bucket_name, key="net/terraform.tfstate", workspaces=["default"])
        under_prefix = find(aws_params, bucket=bucket_name, prefix="env:/staging/")
        shown = terraform_lock_view(root)
    assert [(r["lock_key"], r["workspace"], r["id"]) for r in every_workspace] == [(lock_key, "staging", shown["ID"])]
    assert [(r["lock_key"], r["id"]) for r in named] == [(lock_key, shown["ID"])]
    assert default_only == []
    assert [r["id"] for r in under_prefix] == [shown["ID"]]
    assert shown["Path"] == "%s/env:/staging/net/terraform.tfstate" % bucket_name == every_workspace[0]["state_path"]


def test_custom_workspace_key_prefix_and_two_concurrent_locks(tf_root, s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    backend = dict(bucket=bucket_name, key="net/terraform.tfstate", use_lockfile=True, workspace_key_prefix="tfws")
    default_root, staging_root = tf_root("default"), tf_root("staging")
    for root in (default_root, staging_root):
        root.write_backend(**backend)
        root.init()
    staging_root.run("workspace", "new", "-no-color", "staging")
    staging_key = "tfws/staging/net/terraform.tfstate.tflock"
    with apply_holding_lock(default_root, s3, bucket_name, "net/terraform.tfstate.tflock"):
        with apply_holding_lock(staging_root, s3, bucket_name, staging_key):
            found = find(aws_params, bucket=bucket_name, key="net/terraform.tfstate", workspace_key_prefix="tfws")
            with_default_prefix = find(aws_params, bucket=bucket_name, key="net/terraform.tfstate")
            shown_default = terraform_lock_view(default_root)
            shown_staging = terraform_lock_view(staging_root)
    by_workspace = dict((r["workspace"], (r["lock_key"], r["id"], r["who"])) for r in found)
    assert by_workspace == {
        "default": ("net/terraform.tfstate.tflock", shown_default["ID"], shown_default["Who"]),
        "staging": (staging_key, shown_staging["ID"], shown_staging["Who"]),
    }
    # Under Terraform's default prefix only the default workspace's key matches.
    assert [r["workspace"] for r in with_default_prefix] == ["default"]


def test_corrupt_and_unread_bodies_are_reported_not_fatal(s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_object(Bucket=bucket_name, Key="a/terraform.tfstate.tflock", Body=b"")
    s3.put_object(Bucket=bucket_name, Key="b/terraform.tfstate.tflock", Body=b"<html>proxy error</html>")
    s3.put_object(Bucket=bucket_name, Key="b/terraform.tfstate", Body=b'{"secret": "never read"}')
    locks = find(aws_params, bucket=bucket_name)
    assert [(r["lock_key"], r["corrupt"], r["reason"]) for r in locks] == [
        ("a/terraform.tfstate.tflock", True, "lock body is empty"),
        ("b/terraform.tfstate.tflock", True, locks[1]["reason"]),
    ]
    assert locks[1]["reason"].startswith("lock body is not JSON")
    assert all(r["age_source"] == "last_modified" and r["id"] is None for r in locks)
    etags = dict((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=bucket_name)["Contents"])
    assert [r["etag"] for r in locks] == [etags[r["lock_key"]] for r in locks]
    unread = find(aws_params, bucket=bucket_name, read_bodies=False)
    assert [(r["lock_key"], r["corrupt"], r["age_source"]) for r in unread] == [
        ("a/terraform.tfstate.tflock", None, "last_modified"), ("b/terraform.tfstate.tflock", None, "last_modified")]


def test_missing_bucket_fails_naming_it(aws_params, bucket_name):
    result = run_module(lockfile_info, dict(aws_params, bucket=bucket_name))
    assert result["failed"] and bucket_name in result["msg"] and result["aws_error_code"] == "NoSuchBucket"
