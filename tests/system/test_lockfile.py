"""lockfile takes a lock real terraform respects, and releases only what it proved it may release."""

import json
import time
import uuid

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import holding as locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock
from ansible_collections.tfstate.s3_backend.plugins.modules import lockfile, lockfile_info, lockfile_probe
from tests.testbed.collection import run_module
from tests.testbed.fault_proxy import FaultProxy
from tests.testbed.terraform import lock_info_shown, wait_for

STATE_KEY = "svc/terraform.tfstate"
LOCK_KEY = STATE_KEY + ".tflock"


def lock_object(s3, bucket, key=LOCK_KEY):
    """(ETag, parsed body) of a lock object as S3 has it, or None."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    return answer["ETag"], json.loads(answer["Body"].read() or b"null")


def run_lockfile(aws_params, bucket, check_mode=False, diff=False, **args):
    return run_module(lockfile, dict(aws_params, bucket=bucket, key=STATE_KEY, **args), check_mode=check_mode, diff=diff)


def run_probe(aws_params, bucket, check_mode=False, **args):
    return run_module(lockfile_probe, dict(aws_params, bucket=bucket, key=STATE_KEY, **args), check_mode=check_mode)


@pytest.fixture()
def lockfile_root(tf_root, s3, bucket_name):
    """An applied root using use_lockfile on a fresh bucket."""
    s3.create_bucket(Bucket=bucket_name)
    root = tf_root()
    root.write_backend(bucket=bucket_name, key=STATE_KEY, use_lockfile=True)
    root.init()
    root.apply()
    return root


def assert_plan_blocked_by(root, lock_id):
    plan = root.plan(check=False)
    assert plan.returncode != 0 and "Error acquiring the state lock" in plan.stderr, plan.stdout + plan.stderr
    shown = lock_info_shown(plan.stderr)
    assert shown["ID"] == lock_id
    return shown


@pytest.mark.terraform
def test_lock_blocks_terraform_with_our_who_and_info_until_released(lockfile_root, s3, aws_params, bucket_name):
    taken = run_lockfile(aws_params, bucket_name, encrypt=True, who="ops@bastion", info="Backend migration OPS-1",
                         diff=True)
    assert taken["changed"] and taken["acquired"] and not taken.get("failed"), taken
    shown = assert_plan_blocked_by(lockfile_root, taken["lock_id"])
    assert (shown["Who"], shown["Info"], shown["Operation"]) == ("ops@bastion", "Backend migration OPS-1", "maintenance")
    assert shown["Path"] == "%s/%s" % (bucket_name, STATE_KEY)
    head = s3.head_object(Bucket=bucket_name, Key=LOCK_KEY)
    assert (head["ContentType"], head["ServerSideEncryption"]) == ("application/json", "AES256")
    assert taken["diff"]["before"] == {} and taken["diff"]["after"]["s3"]["id"] == taken["lock_id"]

    # Rerun with our ID: nothing written (same ETag).
    etag = head["ETag"]
    again = run_lockfile(aws_params, bucket_name, encrypt=True, lock_id=taken["lock_id"])
    assert (again["changed"], again["acquired"], again["lock_id"]) == (False, True, taken["lock_id"])
    assert s3.head_object(Bucket=bucket_name, Key=LOCK_KEY)["ETag"] == etag

    # Someone else: fails naming the bucket, the lock key and the holder; or reports without failing.
    refused = run_lockfile(aws_params, bucket_name, who="other@host")
    assert refused["failed"] and bucket_name in refused["msg"] and LOCK_KEY in refused["msg"]
    assert "ops@bastion" in refused["msg"] and [h["id"] for h in refused["held_by"]] == [taken["lock_id"]]
    polite = run_lockfile(aws_params, bucket_name, fail_if_held=False)
    assert (polite.get("failed"), polite["changed"], polite["acquired"]) == (None, False, False)
    assert polite["held_by"][0]["who"] == "ops@bastion"

    # Check mode says what would go, and deletes nothing.
    would = run_lockfile(aws_params, bucket_name, state="absent", lock_id=taken["lock_id"], check_mode=True)
    assert would["changed"] and [r["id"] for r in would["released"]] == [taken["lock_id"]]
    assert lock_object(s3, bucket_name)[0] == etag

    released = run_lockfile(aws_params, bucket_name, state="absent", lock_id=taken["lock_id"])
    assert released["changed"] and lock_object(s3, bucket_name) is None
    lockfile_root.plan()  # runs now
    assert run_lockfile(aws_params, bucket_name, state="absent", lock_id=taken["lock_id"])["changed"] is False


@pytest.mark.terraform
def test_wrong_id_releases_nothing(lockfile_root, s3, aws_params, bucket_name):
    taken = run_lockfile(aws_params, bucket_name)
    before = lock_object(s3, bucket_name)
    wrong = run_lockfile(aws_params, bucket_name, state="absent", lock_id=str(uuid.uuid4()))
    assert (wrong["changed"], wrong["released"]) == (False, [])
    assert wrong["kept"][0]["kept_reason"] == locks.KEPT_OTHER_ID
    assert lock_object(s3, bucket_name) == before
    assert_plan_blocked_by(lockfile_root, taken["lock_id"])


# In the smoke set: the conditional PutObject and DeleteObject with the oldest botocore allowed.
@pytest.mark.smoke
def test_lock_replaced_between_read_and_delete_is_kept(s3, aws_params, bucket_name, monkeypatch):
    s3.create_bucket(Bucket=bucket_name)
    taken = run_lockfile(aws_params, bucket_name)
    successor = new_lock("%s/%s" % (bucket_name, STATE_KEY), "OperationTypeApply", who="next@runner")
    original_read = locks.read_target_locks

    def read_then_replace(*args, **kwargs):
        found = original_read(*args, **kwargs)
        # Between our read and our delete, the lock is released and taken by another run.
        s3.delete_object(Bucket=bucket_name, Key=LOCK_KEY)
        s3.put_object(Bucket=bucket_name, Key=LOCK_KEY, Body=dump_lock(successor).encode(), IfNoneMatch="*")
        return found

    monkeypatch.setattr(locks, "read_target_locks", read_then_replace)
    result = run_lockfile(aws_params, bucket_name, state="absent", lock_id=taken["lock_id"])
    assert (result["changed"], result["released"]) == (False, [])
    assert result["kept"][0]["kept_reason"] == locks.KEPT_CHANGED
    assert lock_object(s3, bucket_name)[1]["ID"] == successor["ID"]


@pytest.mark.terraform
def test_killed_terraform_lock_is_released_once_stale(lockfile_root, s3, aws_params, bucket_name):
    proc = lockfile_root.start_apply(sleep_seconds=20)
    try:
        wait_for(lambda: lock_object(s3, bucket_name), timeout=60, what="terraform's lock")
    finally:
        proc.kill()  # a CI runner killed mid-apply: terraform never releases its lock
        proc.communicate()
    etag, held = lock_object(s3, bucket_name)

    fresh = run_lockfile(aws_params, bucket_name, state="absent", stale_after=3600)
    assert (fresh["changed"], fresh["kept"][0]["kept_reason"]) == (False, locks.KEPT_NOT_STALE)
    assert lock_object(s3, bucket_name)[0] == etag

    time.sleep(3)
    reported = run_module(lockfile_info, dict(aws_params, bucket=bucket_name, stale_after=2))["locks"]
    assert [(r["id"], r["stale"]) for r in reported] == [(held["ID"], True)]
    released = run_lockfile(aws_params, bucket_name, state="absent", stale_after=2)
    assert released["changed"] and [r["id"] for r in released["released"]] == [held["ID"]]
    assert lock_object(s3, bucket_name) is None
    lockfile_root.plan()


@pytest.mark.terraform
def test_corrupt_lock_needs_force_and_its_etag(lockfile_root, s3, aws_params, bucket_name):
    etag = s3.put_object(Bucket=bucket_name, Key=LOCK_KEY, Body=b"")["ETag"]
    assert lockfile_root.plan(check=False).returncode != 0  # terraform cannot lock either

    by_age = run_lockfile(aws_params, bucket_name, state="absent", stale_after=0)
    assert by_age["kept"][0]["kept_reason"] == locks.KEPT_CORRUPT
    wrong_etag = run_lockfile(aws_params, bucket_name, state="absent", force=True, etag='"0123"')
    assert wrong_etag["changed"] is False and lock_object(s3, bucket_name) is not None
    forced = run_lockfile(aws_params, bucket_name, state="absent", force=True, etag=etag.strip('"'))
    assert forced["changed"] and forced["released"][0]["corrupt"] is True
    assert lock_object(s3, bucket_name) is None
    lockfile_root.plan()


def test_kms_key_encrypts_the_lock_object(s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    assert run_lockfile(aws_params, bucket_name, encrypt=True, kms_key_id=key_arn)["changed"]
    head = s3.head_object(Bucket=bucket_name, Key=LOCK_KEY)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)


def test_check_mode_takes_nothing_and_absent_needs_a_criterion(s3, aws_params, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    would = run_lockfile(aws_params, bucket_name, check_mode=True)
    assert would["changed"] and would["acquired"] and lock_object(s3, bucket_name) is None
    vague = run_lockfile(aws_params, bucket_name, state="absent")
    assert vague["failed"] and "lock_id, stale_after or force" in vague["msg"]


PROBE_KEY = STATE_KEY + locks.PROBE_SUFFIX + ".tflock"


def probe_versions(s3, bucket):
    """Every version and delete marker S3 holds for the probe object's key."""
    answer = s3.list_object_versions(Bucket=bucket, Prefix=PROBE_KEY)
    return answer.get("Versions", []), answer.get("DeleteMarkers", [])


def test_probe_proves_conditional_writes_and_leaves_nothing_behind(state_bucket, s3, aws_params):
    # A probe object an interrupted run left behind does not stop the next probe.
    s3.put_object(Bucket=state_bucket, Key=PROBE_KEY, Body=b"{}")

    checked = run_probe(aws_params, state_bucket, check_mode=True)
    assert checked["changed"] is False and checked["conditional_writes"] is None
    assert len(probe_versions(s3, state_bucket)[0]) == 1, "check mode wrote a probe"

    result = run_probe(aws_params, state_bucket, encrypt=True)
    assert not result.get("failed"), result
    assert result["changed"] is False and result["conditional_writes"] is True
    versions, markers = probe_versions(s3, state_bucket)
    # The leftover, then one accepted write (with the backend's encryption); the second write was refused.
    assert len(versions) == 2 and markers, (versions, markers)
    encryption = [s3.head_object(Bucket=state_bucket, Key=PROBE_KEY, VersionId=v["VersionId"]).get("ServerSideEncryption")
                  for v in versions]
    assert sorted(encryption, key=str) == ["AES256", None], encryption
    assert "Contents" not in s3.list_objects_v2(Bucket=state_bucket), "something is left in the bucket"


def test_probe_fails_on_a_store_that_ignores_conditional_writes(state_bucket, s3, aws_params, monkeypatch):
    """A store without conditional writes (If-None-Match dropped before the request is built) fails the probe."""
    from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsConnection

    real_client = AwsConnection.client

    def ignoring_conditions(self, service, region=None):
        client = real_client(self, service, region)
        client.meta.events.register("before-parameter-build.s3.PutObject",
                                    lambda params, **kwargs: params.pop("IfNoneMatch", None))
        return client

    monkeypatch.setattr(AwsConnection, "client", ignoring_conditions)
    result = run_probe(aws_params, state_bucket)
    assert result.get("failed") and result["conditional_writes"] is False, result
    assert state_bucket in result["msg"] and "does not honour conditional writes" in result["msg"]
    versions, _markers = probe_versions(s3, state_bucket)
    assert len(versions) == 2, "the store should have accepted both writes"
    assert "Contents" not in s3.list_objects_v2(Bucket=state_bucket), "the probe object was left behind"


def _probe_put(head):
    """The request head of a PutObject of the probe object (not its read back, not a delete)."""
    return head.startswith("PUT ") and locks.PROBE_SUFFIX in head.split(" ")[1]


def test_probe_survives_a_lost_answer_to_its_first_write(state_bucket, s3, aws_params, moto_server):
    """The first conditional PutObject lands but its answer is lost: the SDK's retry gets 412, and the
    probe recognises its own object instead of stopping the root."""
    with FaultProxy(("127.0.0.1", moto_server.port)) as proxy:
        proxy.lose_answer_to(_probe_put)
        result = run_probe(dict(aws_params, endpoint_url=proxy.url), state_bucket)
        probe_puts = [head for head in proxy.heads if _probe_put(head)]
    # The fault happened: one answer lost, and the SDK resent that PutObject before the second write.
    assert len(proxy.lost) == 1 and len(probe_puts) == 3, (proxy.lost, probe_puts)
    assert not result.get("failed"), result
    assert result["conditional_writes"] is True
    # Through S3: exactly one write landed (the lost one), the retry and the second write were refused,
    # and the probe object is gone.
    versions, markers = probe_versions(s3, state_bucket)
    assert len(versions) == 1 and markers, (versions, markers)
    assert "Contents" not in s3.list_objects_v2(Bucket=state_bucket), "the probe object was left behind"


def test_probe_still_stops_on_a_probe_object_that_is_not_its_own(state_bucket, s3, aws_params, monkeypatch):
    """The read back is what tells: an object with another body, appearing between the cleanup and the
    first write, is contention, and the probe stops naming it."""
    real_put = locks.put_s3_lock

    def racing_put(client, target, body):
        if not racing_put.done:
            racing_put.done = True
            s3.put_object(Bucket=state_bucket, Key=target.lock_key, Body=b'{"ID": "someone-else"}')
        return real_put(client, target, body)
    racing_put.done = False
    monkeypatch.setattr(locks, "put_s3_lock", racing_put)
    result = run_probe(aws_params, state_bucket)
    assert result.get("failed") and result["aws_error_code"] == "ProbeContention", result
    assert PROBE_KEY in result["msg"]
