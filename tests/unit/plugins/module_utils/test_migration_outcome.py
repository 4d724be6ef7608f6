"""A root's outcome measured from what changed: the phase that failed first, what it left, whom it resumed."""

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import blockers
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as m

MIGRATION = {"run_id": "ctl-2-9", "lock_mode_before": "dynamodb", "initialised_lock_mode_before": "dynamodb",
             "backend": {"file": "/r/backend.tf"}, "freeze": {"lock_id": "L-ours"}, "workspaces": ["default"]}
NOTHING = {"files_rewritten": [], "last_init": None, "lock_held": None}


def test_the_first_failed_phase_wins_over_a_thaw_that_failed_after_it():
    results = {"freeze": {"changed": True}, "rewrite": {"changed": True},
               "reinit": {"failed": True, "msg": "terraform init failed: no answer "},
               "thaw": {"failed": True, "msg": "DeleteObject failed"}}
    assert outcome.first_failure(results) == ("reinit", "terraform init failed: no answer")
    assert outcome.thaw_failure(results, "reinit") == "DeleteObject failed"
    # The thaw alone failed: it is the phase, not a failure beside another.
    alone = {"freeze": {"changed": True}, "locked": {"locked_plan_refused": True}, "thaw": {"failed": True, "msg": "x"}}
    assert outcome.first_failure(alone) == ("thaw", "x") and outcome.thaw_failure(alone, "thaw") is None
    # The plan after the thaw, then the record.
    assert outcome.first_failure({"thaw": {"changed": True}, "planned": {"failed": True, "msg": "plan"}}) == ("verify", "plan")
    assert outcome.first_failure({"record": {"failed": True, "msg": "r"}}) == ("record", "r")
    assert outcome.first_failure({"freeze": {"skipped": True}}) == (None, None)


@pytest.mark.parametrize("frozen, thaw, held", [
    ({}, {}, False),                                                   # no freeze ran
    ({"skipped": True}, {"skipped": True}, False),
    ({"changed": True, "frozen": ["b/k"]}, {"changed": True, "released": [{}]}, False),
    ({"changed": True, "frozen": ["b/k"]}, {"failed": True, "msg": "dark"}, True),
    ({"failed": True, "frozen": [], "msg": "held"}, {"changed": False}, False),  # refused at once, released nothing
    ({"failed": True, "frozen": [], "msg": "held"}, {"failed": True}, True),
    ({"failed": True, "msg": "PutObject failed"}, {"failed": True}, True),       # may have taken a part
    ({"failed": True, "msg": "PutObject failed"}, {"changed": True}, False),
    ({"changed": True, "frozen": ["b/k"], "check_mode": True}, {}, False),
])
def test_the_lock_is_held_until_a_thaw_succeeds(frozen, thaw, held):
    assert outcome.lock_still_held(frozen, thaw) is held


def test_what_was_left_is_measured_from_files_init_and_lock():
    assert outcome.what_was_left(MIGRATION, "dynamodb", "dynamodb", [], False) == NOTHING
    left = outcome.what_was_left(MIGRATION, "lockfile", "dynamodb", ["/r/backend.tf"], True)
    assert left == {"files_rewritten": ["/r/backend.tf"], "last_init": None, "lock_held": "L-ours"}
    assert outcome.left_anything(left) and not outcome.left_anything(NOTHING) and not outcome.left_anything(None)
    left = outcome.what_was_left(MIGRATION, "lockfile", "lockfile", [], False)
    assert left["files_rewritten"] == ["/r/backend.tf (lockfile)"] and left["last_init"] == "lockfile"
    # Files and init another run changed while this run never reached its rewrite or re-init: not left by it.
    assert outcome.what_was_left(MIGRATION, "lockfile", "lockfile", [], False, rewrite_ran=False, reinit_ran=False) == NOTHING
    text = outcome.describe_left(dict(left, lock_held="L-ours"), ["default", "staging"])
    assert text == ("the backend files rewritten (/r/backend.tf (lockfile)); the last terraform init on lockfile; "
                    "the maintenance lock L-ours still held on default, staging")


@pytest.mark.parametrize("phase, left, check_mode, status", [
    ("freeze", NOTHING, False, m.STOPPED),             # refused by a held lock, released again
    ("thaw", dict(NOTHING, lock_held="L"), False, m.FAILED),
    ("freeze", dict(NOTHING, lock_held="L"), False, m.FAILED),  # the thaw after it failed too
    ("reinit", dict(NOTHING, files_rewritten=["f"]), False, m.FAILED),
    ("reinit", NOTHING, False, m.STOPPED),             # nothing at all changed
    ("verify", dict(NOTHING, last_init="lockfile"), False, m.FAILED),
    ("preflight", NOTHING, False, m.STOPPED),
    ("reinit", None, True, m.WOULD_FAIL),              # check mode judges by the phase
    ("freeze", None, True, m.WOULD_STOP),
    ("reinit", None, False, m.FAILED),                 # nothing measured: by the phase, as before
])
def test_a_failure_is_failed_when_it_left_anything_and_stopped_only_when_nothing_changed(
        phase, left, check_mode, status):
    assert outcome.root_status(m.ACTION_REWRITE, phase, check_mode, False, left=left) == status


def test_a_run_that_took_over_an_interrupted_one_is_resumed():
    assert outcome.root_status(m.ACTION_REWRITE, None, False, True, left=NOTHING, resumed=True) == m.RESUMED
    assert outcome.root_status(m.ACTION_INIT, None, True, None, resumed=True) == m.WOULD_RESUME
    assert outcome.root_status(m.ACTION_REWRITE, None, False, True, left=NOTHING) == m.MIGRATED
    assert outcome.root_status(m.ACTION_VERIFY, None, False, True) == m.RESUMED
    # A rollback that took over an interrupted one is resumed too; one that did not is rolled back.
    assert outcome.root_status(m.ACTION_REWRITE, None, False, True, m.DYNAMODB, left=NOTHING, resumed=True) == m.RESUMED
    assert outcome.root_status(m.ACTION_REWRITE, None, False, True, m.DYNAMODB, left=NOTHING) == m.ROLLED_BACK


def test_the_next_step_of_a_half_done_cutover_is_the_rerun():
    assert outcome.failed_next_step(dict(NOTHING, files_rewritten=["f"])) == "rerun: it resumes from the intent it recorded"
    step = outcome.failed_next_step(dict(NOTHING, lock_held="L-ours"))
    assert step.startswith("rerun: it resumes from the intent it recorded and releases maintenance lock L-ours")


def test_resumption_names_the_run_the_lock_it_released_and_why():
    stale = [{"workspace": "default", "store": "s3", "id": "L-dead", "run_id": "ctl-1-5",
              "why": "the maintenance lock of run ctl-1-5, whose process on ctl has ended"},
             {"workspace": "default", "store": "dynamodb", "id": "L-dead", "run_id": "ctl-1-5",
              "why": "the maintenance lock of run ctl-1-5, whose process on ctl has ended"}]
    pending = {"pending": {"target": "lockfile", "run_id": "ctl-1-5", "started": "2026-12-07T10:00:00Z"}}
    resumed = outcome.resumption("ctl-2-9", stale, pending, [{"id": "L-dead"}, {"id": "L-dead"}])
    assert resumed == {"run_id": "ctl-1-5", "lock_ids": ["L-dead"],
                       "why": "the maintenance lock of run ctl-1-5, whose process on ctl has ended",
                       "intent": "a cut-over to lockfile by run ctl-1-5, started 2026-12-07T10:00:00Z"}
    assert outcome.resumed_reason(resumed) == (
        "resumed the cut-over of interrupted run ctl-1-5; released its maintenance lock L-dead (proven stale: the "
        "maintenance lock of run ctl-1-5, whose process on ctl has ended); the migration record held its intent: a "
        "cut-over to lockfile by run ctl-1-5, started 2026-12-07T10:00:00Z")
    assert outcome.resumed_reason(resumed, preview=True).startswith("would resume the cut-over of interrupted run ctl-1-5; "
                                                                    "would release")
    # Only the intent (killed after its thaw), only the lock (killed before its intent), or nothing of another run.
    assert outcome.resumption("ctl-2-9", [], pending)["lock_ids"] == []
    assert outcome.resumption("ctl-2-9", stale, None)["intent"] is None
    assert outcome.resumption("ctl-2-9", [dict(stale[0], run_id="ctl-2-9")], {"pending": {"run_id": "ctl-2-9"}}) is None
    assert outcome.resumption("ctl-2-9", [], {"mode": "dual"}) is None


@pytest.mark.parametrize("constraint, region", [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"),
                                                ("eu-central-1", "eu-central-1")])
def test_location_constraint_names_the_region(constraint, region):
    assert blockers.location_region(constraint) == region


def test_a_backend_naming_another_region_than_its_bucket_stops_naming_the_bucket_and_both_regions():
    backend = {"settings": {"bucket": "acme-state"}, "file": "/r/backend.tf", "line": 2}
    [reason] = blockers.region_blockers(backend, "us-east-1", {"exists": True, "region": "eu-west-1"})
    assert reason.startswith("state bucket acme-state is in region eu-west-1, but the backend at /r/backend.tf:2 names "
                             "region us-east-1")
    assert blockers.region_blockers(backend, "eu-west-1", {"exists": True, "region": "eu-west-1"}) == []
    assert blockers.region_blockers(backend, "us-east-1", {"exists": False, "region": None}) == []


def test_an_object_lock_failure_before_a_failed_thaw_is_the_first_failure():
    results = {"freeze": {"changed": True}, "object_lock": {"failed": True, "msg": "PutObjectLockConfiguration"},
               "rewrite": {"skipped": True}, "thaw": {"failed": True, "msg": "dark"}}
    assert outcome.first_failure(results) == ("object_lock", "PutObjectLockConfiguration")
    assert outcome.thaw_failure(results, "object_lock") == "dark"
