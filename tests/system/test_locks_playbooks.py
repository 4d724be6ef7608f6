"""playbooks/locks.yml and playbooks/unlock.yml against moto, with locks left by a killed terraform."""

import datetime
import json
import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.terraform import wait_for

pytestmark = pytest.mark.terraform

LOCKS_PLAYBOOK = os.path.join(ROOT, "playbooks", "locks.yml")
UNLOCK_PLAYBOOK = os.path.join(ROOT, "playbooks", "unlock.yml")
KEY = "team/terraform.tfstate"


def playbook(path, moto_server, extra_vars, check=False):
    extra_vars = dict(extra_vars, tfstate_aws_endpoint_url=moto_server.url, tfstate_aws_region="us-east-1")
    return run_playbook(path, extra_vars, check=check, env={
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "ANSIBLE_SHOW_CUSTOM_STATS": "1"})


def custom_stats(proc):
    """The set_stats data the run published (what AWX stores as artifacts)."""
    line = [text for text in proc.stdout.splitlines() if text.strip().startswith("RUN: ")][-1]
    return json.loads(line.strip()[len("RUN: "):])


def lock_objects(s3, bucket):
    """{lock key: (ETag, lock ID)} as the S3 API shows them."""
    found = {}
    for summary in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        if summary["Key"].endswith(".tflock"):
            body = s3.get_object(Bucket=bucket, Key=summary["Key"])["Body"].read()
            found[summary["Key"]] = (summary["ETag"], json.loads(body)["ID"])
    return found


def lock_items(dynamodb, table):
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return dict((i["LockID"]["S"], json.loads(i["Info"]["S"])["ID"]) for i in items if "Info" in i)


def put_old_lock(s3, bucket, state_key, hours):
    lock = new_lock("%s/%s" % (bucket, state_key), "OperationTypeApply", who="ci@killed-runner",
                    now=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours))
    s3.put_object(Bucket=bucket, Key=state_key + ".tflock", Body=dump_lock(lock).encode(), ContentType="application/json")
    return lock["ID"]


@pytest.fixture()
def killed_dual_apply(tf_root, s3, dynamodb, bucket_name):
    """A dual-mode root whose apply was killed while holding both locks: returns (root, table, lock ID)."""
    s3.create_bucket(Bucket=bucket_name)
    table = bucket_name + "-locks"
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    root = tf_root()
    root.write_backend(bucket=bucket_name, key=KEY, use_lockfile=True, dynamodb_table=table)
    root.init()
    proc = root.start_apply(sleep_seconds=20)
    try:
        wait_for(lambda: lock_items(dynamodb, table), timeout=60, what="terraform's locks")
    finally:
        proc.kill()
        proc.communicate()
    return root, table, lock_items(dynamodb, table)["%s/%s" % (bucket_name, KEY)]


def test_locks_playbook_reports_every_lock_and_fails_on_stale(killed_dual_apply, s3, dynamodb, moto_server, bucket_name):
    root, table, held_id = killed_dual_apply
    stale_id = put_old_lock(s3, bucket_name, "env:/old/" + KEY, hours=5)
    before = lock_objects(s3, bucket_name)
    assert sorted(v[1] for v in before.values()) == sorted([held_id, stale_id])

    # A plain table name: DynamoDB needs the account region (tfstate_aws_region) to reach the table.
    # The backend covers locks the bucket and table searches find too: each lock is reported once.
    backends = [{"settings": {"bucket": bucket_name, "key": KEY, "dynamodb_table": table}},
                {"settings": {"bucket": "${var.bucket}", "key": KEY}, "unresolved_settings": ["bucket"],
                 "file": "/repo/templated/backend.tf", "line": 7}]
    report = playbook(LOCKS_PLAYBOOK, moto_server, {"locks_buckets": [bucket_name], "locks_tables": [table],
                                                    "locks_backends": backends})
    assert report.returncode == 0, report.stdout + report.stderr
    stats = custom_stats(report)["tfstate_locks"]
    assert (stats["count"], stats["stale_count"]) == (3, 1)
    assert [s["file"] for s in stats["skipped_backends"]] == ["/repo/templated/backend.tf"]
    assert sorted(r["workspace"] for r in stats["locks"]) == ["default", "default", "old"]
    assert sorted((r["store"], r["lock_key"] or r["table_key"], r["id"]) for r in stats["locks"]) == sorted(
        [("s3", key, lock_id) for key, (etag, lock_id) in before.items()]
        + [("dynamodb", "%s/%s" % (bucket_name, KEY), held_id)])
    assert [(r["lock_key"], r["id"], r["who"]) for r in stats["stale"]] == [
        ("env:/old/%s.tflock" % KEY, stale_id, "ci@killed-runner")]
    assert "STALE s3 env:/old/%s.tflock" % KEY in report.stdout

    strict = playbook(LOCKS_PLAYBOOK, moto_server, {
        "locks_buckets": [{"bucket": bucket_name, "prefix": "env:/", "region": "us-east-1"}],
        "locks_tables": [{"table": table, "region": "us-east-1"}], "locks_fail_on_stale": True})
    assert strict.returncode != 0 and "1 stale lock(s)" in strict.stdout + strict.stderr
    assert "%s/env:/old/%s" % (bucket_name, KEY) in strict.stdout + strict.stderr
    assert lock_objects(s3, bucket_name) == before  # read-only


def test_unlock_playbook_releases_by_id_in_both_stores(killed_dual_apply, s3, dynamodb, moto_server, bucket_name):
    root, table, held_id = killed_dual_apply
    state = {"bucket": bucket_name, "key": KEY, "dynamodb_table": table}
    before = lock_objects(s3, bucket_name)

    wrong = playbook(UNLOCK_PLAYBOOK, moto_server, {"unlock_states": [state], "unlock_lock_id": "not-" + held_id})
    assert wrong.returncode != 0 and "No lock with ID" in wrong.stdout + wrong.stderr
    kept = custom_stats(wrong)["tfstate_unlock"]["kept"]
    assert sorted((r["store"], r["kept_reason"]) for r in kept) == [
        ("dynamodb", "held under another lock ID"), ("s3", "held under another lock ID")]

    # The killed apply's lock is seconds old: named by its ID it is still kept, and the run says why.
    young = playbook(UNLOCK_PLAYBOOK, moto_server, {"unlock_states": [state], "unlock_lock_id": held_id})
    assert young.returncode != 0, young.stdout
    assert "younger than stale_after" in young.stdout and "release it anyway with force" in young.stdout
    kept = custom_stats(young)["tfstate_unlock"]["kept"]
    assert sorted(r["store"] for r in kept) == ["dynamodb", "s3"] and all(r["id"] == held_id for r in kept)
    assert "s3 %s.tflock ID %s kept: younger than stale_after" % (KEY, held_id) in young.stdout
    assert lock_objects(s3, bucket_name) == before and lock_items(dynamodb, table)

    forced = {"unlock_states": [state], "unlock_lock_id": held_id, "unlock_force": True}
    dry = playbook(UNLOCK_PLAYBOOK, moto_server, forced, check=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert sorted(r["store"] for r in custom_stats(dry)["tfstate_unlock"]["released"]) == ["dynamodb", "s3"]
    assert lock_objects(s3, bucket_name) == before and lock_items(dynamodb, table)

    done = playbook(UNLOCK_PLAYBOOK, moto_server, forced)
    assert done.returncode == 0, done.stdout + done.stderr
    assert lock_objects(s3, bucket_name) == {} and lock_items(dynamodb, table) == {}
    root.plan()


def test_unlock_playbook_releases_only_stale_locks_in_every_workspace(s3, moto_server, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    put_old_lock(s3, bucket_name, "ws/a/" + KEY, hours=3)
    put_old_lock(s3, bucket_name, "ws/b/" + KEY, hours=2)
    fresh_id = put_old_lock(s3, bucket_name, KEY, hours=0)
    other_state_id = put_old_lock(s3, bucket_name, "other/terraform.tfstate", hours=9)
    result = playbook(UNLOCK_PLAYBOOK, moto_server, {
        "unlock_states": [{"bucket": bucket_name, "key": KEY, "workspace_key_prefix": "ws"}], "unlock_stale_after": 3600})
    assert result.returncode == 0, result.stdout + result.stderr
    left = lock_objects(s3, bucket_name)
    assert dict((key, lock_id) for key, (etag, lock_id) in left.items()) == {
        KEY + ".tflock": fresh_id, "other/terraform.tfstate.tflock": other_state_id}
    released = custom_stats(result)["tfstate_unlock"]["released"]
    assert sorted(r["workspace"] for r in released) == ["a", "b"]
    # The young lock is listed with why, not skipped without a word; the other state is not looked at.
    kept = custom_stats(result)["tfstate_unlock"]["kept"]
    assert [(r["lock_key"], r["id"]) for r in kept] == [(KEY + ".tflock", fresh_id)]
    assert kept[0]["kept_reason"].startswith("younger than stale_after (") and "force" not in kept[0]["kept_reason"]
    assert "ID %s kept: younger than stale_after" % fresh_id in result.stdout


def test_unlock_playbook_refuses_force_without_a_lock_id_and_a_request_without_criterion(s3, moto_server, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    old_id = put_old_lock(s3, bucket_name, KEY, hours=5)
    state = {"bucket": bucket_name, "key": KEY}
    for extra, words in (({"unlock_force": True, "unlock_stale_after": 0}, "force needs a lock_id"),
                         ({}, "give lock_id")):
        refused = playbook(UNLOCK_PLAYBOOK, moto_server, dict({"unlock_states": [state]}, **extra))
        assert refused.returncode != 0 and words in refused.stdout, refused.stdout
    assert dict((k, v[1]) for k, v in lock_objects(s3, bucket_name).items()) == {KEY + ".tflock": old_id}
    # An old lock named by its ID goes without force.
    done = playbook(UNLOCK_PLAYBOOK, moto_server, {"unlock_states": [state], "unlock_lock_id": old_id})
    assert done.returncode == 0, done.stdout + done.stderr
    assert lock_objects(s3, bucket_name) == {}
