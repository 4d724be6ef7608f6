"""The ledger in S3: written and read back through moto, paginated, and never seen by terraform."""

import datetime
import json

from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store

T0 = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def entry(stage, bucket, key, days=0, **extra):
    return ledger.new_entry(stage, T0 + datetime.timedelta(days=days), bucket, key, table="locks", environ={},
                            **extra)


def test_read_ledger_pages_through_every_entry_and_names_a_bad_object(s3, state_bucket):
    for number in range(5):
        ledger_store.write_entry(s3, entry("dual", state_bucket, "root%d/terraform.tfstate" % number, host="r%d" % number))
    ledger_store.write_entry(s3, entry("lockfile", state_bucket, "root0/terraform.tfstate", days=8, host="r0"))
    # Not entries: a stranger's object under the prefix is skipped, a broken entry is a problem.
    s3.put_object(Bucket=state_bucket, Key=ledger.LEDGER_PREFIX + "README", Body=b"x")
    s3.put_object(Bucket=state_bucket, Key=ledger.entry_key("broken/terraform.tfstate", "dual"), Body=b"{")
    s3.put_object(Bucket=state_bucket, Key="root0/terraform.tfstate", Body=b"{}")
    listings = []
    s3.meta.events.register("before-call.s3.ListObjectsV2", lambda **kwargs: listings.append(1))
    entries, problems = ledger_store.read_ledger(s3, state_bucket, page_size=2)
    assert len(listings) == 4  # 8 objects under the prefix, 2 a page
    view = ledger.fleet_view(entries, problems)
    assert [(row["host"], row["stage"]) for row in view["roots"]] == [
        ("r0", "lockfile"), ("r1", "dual"), ("r2", "dual"), ("r3", "dual"), ("r4", "dual")]
    broken = ledger.entry_key("broken/terraform.tfstate", "dual")
    assert problems == ["s3://%s/%s is not a ledger entry (JSON): Expecting property name enclosed in double quotes: "
                        "line 1 column 2 (char 1)" % (state_bucket, broken)]


def test_record_stage_writes_only_news(s3, state_bucket):
    key = "app/terraform.tfstate"
    assert ledger_store.record_stage(s3, entry("dual", state_bucket, key)) == ledger.entry_key(key, "dual")
    first = s3.head_object(Bucket=state_bucket, Key=ledger.entry_key(key, "dual"))["ETag"]
    assert ledger_store.record_stage(s3, entry("dual", state_bucket, key, days=1)) is None
    assert s3.head_object(Bucket=state_bucket, Key=ledger.entry_key(key, "dual"))["ETag"] == first
    ledger_store.record_stage(s3, entry("lockfile", state_bucket, key, days=8))
    written = ledger_store.read_root_entries(s3, state_bucket, key)
    assert [(item["stage"], item["from_stage"]) for item in written] == [("dual", "dynamodb"), ("lockfile", "dual")]


def test_terraform_never_sees_the_ledger_as_a_workspace(s3, state_bucket, tf_root):
    # The default prefix (env:), and a prefix equal to the ledger's folder: neither lists a ledger object.
    plain = tf_root("plain")
    plain.write_backend(bucket=state_bucket, key="app/terraform.tfstate", use_lockfile=True)
    odd = tf_root("odd")
    odd.write_backend(bucket=state_bucket, key="terraform.tfstate", use_lockfile=True,
                      workspace_key_prefix=ledger.LEDGER_PREFIX.rstrip("/"))
    for root in (plain, odd):
        root.init()
        root.run("workspace", "new", "staging")
        root.apply(serial="1")
    for key in ("app/terraform.tfstate", "terraform.tfstate", "env:/staging/app/terraform.tfstate"):
        for stage in ledger.OBJECT_NAMES:
            ledger_store.write_entry(s3, entry(stage, state_bucket, key))
    listed = set(item["Key"] for item in s3.list_objects_v2(Bucket=state_bucket)["Contents"])
    assert ledger.entry_key("terraform.tfstate", "dual") in listed
    for root in (plain, odd):
        names = sorted(line.strip(" *") for line in root.run("workspace", "list").stdout.splitlines() if line.strip())
        assert names == ["default", "staging"]


def test_migration_record_puts_a_rollback_in_the_ledger_once(s3, state_bucket, aws_params, monkeypatch):
    from ansible_collections.tfstate.s3_backend.plugins.modules import migration_record
    from tests.testbed.collection import run_module

    key = "app/terraform.tfstate"
    ledger_store.write_entry(s3, entry("lockfile", state_bucket, key, days=8, host="app"))
    monkeypatch.setenv("TFSTATE_NOW", "2026-12-12T00:00:00Z")
    args = dict(aws_params, bucket=state_bucket, key=key, mode="dynamodb", dynamodb_table="locks", ledger=True)
    checked = run_module(migration_record, args, check_mode=True)
    assert checked["changed"] and checked["ledger_key"] == ledger.entry_key(key, "dynamodb")
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=state_bucket, Prefix=ledger.LEDGER_PREFIX)["Contents"]]
    assert listed == [ledger.entry_key(key, "lockfile")]
    assert run_module(migration_record, args)["ledger_key"] == ledger.entry_key(key, "dynamodb")
    written = json.loads(s3.get_object(Bucket=state_bucket, Key=ledger.entry_key(key, "dynamodb"))["Body"].read())
    assert (written["stage"], written["from_stage"], written["time"], written["table"]) == (
        "dynamodb", "lockfile", "2026-12-12T00:00:00Z", "locks")
    again = run_module(migration_record, args)
    assert again["changed"] is False and again["ledger_key"] is None
