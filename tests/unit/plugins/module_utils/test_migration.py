"""The migration's decisions: maintenance-lock ownership, preflight blockers, actions, statuses, next steps."""

import datetime
import os
import socket

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import blockers
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as m

NOW = datetime.datetime(2026, 11, 29, 20, 0, 0, tzinfo=datetime.timezone.utc)


def backend(lock_mode="dynamodb", initialised=None, table="locks", admits=None):
    return {
        "file": "/r/backend.tf", "line": 2, "lock_mode": lock_mode, "initialised_lock_mode": initialised,
        "initialised": {"dynamodb_table": table} if initialised else None,
        "settings": {"bucket": "state", "key": "app/terraform.tfstate", "dynamodb_table": table},
        "required_version": ">= 1.5", "admits_use_lockfile": admits,
    }


TERRAFORM = {"binary": "terraform", "product": "terraform", "version": "1.11.4", "supports_use_lockfile": True}
BUCKET = {"exists": True, "versioning": "Enabled"}


def identity(run_id="run-a", controller="ctl", pid=1, pid_start="42"):
    return {"run_id": run_id, "controller": controller, "pid": pid, "pid_start": pid_start}


def test_run_identity_is_the_same_in_every_worker_of_a_run():
    first = runs.run_identity(controller_pid=1, environ={})
    again = runs.run_identity(controller_pid=1, environ={})
    assert first["run_id"] == again["run_id"] and first["started"] == again["started"]
    assert first["started"].endswith("Z")
    job = runs.run_identity(controller_pid=1, environ={"JOB_ID": "77"})
    assert job["run_id"].startswith("awx-job-77-") and job["job_id"] == "77"


def test_freeze_info_round_trips_and_ids_are_stable():
    info = runs.freeze_info(identity(), NOW, 3600)
    parsed = runs.parse_freeze_info(info)
    assert parsed["run_id"] == "run-a" and parsed["controller"] == "ctl"
    assert parsed["lease_until"] == NOW + datetime.timedelta(hours=1)
    assert runs.parse_freeze_info("terraform apply") is None
    assert runs.freeze_lock_id("run-a", "app") == runs.freeze_lock_id("run-a", "app") != runs.freeze_lock_id("run-b", "app")


def lock(info, age=10):
    return {"info": info, "state_path": "state/app/terraform.tfstate", "store": "s3", "who": "x@y", "id": "ID-1",
            "operation": "OperationTypeApply", "created": "2026-11-29T19:59:50Z", "age_seconds": age}


def test_a_lock_of_another_live_run_is_never_ours_to_release():
    other = runs.freeze_info(identity(run_id="run-b", controller="elsewhere"), NOW, 3600)
    kind, why = runs.classify_lock(lock(other), "run-a", NOW + datetime.timedelta(minutes=5))
    assert kind == "live_freeze" and "run-b" in why and "elsewhere" in why


def test_a_maintenance_lock_past_its_lease_is_proven_stale():
    other = runs.freeze_info(identity(run_id="run-b", controller="elsewhere"), NOW, 60)
    kind, dummy = runs.classify_lock(lock(other), "run-a", NOW + datetime.timedelta(minutes=5))
    assert kind == "stale_freeze"


def unused_pid():
    """A process ID no process has now (the highest free one below pid_max)."""
    with open("/proc/sys/kernel/pid_max") as handle:
        top = int(handle.read())
    return next(pid for pid in range(top - 1, 1, -1) if not os.path.exists("/proc/%d" % pid))


def test_a_maintenance_lock_of_a_dead_process_on_this_controller_is_stale():
    dead = runs.freeze_info(identity(run_id="run-b", controller=socket.gethostname(), pid=unused_pid()), NOW, 3600)
    assert runs.classify_lock(lock(dead), "run-a", NOW)[0] == "stale_freeze"
    reused = runs.freeze_info(identity(run_id="run-b", controller=socket.gethostname(), pid=os.getpid(),
                                       pid_start="1"), NOW, 3600)  # the ID now belongs to another process
    assert runs.classify_lock(lock(reused), "run-a", NOW)[0] == "stale_freeze"
    alive = runs.freeze_info(identity(run_id="run-b", controller=socket.gethostname(), pid=1,
                                      pid_start=runs._process_start(1)), NOW, 3600)
    assert runs.classify_lock(lock(alive), "run-a", NOW)[0] == "live_freeze"


def test_own_and_foreign_locks():
    assert runs.classify_lock(lock(runs.freeze_info(identity(), NOW, 3600)), "run-a", NOW)[0] == "ours"
    kind, why = runs.classify_lock(lock("", age=3), "run-a", NOW)
    assert kind == "held" and "x@y" in why and "ID-1" in why
    # The text a maintenance lock of an unreleased earlier design carried is nobody's run: held, never released.
    assert runs.classify_lock(lock("Backend migration to S3 native locking by tfstate.s3_backend.migrate"),
                              "run-a", NOW)[0] == "held"


@pytest.mark.parametrize("changes, expected", [
    ({}, []),
    ({"terraform": dict(TERRAFORM, supports_use_lockfile=False, version="1.9.0")}, ["does not support use_lockfile"]),
    ({"backend": backend(admits={"terraform": False})}, ["required_version"]),
    ({"backend": backend(lock_mode="lockfile"), "target": "dual"}, ["dual keeps a dynamodb_table"]),
    ({"bucket": {"exists": False}}, ["does not exist"]),
    ({"bucket": {"exists": True, "versioning": "Suspended"}}, ["versioning is not enabled"]),
    ({"bucket": {"exists": True, "versioning": None}, "enable_versioning": True}, []),
])
def test_preflight_blockers(changes, expected):
    args = dict({"backend": backend(), "terraform": TERRAFORM, "target": "lockfile", "bucket": BUCKET,
                 "enable_versioning": False}, **changes)
    reasons = blockers.preflight_blockers(**args)
    assert len(reasons) == len(expected)
    for reason, text in zip(reasons, expected):
        assert text in reason


def test_choose_action_from_files_init_and_record():
    assert blockers.choose_action(backend("dynamodb", "dynamodb"), "lockfile", None, [])[0] == m.ACTION_REWRITE
    assert blockers.choose_action(backend("lockfile", "dynamodb"), "lockfile", None, [])[0] == m.ACTION_INIT
    action, why = blockers.choose_action(backend("lockfile", "lockfile"), "lockfile", None, ["no migration record"])
    assert action == m.ACTION_VERIFY and "interrupted" in why
    assert blockers.choose_action(backend("lockfile", "lockfile"), "lockfile", {"mode": "lockfile"}, [])[0] == m.ACTION_NONE


def test_interruption_evidence():
    done = backend("lockfile", "lockfile")
    assert blockers.interruption_evidence(done, "lockfile", {"mode": "lockfile"}, []) == []
    assert blockers.interruption_evidence(done, "lockfile", None, []) == ["no migration record next to the state"]
    assert "says dual" in blockers.interruption_evidence(done, "lockfile", {"mode": "dual"}, [])[0]
    assert "left by an interrupted run" in blockers.interruption_evidence(done, "lockfile", {"mode": "lockfile"}, ["lock X"])[0]
    # A root still on DynamoDB has nothing to be interrupted in.
    assert blockers.interruption_evidence(backend(), "lockfile", None, []) == []


def test_lock_table_of_prefers_the_configuration_then_init_then_record():
    assert blockers.lock_table_of(backend(table="cfg")) == "cfg"
    gone = backend(table=None, initialised="dynamodb")
    gone["initialised"] = {"dynamodb_table": "init"}
    assert blockers.lock_table_of(gone) == "init"
    assert blockers.lock_table_of(backend(table=None), {"dynamodb_table": "rec"}) == "rec"
    assert blockers.lock_table_of(backend(table=None)) is None


@pytest.mark.parametrize("action, failed_phase, check_mode, verified, status", [
    (m.ACTION_REWRITE, None, False, True, m.MIGRATED),
    (m.ACTION_INIT, None, False, True, m.MIGRATED),
    (m.ACTION_VERIFY, None, False, True, m.RESUMED),
    (m.ACTION_NONE, None, False, False, m.UNCHANGED),
    (m.ACTION_REWRITE, None, False, False, m.FAILED),
    (m.ACTION_REWRITE, None, True, None, m.WOULD_MIGRATE),
    (m.ACTION_VERIFY, None, True, None, m.WOULD_RESUME),
    (m.ACTION_NONE, None, True, None, m.UNCHANGED),
    (None, "preflight", False, None, m.STOPPED),
    (None, "checkout", True, None, m.WOULD_STOP),
    (m.ACTION_REWRITE, "freeze", False, None, m.STOPPED),
    (m.ACTION_REWRITE, "reinit", False, None, m.FAILED),
    (m.ACTION_REWRITE, "rewrite", True, None, m.WOULD_FAIL),
])
def test_root_status(action, failed_phase, check_mode, verified, status):
    assert outcome.root_status(action, failed_phase, check_mode, verified) == status


def test_lock_mode_after_says_when_files_and_init_disagree():
    assert outcome.lock_mode_after("lockfile", "lockfile") == "lockfile"
    assert outcome.lock_mode_after("lockfile", "dynamodb") == "lockfile (files) / dynamodb (last terraform init)"


def test_next_step_names_what_to_do():
    assert "migrate_target=lockfile" in outcome.next_step(m.MIGRATED, "", "dual")
    assert outcome.next_step(m.MIGRATED, "", "lockfile") == ""
    assert "without --check" in outcome.next_step(m.WOULD_MIGRATE, "", "lockfile")
    assert "unlock" in outcome.next_step(m.STOPPED, "a lock is held on x", "lockfile")
    assert "versioning" in outcome.next_step(m.STOPPED, "versioning is not enabled on state bucket b", "lockfile")
    assert "rerun" in outcome.next_step(m.FAILED, "terraform init failed", "lockfile")


@pytest.mark.parametrize("status, fail_on_stopped, fails", [
    (m.FAILED, False, True), (m.WOULD_FAIL, False, True), (m.STOPPED, True, True), (m.WOULD_STOP, True, True),
    (m.STOPPED, False, False), (m.MIGRATED, True, False), (m.UNCHANGED, True, False), (m.WOULD_MIGRATE, True, False),
])
def test_fails_root(status, fail_on_stopped, fails):
    assert outcome.fails_root(status, fail_on_stopped) is fails


def terragrunt(form="terragrunt", unresolved=(), **settings):
    values = {"bucket": "state", "key": "app/terraform.tfstate", "region": "eu-west-1", "dynamodb_table": "locks"}
    values.update(settings)
    return {"file": "/r/terragrunt.hcl", "line": 5, "form": form, "settings": values, "lock_mode": "dynamodb",
            "unresolved_settings": list(unresolved)}


def test_a_terragrunt_root_is_unsupported_without_a_binary_and_migrates_with_one():
    assert blockers.is_terragrunt(terragrunt()) and blockers.is_terragrunt(terragrunt("terragrunt_generate"))
    assert not blockers.is_terragrunt(backend()) and not blockers.is_terragrunt(None)
    reason = blockers.terragrunt_unsupported(terragrunt(), None)
    assert reason.startswith("terragrunt: /r/terragrunt.hcl:5 is a Terragrunt remote_state")
    assert "tfstate_terragrunt_bin" in reason
    assert "generate block" in blockers.terragrunt_unsupported(terragrunt("terragrunt_generate"), "")
    assert blockers.terragrunt_unsupported(terragrunt(), "/usr/bin/terragrunt") is None
    assert blockers.terragrunt_unsupported(terragrunt("terragrunt_generate"), "terragrunt") is None


def test_a_terragrunt_root_stays_unsupported_when_terragrunt_computes_the_state_key_or_reads_no_longer_its_form():
    computed = blockers.terragrunt_unsupported(
        terragrunt(unresolved=["key"], key="${path_relative_to_include()}/terraform.tfstate"), "terragrunt")
    assert computed.startswith("terragrunt: /r/terragrunt.hcl:5: key is computed by terragrunt")
    assert "path_relative_to_include()" in computed
    # Only settings the maintenance lock needs matter: a computed tag map does not.
    assert blockers.terragrunt_unsupported(terragrunt(unresolved=["s3_bucket_tags"]), "terragrunt") is None
    assert "before 0.19" in blockers.terragrunt_unsupported(terragrunt("terragrunt_tfvars"), "terragrunt")


def test_reinit_command_is_quoted_for_a_shell():
    assert blockers.reinit_command("/srv/app", "/opt/bin/terragrunt") == "cd /srv/app && terragrunt init -reconfigure"
    assert blockers.reinit_command("/srv/my app", "terragrunt", ["-backend-config=a b.hcl"]) == \
        "cd '/srv/my app' && terragrunt init -reconfigure '-backend-config=a b.hcl'"


@pytest.mark.parametrize("failed_phase, check_mode, status", [
    (None, False, m.UNSUPPORTED), (None, True, m.UNSUPPORTED),
    # The check-mode rewrite that shows its diff failed: a stop, nothing was written.
    ("rewrite", False, m.STOPPED), ("rewrite", True, m.WOULD_STOP),
])
def test_an_unsupported_root_has_its_own_status_in_both_modes(failed_phase, check_mode, status):
    assert outcome.root_status(m.ACTION_UNSUPPORTED, failed_phase, check_mode, None) == status


@pytest.mark.parametrize("fail_on_stopped, fail_on_unsupported, fails", [
    (True, False, False), (False, False, False), (True, True, True), (False, True, True),
])
def test_an_unsupported_root_fails_only_when_asked(fail_on_stopped, fail_on_unsupported, fails):
    assert outcome.fails_root(m.UNSUPPORTED, fail_on_stopped, fail_on_unsupported) is fails
    assert m.UNSUPPORTED in m.PROBLEM_STATUSES


def test_next_step_of_an_unsupported_root_gives_the_command():
    command = "cd /srv/app && terragrunt init -reconfigure"
    step = outcome.next_step(m.UNSUPPORTED, blockers.terragrunt_unsupported(terragrunt(), None), "lockfile", None, command)
    assert step.startswith("set tfstate_terragrunt_bin and rerun, or by hand:") and "`%s`" % command in step
    computed = outcome.next_step(m.UNSUPPORTED, "terragrunt: x: key is computed by terragrunt", "dual", None, command)
    assert computed.startswith("by hand:") and command in computed


def test_file_blockers_need_no_aws_read():
    assert blockers.file_blockers(backend("lockfile"), None, "dual") == [
        "/r/backend.tf:2: lock mode is lockfile; dual keeps a dynamodb_table, so use migrate_target=lockfile"]
    assert blockers.file_blockers(backend("dynamodb"), None, "lockfile") == []
    assert blockers.preflight_blockers(backend("lockfile"), TERRAFORM, "dual", {"exists": False}, False)[0] == \
        blockers.file_blockers(backend("lockfile"), TERRAFORM, "dual")[0]


@pytest.mark.parametrize("target", ["lockfile", "dual"])
def test_a_backend_that_does_not_lock_is_left_alone_for_every_target(target):
    reasons = blockers.file_blockers(backend("none", table=None), None, target)
    assert len(reasons) == 1
    assert reasons[0].startswith("/r/backend.tf:2: the backend does not lock (lock mode none")
    assert "never turns locking on" in reasons[0] and "migrate_target" not in reasons[0]


def test_a_rollback_of_a_backend_that_does_not_lock_is_refused_too():
    unlocked = dict(backend("none", table=None), root="/r")
    assert blockers.file_blockers(unlocked, None, "dynamodb") == []
    [reason] = blockers.rollback_blockers(unlocked, "locks", "locks")
    assert reason.startswith("/r/backend.tf:2:") and "no locking to roll back" in reason


def test_a_backend_in_an_opentofu_file_needs_opentofu():
    tofu = dict(backend(), file="/r/main.tofu")
    assert blockers.file_blockers(tofu, dict(TERRAFORM, product="opentofu"), "lockfile") == []
    assert blockers.file_blockers(tofu, None, "lockfile") == []     # the binary is not known yet
    for target in ("lockfile", "dynamodb"):
        [reason] = blockers.file_blockers(tofu, TERRAFORM, target)
        assert reason.startswith("/r/main.tofu:2: the backend is in an OpenTofu file") and "tofu" in reason


def test_unloadable_file_blockers_name_the_file_line_and_byte_and_the_next_step_says_utf8():
    assert blockers.unloadable_file_blockers([]) == []
    reasons = blockers.unloadable_file_blockers([
        {"file": "/r/vars.tf", "line": 1, "offset": 0, "reason": "UTF-16 (little-endian, with a byte order mark), "
                                                                 "not UTF-8"},
        {"file": "/r/gone.tf", "line": None, "offset": None, "reason": "dangling symbolic link (to /x)"},
    ], {"binary": "tofu"})
    assert reasons[0].startswith("/r/vars.tf:1: UTF-16 (little-endian, with a byte order mark), not UTF-8 at byte 0; "
                                 "tofu init cannot load it")
    assert reasons[1].startswith("/r/gone.tf: dangling symbolic link (to /x); tofu init cannot load it")
    assert "UTF-8" in outcome.next_step(m.STOPPED, reasons[0], "lockfile")


def test_next_step_follows_the_cause_decided_where_the_failure_was_found():
    missing = outcome.next_step(m.STOPPED, "the root's directory /src/app does not exist", "dual", "preflight", None,
                                m.CAUSE_ROOT_MISSING, {"root": "/src/app", "host": "app"})
    assert "tfstate_root" in missing and "/src/app" in missing and "bucket" not in missing
    credentials = outcome.next_step(m.STOPPED, "GetCallerIdentity failed", "dual", "preflight", None, m.CAUSE_CREDENTIALS,
                                    {"profile": "platform-prod"})
    assert "tfstate_aws_profile" in credentials and "AWS_PROFILE" in credentials
    assert "AWS_ACCESS_KEY_ID" in credentials and "platform-prod" in credentials
    moved = outcome.next_step(m.STOPPED, "state bucket typo does not exist", "dual", "preflight", None,
                              m.CAUSE_BUCKET_MISSING, {"bucket": "typo", "init_bucket": "acme-state", "place": "/r/backend.tf:2"})
    assert "acme-state" in moved and "/r/backend.tf:2" in moved
    same = outcome.next_step(m.STOPPED, "state bucket acme does not exist", "dual", "preflight", None,
                             m.CAUSE_BUCKET_MISSING, {"bucket": "acme", "init_bucket": "acme", "place": "/r/backend.tf:2"})
    assert "last terraform init" not in same and "credentials" in same
    young = outcome.next_step(m.STOPPED, "a lock is held", "dual", "preflight", None, m.CAUSE_LOCK_HELD,
                              {"holder": "runner@ci-42 (lock ID x)", "stale": False})
    assert "runner@ci-42" in young and "unlock" not in young
    stale = outcome.next_step(m.STOPPED, "a lock is held", "dual", "preflight", None, m.CAUSE_LOCK_HELD,
                              {"holder": "runner@ci-42 (lock ID x)", "stale": True})
    assert "runner@ci-42" in stale and "unlock.yml" in stale


def test_aws_cause_names_credential_errors_only():
    assert outcome.aws_cause("NoCredentialsError") == m.CAUSE_CREDENTIALS
    assert outcome.aws_cause("ProfileNotFound") == m.CAUSE_CREDENTIALS
    assert outcome.aws_cause("AccessDenied") is None


def test_a_lockfile_root_is_ahead_of_dual_and_fails_nothing():
    assert "past migrate_target=dual" in outcome.ahead_of(backend("lockfile", "lockfile"), m.DUAL)
    assert "last terraform init used dual" in outcome.ahead_of(backend("lockfile", "dual"), m.DUAL)
    assert outcome.ahead_of(backend("lockfile", "lockfile"), m.LOCKFILE) is None
    assert outcome.ahead_of(backend("dynamodb"), m.DUAL) is None
    assert outcome.ahead_of(backend("none"), m.DUAL) is None  # no locking is not ahead: file_blockers stops it
    assert outcome.root_status(m.ACTION_AHEAD, None, False, False) == m.AHEAD
    assert outcome.root_status(m.ACTION_AHEAD, None, True, False) == m.AHEAD
    assert not outcome.fails_root(m.AHEAD, True, True)
    assert outcome.next_step(m.AHEAD, "", m.DUAL) == ""
    assert "migrate_target=lockfile" in outcome.next_step(m.AHEAD, "", m.DUAL, detail={"reinit": True})


def test_skipped_dual_and_the_lock_mode_a_preview_shows():
    assert outcome.skipped_dual("dynamodb", m.LOCKFILE, m.MIGRATED)
    assert outcome.skipped_dual("dynamodb", m.LOCKFILE, m.WOULD_MIGRATE)
    assert not outcome.skipped_dual("dual", m.LOCKFILE, m.MIGRATED)
    assert not outcome.skipped_dual("dynamodb", m.DUAL, m.MIGRATED)
    assert not outcome.skipped_dual("dynamodb", m.LOCKFILE, m.STOPPED)
    assert outcome.lock_mode_would_be(m.WOULD_MIGRATE, "dual", "dynamodb") == "dual"
    assert outcome.lock_mode_would_be(m.WOULD_STOP, "dual", "dynamodb") == "dynamodb"


def test_an_auto_run_says_what_the_next_scheduled_run_does():
    step = outcome.next_step(m.MIGRATED, "", m.DUAL, detail={"auto": True, "grace": "7d"})
    assert "migrate_target=auto" in step and "7d" in step
    assert "run again with migrate_target=lockfile" not in step
    assert "migrate_target=auto" in outcome.next_step(m.WOULD_MIGRATE, "", m.DUAL, detail={"auto": True})


# ---------------------------------------------------------------------------
# The pending intent is judged like the maintenance lock.

def test_an_intent_carries_what_judges_its_run():
    intent = runs.new_intent(dict(identity(), job_id="77"), NOW, 600, "dual", "locks")
    assert intent["controller"] == "ctl" and intent["pid"] == 1 and intent["pid_start"] == "42"
    assert intent["job_id"] == "77" and intent["lease_until"] == "2026-11-29T20:10:00Z" and intent["target"] == "dual"


def test_a_live_runs_intent_stops_another_run_naming_it():
    here = socket.gethostname()
    alive = runs.new_intent(dict(identity(run_id="run-b", controller=here, pid=1, pid_start=runs._process_start(1)),
                                 job_id="9"), NOW, 60, "dual", "locks")
    # On this controller a running process is live, even past its lease.
    kind, why = runs.classify_intent(alive, "run-a", NOW + datetime.timedelta(hours=2))
    assert kind == "live" and "run-b" in why and here in why and "job 9" in why and "started" in why
    elsewhere = runs.new_intent(identity(run_id="run-c", controller="elsewhere"), NOW, 600, "dual", None)
    assert runs.classify_intent(elsewhere, "run-a", NOW + datetime.timedelta(minutes=5))[0] == "live"


def test_only_an_intent_proven_dead_is_resumed():
    dead = runs.new_intent(identity(run_id="run-b", controller=socket.gethostname(), pid=unused_pid()), NOW, 3600,
                           "lockfile", None)
    kind, why = runs.classify_intent(dead, "run-a", NOW)
    assert kind == "dead" and "did not finish" in why and "has ended" in why
    expired = runs.new_intent(identity(run_id="run-c", controller="elsewhere"), NOW, 60, "dual", None)
    kind, why = runs.classify_intent(expired, "run-a", NOW + datetime.timedelta(minutes=5))
    assert kind == "dead" and "lease ended" in why
    assert runs.classify_intent(None, "run-a", NOW)[0] == "none"
    assert runs.classify_intent(dead, "run-b", NOW)[0] == "ours"
    # An intent without a lease (every run writes one) cannot be a live run's.
    leaseless = {"target": "lockfile", "run_id": "old", "started": "2026-11-29T20:00:00Z"}
    assert runs.classify_intent(leaseless, "run-a", NOW + datetime.timedelta(minutes=5))[0] == "dead"
    assert runs.classify_intent({"target": "dual", "run_id": "old"}, "run-a", NOW)[0] == "dead"


def test_a_terraform_lock_in_a_live_runs_window_is_named_as_that_run():
    holder = dict(identity(run_id="run-b", controller="elsewhere"), job_id="12")
    record = {"mode": "dynamodb", "pending": runs.new_intent(holder, NOW, 600, "dual", "locks")}
    plan = dict(lock(""), who="ci@host", operation="OperationTypePlan", age=2)
    later = NOW + datetime.timedelta(seconds=30)
    plan["age_seconds"] = 2
    kind, why = runs.lock_holder(plan, "run-a", later, record)
    assert kind == "live_run" and "run-b" in why and "job 12" in why and "OperationTypePlan" in why
    # Taken before that run started: someone else's.
    plan["age_seconds"] = 3600
    assert runs.lock_holder(plan, "run-a", later, record)[0] == "held"
    # No live intent: terraform's Who is all there is.
    assert runs.lock_holder(dict(plan, age_seconds=2), "run-a", later, {"mode": "dual"})[0] == "held"
    # A maintenance lock is named by its own Info.
    other = runs.freeze_info(dict(identity(run_id="run-c", controller="elsewhere"), job_id="5"), NOW, 3600)
    kind, why = runs.lock_holder(lock(other), "run-a", later, record)
    assert kind == "live_freeze" and "run-c" in why and "job 5" in why


def test_the_freeze_recheck_closes_the_window_between_two_runs():
    live = runs.new_intent(identity(run_id="run-b", controller="elsewhere"), NOW, 600, "dual", None)
    before = {"mode": "dynamodb", "run_id": "run-0"}
    assert runs.freeze_recheck(before, dict(before), "run-a", NOW) is None
    assert runs.freeze_recheck(None, None, "run-a", NOW) is None
    assert "run-b" in runs.freeze_recheck(before, dict(before, pending=live), "run-a", NOW)
    # The other run finished between this run's preflight and its freeze.
    done = {"mode": "dual", "run_id": "run-b", "job_id": None, "recorded_time": "2026-11-29T20:00:05Z"}
    why = runs.freeze_recheck(before, done, "run-a", NOW)
    assert "run-b" in why and "dual" in why and "rerun" in why
    # A dead intent the preflight saw is resumed.
    dead = dict(before, pending=runs.new_intent(identity(run_id="run-b", controller="elsewhere"), NOW, 60, "dual", None))
    assert runs.freeze_recheck(dead, dict(dead), "run-a", NOW + datetime.timedelta(hours=1)) is None


def test_lock_run_names_the_run_a_lock_belongs_to():
    record = {"pending": runs.new_intent(identity(run_id="run-b", controller="elsewhere"), NOW, 600, "dual", None)}
    later = NOW + datetime.timedelta(seconds=30)
    assert runs.lock_run(lock(runs.freeze_info(identity(run_id="run-b"), NOW, 60)), later) == "run-b"
    assert runs.lock_run(dict(lock(""), age_seconds=5), later, record) == "run-b"
    assert runs.lock_run(dict(lock(""), age_seconds=5), later, None) is None


# Rollback: the migrate phases with target dynamodb.

def rollback_backend(lock_mode="lockfile", table=None, initialised_table=None):
    root = backend(lock_mode=lock_mode, table=table)
    root["root"] = "/r"
    root["initialised"] = {"dynamodb_table": initialised_table} if initialised_table else None
    return root


def test_rollback_table_prefers_the_one_asked_for_then_files_init_record():
    record = {"mode": "lockfile", "dynamodb_table": "from-record"}
    assert blockers.rollback_table(rollback_backend(table="files"), record, "asked") == "asked"
    assert blockers.rollback_table(rollback_backend(table="files"), record) == "files"
    assert blockers.rollback_table(rollback_backend(initialised_table="init"), record) == "init"
    assert blockers.rollback_table(rollback_backend(), record) == "from-record"
    assert blockers.rollback_table(rollback_backend(), {"mode": "lockfile", "pending": {"dynamodb_table": "pend"}}) == "pend"
    assert blockers.rollback_table(rollback_backend(), None) is None


def test_rollback_blockers_name_the_file_or_table():
    assert blockers.rollback_blockers(rollback_backend(), "locks") == []
    none = blockers.rollback_blockers(rollback_backend(lock_mode="none"), "locks")
    assert none == ["/r/backend.tf:2: the backend sets neither use_lockfile nor dynamodb_table; there is no locking "
                    "to roll back"]
    missing = blockers.rollback_blockers(rollback_backend(), None, record=None)
    assert len(missing) == 1 and "no DynamoDB table to roll back to for /r" in missing[0]
    assert "does not exist" in missing[0]
    unnamed = blockers.rollback_blockers(rollback_backend(), None, record={"mode": "lockfile"})[0]
    assert "s3://state/app/terraform.tfstate.tfstate-s3-backend.json" in unnamed
    other = blockers.rollback_blockers(rollback_backend(lock_mode="dual", table="old"), "new", explicit="new")
    assert other == ["/r/backend.tf:2: the backend's dynamodb_table is old, but rollback_table is new"]
    assert blockers.rollback_blockers(rollback_backend(lock_mode="dual", table="same"), "same", explicit="same") == []
    schema = {"exists": True, "key_schema_problem": "its key is id (HASH, N); Terraform needs a string hash key"}
    assert blockers.rollback_blockers(rollback_backend(), "locks", table_summary=schema) == [
        "DynamoDB table locks: its key is id (HASH, N); Terraform needs a string hash key"]
    assert blockers.rollback_blockers(rollback_backend(), "locks", table_summary={"exists": False}) == []


def test_a_rollback_needs_neither_versioning_nor_use_lockfile_support():
    old = dict(TERRAFORM, supports_use_lockfile=False, version="1.5.7")
    assert blockers.preflight_blockers(rollback_backend(), old, m.DYNAMODB, {"exists": True, "versioning": None}, False) == []
    assert blockers.preflight_blockers(rollback_backend(), old, m.DYNAMODB, {"exists": False}, False) == [
        "state bucket state does not exist (or is not visible to these credentials)"]


def test_rollback_actions_and_interruptions():
    lockfile = rollback_backend()
    assert blockers.choose_action(lockfile, m.DYNAMODB, None, [])[0] == m.ACTION_REWRITE
    done = dict(rollback_backend(lock_mode="dynamodb", table="locks"), initialised_lock_mode="dynamodb")
    # A root that always locked with DynamoDB (no record) needs nothing; one whose record says otherwise is proven again.
    assert blockers.interruption_evidence(done, m.DYNAMODB, None, []) == []
    assert blockers.choose_action(done, m.DYNAMODB, None, [])[0] == m.ACTION_NONE
    evidence = blockers.interruption_evidence(done, m.DYNAMODB, {"mode": "lockfile"}, [])
    assert evidence == ["the migration record says lockfile"]
    assert blockers.choose_action(done, m.DYNAMODB, {"mode": "lockfile"}, evidence)[0] == m.ACTION_VERIFY
    assert blockers.interruption_evidence(done, m.DYNAMODB, {"mode": "dynamodb"}, []) == []
    half = dict(done, initialised_lock_mode="lockfile")
    assert blockers.choose_action(half, m.DYNAMODB, None, [])[0] == m.ACTION_INIT


@pytest.mark.parametrize("action, failed_phase, check_mode, verified, status", [
    ("rewrite", None, False, True, "rolled_back"),
    ("init", None, False, True, "rolled_back"),
    ("rewrite", None, True, None, "would_roll_back"),
    ("verify", None, False, True, "resumed"),
    ("verify", None, True, None, "would_resume"),
    ("none", None, False, True, "unchanged"),
    ("rewrite", None, False, False, "failed"),
    ("rewrite", "freeze", False, None, "stopped"),
    ("rewrite", "digests", False, None, "failed"),
    ("rewrite", "preflight", True, None, "would_stop"),
])
def test_rollback_statuses(action, failed_phase, check_mode, verified, status):
    assert outcome.root_status(action, failed_phase, check_mode, verified, m.DYNAMODB) == status


def test_next_step_of_a_rollback():
    assert outcome.next_step("rolled_back", "", m.DYNAMODB) == ""
    assert outcome.next_step("would_roll_back", "", m.DYNAMODB) == "run without --check to apply"
    missing = outcome.next_step("stopped", "no DynamoDB table to roll back to for /r: set rollback_table (... which does "
                                "not exist)", m.DYNAMODB)
    assert missing.startswith("set rollback_table")
