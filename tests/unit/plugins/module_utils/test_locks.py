import datetime

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import finding
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import holding
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import records as locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import unlocking
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)


def body_created(seconds_ago, lock_id="id-1"):
    lock = new_lock("b/k", "OperationTypeApply", now=NOW - datetime.timedelta(seconds=seconds_ago))
    lock["ID"] = lock_id
    return dump_lock(lock)


# --- which keys a request covers ---------------------------------------------------------------

def test_state_matcher_all_workspaces():
    matcher = finding.StateKeyMatcher.for_state("net/terraform.tfstate")
    assert matcher.prefix == "" and matcher.exact is None
    assert matcher.match("net/terraform.tfstate") == (True, "default")
    assert matcher.match("env:/staging/net/terraform.tfstate") == (True, "staging")
    assert matcher.match("env:/a/b/net/terraform.tfstate") == (False, None)
    assert matcher.match("other/terraform.tfstate") == (False, None)


def test_state_matcher_named_workspaces_and_custom_prefix():
    matcher = finding.StateKeyMatcher.for_state("net/terraform.tfstate", "tfws", ["staging", "prod"])
    assert matcher.exact == {"tfws/staging/net/terraform.tfstate", "tfws/prod/net/terraform.tfstate"}
    assert matcher.prefix == "tfws/"
    assert matcher.match("tfws/prod/net/terraform.tfstate") == (True, "prod")
    assert matcher.match("net/terraform.tfstate") == (False, None)
    assert finding.StateKeyMatcher.for_state("k", "tfws").prefix == ""
    assert finding.StateKeyMatcher.for_state("tfws.tfstate", "tfws").prefix == "tfws"


def test_combined_matchers_use_the_common_prefix():
    combined = finding.combine_matchers([finding.StateKeyMatcher.for_prefix("team-a/x"),
                                         finding.StateKeyMatcher.for_state("team-a/y.tfstate", workspaces=["default"])])
    assert combined.prefix == "team-a/" and combined.exact is None
    assert combined.match("team-a/y.tfstate") == (True, "default")
    assert combined.match("team-a/x1/terraform.tfstate") == (True, None)
    assert combined.match("team-a/z.tfstate") == (False, None)


def test_requests_from_backends_reads_settings_loosely():
    requests, skipped = finding.requests_from_backends([
        {"settings": {"bucket": "b", "key": "k", "dynamodb_table": "", "region": "eu-west-1", "encrypt": True}},
        {"bucket": "c", "key": "k2", "workspace_key_prefix": "ws"},
    ], workspaces=["default"])
    assert skipped == []
    assert [(r["bucket"], r["key"], r["dynamodb_table"], r["region"], r["workspace_key_prefix"], r["workspaces"])
            for r in requests] == [("b", "k", None, "eu-west-1", None, ["default"]), ("c", "k2", None, None, "ws", ["default"])]


def test_partial_configs_complete_a_backend_and_unlocatable_ones_are_skipped():
    requests, skipped = finding.requests_from_backends([
        {"file": "/r/a/backend.tf", "line": 2, "settings": {"key": "a.tfstate"},
         "partial_configs": [{"file": "/r/a/dev.tfbackend", "settings": {"bucket": "dev-b", "dynamodb_table": "t"}},
                             {"file": "/r/a/prod.tfbackend", "settings": {"bucket": "prod-b"}}]},
        {"file": "/r/b/backend.tf", "line": 5, "settings": {"bucket": "${var.bucket}", "key": "b.tfstate"},
         "unresolved_settings": ["bucket"]},
        {"file": "/r/c/backend.tf", "line": 1, "settings": {"bucket": "c"}},
        "not a backend",
    ])
    assert [(r["bucket"], r["key"], r["dynamodb_table"]) for r in requests] == [
        ("dev-b", "a.tfstate", "t"), ("prod-b", "a.tfstate", None)]
    assert skipped == [
        {"index": 1, "file": "/r/b/backend.tf", "line": 5, "reason": "not literal: bucket"},
        {"index": 2, "file": "/r/c/backend.tf", "line": 1, "reason": "no key"},
        {"index": 3, "file": None, "line": None, "reason": "not a dictionary of settings"},
    ]


# --- records and release decisions -------------------------------------------------------------

def test_lock_record_age_and_staleness():
    record = locks.lock_record("s3", "b", "k", body_created(120), stale_after=60, now=NOW)
    assert (record["id"], record["age_seconds"], record["age_source"], record["stale"]) == ("id-1", 120, "created", True)
    assert (record["lock_key"], record["table_key"], record["state_path"]) == ("k.tflock", None, "b/k")
    fresh = locks.lock_record("dynamodb", "b", "k", body_created(10), table="t", stale_after=60, now=NOW)
    # One name per key: the lock item's key in the table is its table_key, never a lock_key.
    assert (fresh["lock_key"], fresh["table_key"], fresh["stale"]) == (None, "b/k", False)


def test_corrupt_record_ages_from_last_modified():
    record = locks.lock_record("s3", "b", "k", b"{", last_modified=NOW - datetime.timedelta(seconds=30),
                               stale_after=10, now=NOW)
    assert record["corrupt"] is True and record["reason"].startswith("lock body is not JSON")
    assert (record["id"], record["age_source"], record["age_seconds"], record["stale"]) == (None, "last_modified", 30, True)


@pytest.mark.parametrize("args, reason", [
    (dict(lock_id="id-1"), None),
    (dict(lock_id="id-2"), holding.KEPT_OTHER_ID),
    (dict(stale_after=60), None),
    (dict(stale_after=600), holding.KEPT_NOT_STALE),
    (dict(lock_id="id-1", stale_after=600), holding.KEPT_NOT_STALE),
    (dict(force=True, etag="e"), holding.KEPT_NO_CRITERION),
    (dict(), holding.KEPT_NO_CRITERION),
])
def test_release_decision_for_readable_locks(args, reason):
    record = locks.lock_record("s3", "b", "k", body_created(120), etag='"e"', now=NOW, stale_after=args.get("stale_after"))
    assert holding.release_decision(record, **args) == reason


@pytest.mark.parametrize("store, args, reason", [
    ("s3", dict(stale_after=0), holding.KEPT_CORRUPT),
    ("s3", dict(force=True), holding.KEPT_CORRUPT),
    ("s3", dict(force=True, etag="other"), holding.KEPT_CORRUPT),
    ("s3", dict(force=True, etag="e"), None),
    ("s3", dict(force=True, etag='"e"'), None),
    ("dynamodb", dict(force=True), None),
    ("dynamodb", dict(lock_id="x"), holding.KEPT_CORRUPT),
])
def test_release_decision_for_corrupt_locks(store, args, reason):
    record = locks.lock_record(store, "b", "k", "", etag='"e"' if store == "s3" else None, now=NOW)
    assert holding.release_decision(record, **args) == reason


def test_lock_without_readable_created_is_never_stale():
    lock = new_lock("b/k", "init")
    lock["Created"] = "yesterday"
    record = locks.lock_record("s3", "b", "k", dump_lock(lock), now=NOW, stale_after=1)
    assert record["stale"] is None and holding.release_decision(record, stale_after=1) == holding.KEPT_NO_AGE


# --- 409 ConditionalRequestConflict ------------------------------------------------------------

def test_conflicts_are_retried_with_backoff_then_given_up(monkeypatch):
    sleeps = []
    monkeypatch.setattr(holding, "_sleep", sleeps.append)
    answers = [AwsError("busy", code=holding.CONFLICT_CODE)] * 2 + ["done"]

    def action():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert holding.retry_conflicts(action) == "done"
    assert sleeps == [holding.CONFLICT_BACKOFF_SECONDS, holding.CONFLICT_BACKOFF_SECONDS * 2]

    calls = []

    def always_busy():
        calls.append(1)
        raise AwsError("busy", code=holding.CONFLICT_CODE)
    with pytest.raises(AwsError):
        holding.retry_conflicts(always_busy)
    assert len(calls) == holding.CONFLICT_ATTEMPTS


def test_other_errors_are_not_retried():
    calls = []

    def denied():
        calls.append(1)
        raise AwsError("no", code="AccessDenied")
    with pytest.raises(AwsError):
        holding.retry_conflicts(denied)
    assert calls == [1]


def test_put_lock_object_retries_a_409_answer(monkeypatch):
    monkeypatch.setattr(holding, "_sleep", lambda seconds: None)
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")  # stubbed
    target = holding.LockTarget("bucket-a", "k", encrypt=True)
    stubber = Stubber(s3)
    stubber.add_client_error("put_object", service_error_code="ConditionalRequestConflict", http_status_code=409)
    expected = {"Bucket": "bucket-a", "Key": "k.tflock", "Body": b"{}", "IfNoneMatch": "*", "ContentType": "application/json",
                "ChecksumAlgorithm": "SHA256", "ServerSideEncryption": "AES256"}
    stubber.add_response("put_object", {"ETag": '"abc"'}, expected)
    with stubber:
        assert holding.put_s3_lock(s3, target, "{}") == '"abc"'
    stubber.assert_no_pending_responses()


# --- unlocking in bulk: the young-lock rule ---------------------------------------------------------

def unlock_record(age, lock_id="id-1", store="s3", corrupt=False, age_source="created"):
    return {"store": store, "id": lock_id, "age_seconds": age, "age_source": age_source, "corrupt": corrupt}


@pytest.mark.parametrize("record, args, reason", [
    (unlock_record(8), dict(lock_id="id-1"), "younger than stale_after (8 s old, stale_after 3600 s)"),
    (unlock_record(8), dict(lock_id="id-1", force=True), None),
    (unlock_record(4000), dict(lock_id="id-1"), None),
    (unlock_record(4000), dict(lock_id="id-2"), holding.KEPT_OTHER_ID),
    (unlock_record(3600), dict(stale_after=3600), "younger than stale_after (3600 s old"),
    (unlock_record(3601), dict(stale_after=3600), None),
    (unlock_record(None, age_source="last_modified"), dict(stale_after=0), holding.KEPT_NO_AGE),
    (unlock_record(None, age_source=None), dict(lock_id="id-1", force=True), None),
    (unlock_record(9000, corrupt=True), dict(stale_after=0), unlocking.KEPT_CORRUPT_UNLOCK),
    (unlock_record(9000, corrupt=True), dict(lock_id="id-1", force=True), unlocking.KEPT_CORRUPT_UNLOCK),
])
def test_unlock_reason(record, args, reason):
    found = unlocking.unlock_reason(record, **args)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason), found


def test_young_lock_reason_says_how_to_force_only_when_named():
    assert unlocking.unlock_reason(unlock_record(8), lock_id="id-1").endswith("release it anyway with force")
    assert "force" not in unlocking.unlock_reason(unlock_record(8), stale_after=60)


def test_plan_unlock_lists_every_kept_lock_with_why():
    records = [unlock_record(8, "young"), unlock_record(9000, "old"), unlock_record(9000, "bad", corrupt=True)]
    to_release, kept = unlocking.plan_unlock(records, stale_after=3600)
    assert [r["id"] for r in to_release] == ["old"]
    assert [(r["id"], r["kept_reason"][:12]) for r in kept] == [("young", "younger than"), ("bad", "corrupt lock")]
    assert "kept_reason" not in records[0], "the input records were changed"


@pytest.mark.parametrize("args, expected", [
    (dict(lock_id="x"), unlocking.DEFAULT_UNLOCK_STALE_AFTER),
    (dict(lock_id="x", stale_after=60), 60),
    (dict(lock_id="x", force=True), unlocking.DEFAULT_UNLOCK_STALE_AFTER),
    (dict(stale_after=0), 0),
])
def test_unlock_criteria(args, expected):
    assert unlocking.unlock_criteria(**args) == expected


@pytest.mark.parametrize("args, words", [
    (dict(), "give lock_id"), (dict(stale_after=60, force=True), "force needs a lock_id"),
    (dict(lock_id="x", stale_after=-1), "0 or more"),
])
def test_unlock_criteria_refusals(args, words):
    with pytest.raises(unlocking.UnlockRequestError) as refused:
        unlocking.unlock_criteria(**args)
    assert words in str(refused.value)


def test_lock_id_not_released():
    kept = dict(unlock_record(8), kept_reason="younger than stale_after (8 s old, stale_after 3600 s)")
    assert unlocking.lock_id_not_released({"released": [], "kept": [kept, dict(kept, store="dynamodb")]}, "id-1") == (
        "The lock with ID id-1 was kept: younger than stale_after (8 s old, stale_after 3600 s).")
    assert "No lock with ID id-2" in unlocking.lock_id_not_released({"released": [], "kept": [kept]}, "id-2")
    assert unlocking.lock_id_not_released({"released": [unlock_record(8)], "kept": []}, "id-1") is None
    assert unlocking.lock_id_not_released({"released": [], "kept": []}, None) is None
