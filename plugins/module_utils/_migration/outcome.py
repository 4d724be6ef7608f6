# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a root's run came to: its status from what was measured, what a failure left, whom a
resumed run took over from, and the next step for each cause. No Ansible imports."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import (
    ACTION_AHEAD,
    ACTION_NONE,
    ACTION_UNSUPPORTED,
    ACTION_VERIFY,
    AHEAD,
    CAUSE_BUCKET_MISSING,
    CAUSE_CREDENTIALS,
    CAUSE_LOCK_HELD,
    CAUSE_ROOT_MISSING,
    CAUSE_VERSIONING,
    CREDENTIAL_ERRORS,
    DUAL,
    DYNAMODB,
    FAILED,
    LOCKFILE,
    MIGRATED,
    READ_ONLY_PHASES,
    RESUMED,
    ROLLED_BACK,
    STOPPED,
    UNCHANGED,
    UNSUPPORTED,
    WOULD_FAIL,
    WOULD_MIGRATE,
    WOULD_RESUME,
    WOULD_ROLL_BACK,
    WOULD_STOP,
)


# ---------------------------------------------------------------------------
# The outcome, measured.

def root_status(action, failed_phase, check_mode, verified, target=None, left=None, resumed=False):
    """The root's status from what happened: the phase that failed (None: none did) and the proof.

    A root moved to ``target`` dynamodb (a rollback) is ``rolled_back`` (``would_roll_back``), not migrated.
    ``left``: what the run left behind, measured (what_was_left); given, a failure is ``failed``
    when it left anything and ``stopped`` only when nothing changed, whichever phase failed (check
    mode, which changes nothing, still judges by the phase). ``resumed``: the run took over an
    interrupted run's cut-over (resumption).
    """
    if action == ACTION_UNSUPPORTED and failed_phase is None:
        return UNSUPPORTED
    if action == ACTION_AHEAD and failed_phase is None:
        return AHEAD
    if failed_phase is not None:
        # An unsupported root's only later task is the check-mode rewrite that shows its diff: nothing was written.
        stopped = failed_phase in READ_ONLY_PHASES or action == ACTION_UNSUPPORTED
        if check_mode:
            return WOULD_STOP if stopped else WOULD_FAIL
        if left is not None:
            stopped = not left_anything(left)
        return STOPPED if stopped else FAILED
    if action == ACTION_NONE:
        return UNCHANGED
    resumed = resumed or action == ACTION_VERIFY
    if check_mode:
        if resumed:
            return WOULD_RESUME
        return WOULD_ROLL_BACK if target == DYNAMODB else WOULD_MIGRATE
    if not verified:
        return FAILED
    if resumed:
        return RESUMED
    return ROLLED_BACK if target == DYNAMODB else MIGRATED


# The phases of a cut-over in the order they run, by the name of the result each registers in the role.
CUTOVER_PHASES = (("freeze", "freeze"), ("digests", "digests"), ("object_lock", "object_lock"), ("rewrite", "rewrite"),
                  ("reinit", "reinit"), ("verify", "locked"), ("thaw", "thaw"), ("verify", "planned"), ("publish", "publish"),
                  ("record", "record"))


def first_failure(results):
    """``(phase, message)`` of the first phase that failed, from ``{name: registered result}`` of
    CUTOVER_PHASES; ``(None, None)`` when none did. The thaw runs after any failure (``always``):
    a failing thaw is the first failure only when nothing failed before it."""
    for phase, name in CUTOVER_PHASES:
        result = results.get(name) or {}
        if result.get("failed"):
            return phase, (result.get("msg") or "failed").strip()
    return None, None


def thaw_failure(results, failed_phase):
    """The release of the maintenance lock's error when it failed after another phase failed, else None."""
    thaw = results.get("thaw") or {}
    if thaw.get("failed") and failed_phase not in (None, "thaw"):
        return (thaw.get("msg") or "failed").strip()
    return None


def lock_still_held(frozen, thaw):
    """Whether this run's maintenance lock may still be held: the freeze ran and no thaw succeeded
    (a freeze that failed midway may have taken part of it; a failed release proves nothing)."""
    frozen, thaw = frozen or {}, thaw or {}
    if not frozen or frozen.get("skipped") or frozen.get("check_mode"):
        return False
    if frozen.get("failed") and "frozen" in frozen and not frozen["frozen"]:
        return bool(thaw.get("failed"))  # refused before it took anything: held only if the release failed too
    return not thaw or bool(thaw.get("failed")) or bool(thaw.get("skipped"))


def what_was_left(migration, files_mode, init_mode, files, lock_held, rewrite_ran=True, reinit_ran=True):
    """What a run left of a cut-over, measured: backend files on another lock mode than before
    (``files``: the paths the rewrite wrote), a last terraform init on another one, the lock.

    ``rewrite_ran``/``reinit_ran``: whether this run's rewrite and re-init started. Without them a
    change is another run's (an overlapping run that cut the root over), not something this run left.
    """
    rewritten = rewrite_ran and bool(files_mode) and files_mode != migration.get("lock_mode_before")
    reinitialised = reinit_ran and bool(files_mode) and init_mode != migration.get("initialised_lock_mode_before")
    return {
        "files_rewritten": (list(files) or ["%s (%s)" % ((migration.get("backend") or {}).get("file"), files_mode)])
        if rewritten else [],
        "last_init": init_mode if reinitialised else None,
        "lock_held": (migration.get("freeze") or {}).get("lock_id") if lock_held else None,
    }


def left_anything(left):
    return bool(left and (left.get("files_rewritten") or left.get("last_init") or left.get("lock_held")))


def describe_left(left, workspaces=()):
    """One phrase of what was left (empty when nothing)."""
    parts = []
    if left.get("files_rewritten"):
        parts.append("the backend files rewritten (%s)" % ", ".join(left["files_rewritten"]))
    if left.get("last_init"):
        parts.append("the last terraform init on %s" % left["last_init"])
    if left.get("lock_held"):
        held_on = ", ".join(workspaces) or "the states"
        parts.append("the maintenance lock %s still held on %s" % (left["lock_held"], held_on))
    return "; ".join(parts)


def failed_next_step(left):
    """The next step of a root a failed cut-over left half-done (left_anything)."""
    step = "rerun: it resumes from the intent it recorded"
    if left.get("lock_held"):
        step += (" and releases maintenance lock %s (proven stale once this run has ended); until then terraform "
                 "cannot lock this root" % left["lock_held"])
    return step


def resumption(run_id, stale_freezes, record_before, released=()):
    """What this run took over from an interrupted one: ``{run_id, lock_ids, why}``, or None.

    ``stale_freezes``: the preflight's proven-stale maintenance locks (``{id, run_id, why}``);
    ``record_before``: the migration record (a ``pending`` intent names the run that started a
    cut-over); ``released``: the lock records the freeze released (their ``id``), when it ran.
    """
    others = [entry for entry in stale_freezes or [] if not entry.get("run_id") or entry.get("run_id") != run_id]
    pending = (record_before or {}).get("pending") or {}
    if pending.get("run_id") == run_id:
        pending = {}
    if not others and not pending:
        return None
    runs = set(entry.get("run_id") or "?" for entry in others)
    if pending.get("run_id"):
        runs.add(pending["run_id"])
    runs = sorted(runs)
    released_ids = set(record.get("id") for record in released or [])
    lock_ids = sorted(set(entry["id"] for entry in others if not released_ids or entry["id"] in released_ids))
    intent = None
    if pending:
        intent = "a cut-over to %s by run %s, started %s" % (
            pending.get("target"), pending.get("run_id"), pending.get("started"))
    return {"run_id": ", ".join(runs), "lock_ids": lock_ids,
            "why": "; ".join(sorted(set(entry.get("why") for entry in others if entry.get("why")))), "intent": intent}


def resumed_reason(resumed, preview=False):
    """The reason of a root that took over an interrupted run's cut-over (resumption); ``preview``: check mode."""
    text = "%s the cut-over of interrupted run %s" % ("would resume" if preview else "resumed", resumed["run_id"])
    if resumed["lock_ids"]:
        text += "; %s its maintenance lock %s" % ("would release" if preview else "released",
                                                  ", ".join(resumed["lock_ids"]))
        if resumed["why"]:
            text += " (proven stale: %s)" % resumed["why"]
    if resumed.get("intent"):
        text += "; the migration record held its intent: %s" % resumed["intent"]
    return text


def ahead_of(backend, target):
    """Why a root is already past ``target`` (its files lock with the S3 lockfile only while the target is dual), or None.

    Such a root is not stopped: a stage-1 rerun after stage 2 (or to pick up a new root) leaves it as it is.
    """
    if target == DUAL and backend.get("lock_mode") == LOCKFILE:
        init = backend.get("initialised_lock_mode")
        return ("%s:%s: the backend already locks with the S3 lockfile only (past migrate_target=dual)%s"
                % (backend["file"], backend["line"], "" if init == LOCKFILE
                   else "; the last terraform init used %s" % (init or "nothing")))
    return None


def skipped_dual(lock_mode_before, target, status):
    """Whether the root went (or would go) from DynamoDB straight to lockfile, without the dual stage."""
    return (lock_mode_before == DYNAMODB and target == LOCKFILE
            and status in (MIGRATED, RESUMED, WOULD_MIGRATE, WOULD_RESUME))


def lock_mode_would_be(status, target, measured):
    """The lock mode a check-mode row shows as "after": the target for a root that would migrate, else the measured one."""
    if status in (WOULD_MIGRATE, WOULD_RESUME, WOULD_ROLL_BACK):
        return target
    return measured


def fails_root(status, fail_on_stopped, fail_on_unsupported=False):
    """Whether the root's host must fail at the end of the role: a failure always, a stop or an unsupported root when asked.

    An unsupported root (Terragrunt without a binary) is not an error of the run: it is reported with
    its next step, and fails only with ``fail_on_unsupported``.
    """
    if status in (FAILED, WOULD_FAIL):
        return True
    if status == UNSUPPORTED:
        return bool(fail_on_unsupported)
    return status in (STOPPED, WOULD_STOP) and bool(fail_on_stopped)


def lock_mode_after(files_mode, initialised_mode):
    """The lock mode a root has, from the files and terraform's initialised backend, both read back."""
    if files_mode == initialised_mode:
        return files_mode
    return "%s (files) / %s (last terraform init)" % (files_mode, initialised_mode or "none")


def aws_cause(code):
    """The cause of a failed AWS call for next_step: ``credentials`` for a missing, unknown or refused credential."""
    return CAUSE_CREDENTIALS if code in CREDENTIAL_ERRORS else None


def cause_step(cause, detail=None):
    """The next step of a stop whose cause was decided where it was found (see the ``CAUSE_*`` names), or None.

    ``detail``: what the finder knew (next_step also reads ``auto`` and ``grace``: a migrate_target=auto run):
    ``root`` and ``host`` (root_missing); ``profile`` (credentials: the
    profile used, when one was); ``bucket``, ``place`` (file:line naming it) and ``init_bucket`` (the bucket
    of the last terraform init) for bucket_missing; ``holder`` and ``stale`` for lock_held.
    """
    detail = detail or {}
    if cause == CAUSE_ROOT_MISSING:
        return ("the root's directory %s does not exist on the controller: fix tfstate_root (or tfstate_repo_url) of "
                "host %s in the inventory, then rerun" % (detail.get("root") or "?", detail.get("host") or "?"))
    if cause == CAUSE_CREDENTIALS:
        used = " (this run used profile %s)" % detail["profile"] if detail.get("profile") else ""
        return ("give this root working AWS credentials%s: set tfstate_aws_profile (or AWS_PROFILE), or AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, check they are not expired, "
                "then rerun" % used)
    if cause == CAUSE_BUCKET_MISSING:
        place = detail.get("place") or "the backend configuration"
        init_bucket = detail.get("init_bucket")
        if init_bucket and init_bucket != detail.get("bucket"):
            return ("%s names bucket %s but the last terraform init used bucket %s: fix the bucket name there (or "
                    "terraform init again if the move is meant), then rerun" % (place, detail.get("bucket"), init_bucket))
        return ("check the bucket name at %s, the region, and that these credentials can see the bucket "
                "(tfstate_aws_profile / AWS_PROFILE), then rerun" % place)
    if cause == CAUSE_LOCK_HELD:
        holder = detail.get("holder") or "the lock holder"
        if detail.get("stale"):
            return ("the lock of %s looks stale: once you know that run has ended, release it with playbooks/unlock.yml "
                    "(unlock_lock_id), then rerun" % holder)
        return "wait for %s to finish and release the lock, then rerun" % holder
    if cause == CAUSE_VERSIONING:
        return "enable versioning on the bucket or set migrate_enable_versioning=true, then rerun"
    return None


def next_step(status, reason, target, phase=None, command=None, cause=None, detail=None):
    """What a person should do about a root, in one sentence (empty when nothing).

    ``command``: for an unsupported root, the re-init command to run by hand (reinit_command).
    ``cause``/``detail``: why a stopped or failed root did, as decided where it was found (cause_step);
    without a cause, the reason's words pick the step.
    """
    text = reason or ""
    if status == UNSUPPORTED:
        by_hand = ("apply the report's diff to the Terragrunt file (when it shows one), then run `%s` and a plan"
                   % (command or "terragrunt init -reconfigure"))
        if "no terragrunt binary" in text:
            return "set tfstate_terragrunt_bin and rerun, or by hand: %s" % by_hand
        return "by hand: %s" % by_hand
    if status == AHEAD:
        return ("nothing to do: the root is already past migrate_target=%s (lockfile only); run migrate_target=lockfile "
                "to re-initialise it" % target) if detail and detail.get("reinit") else ""
    scheduled = bool((detail or {}).get("auto"))
    if status in (UNCHANGED, MIGRATED, RESUMED, ROLLED_BACK):
        if target == DYNAMODB:
            return ""
        if target == DUAL and scheduled:
            return ("nothing: a later run of migrate_target=auto moves it to lockfile once the dual grace (%s) is over "
                    "and no DynamoDB-only client shows" % ((detail or {}).get("grace") or "migrate_dual_grace"))
        if target == DUAL:
            return ("run again with migrate_target=lockfile once every pipeline of this root uses the dual "
                    "configuration")
        return ""
    if status in (WOULD_MIGRATE, WOULD_RESUME, WOULD_ROLL_BACK):
        if scheduled:
            return "the next run of migrate_target=auto applies it (or run without --check now)"
        return "run without --check to apply"
    step = cause_step(cause, detail)
    if step:
        return step
    return _step_from_reason(status, text)


def _step_from_reason(status, text):
    """next_step for a stop without a cause code: the reason's words."""
    if "no DynamoDB table to roll back to" in text:
        return "set rollback_table to the table the root's clients locked with, then rerun"
    if "Terraform needs a string hash key" in text or "rollback_table is" in text:
        return "name a table with a string LockID hash key that the backend agrees with in rollback_table, then rerun"
    if "lock is held" in text or "another migration" in text:
        return "wait for the lock holder to finish (or, once proven stale, release it with playbooks/unlock.yml), then rerun"
    if "versioning" in text:
        return "enable versioning on the bucket or set migrate_enable_versioning=true, then rerun"
    if "does not exist" in text and "bucket" in text:
        return "check the bucket name, region and credentials of this root"
    if "required_version" in text or "does not support use_lockfile" in text:
        return "upgrade Terraform (>= 1.10.1) or OpenTofu (>= 1.10.2) and the root's required_version"
    if "init cannot load it" in text:
        return "save the named file as UTF-8 (or remove it from the root), then rerun"
    if "cannot be parsed" in text or "not literal" in text or "templated" in text:
        return "fix or render the named file, then rerun"
    if status in (FAILED, WOULD_FAIL):
        return "read the reason; the root's maintenance lock was released; fix and rerun (a rerun resumes)"
    return "fix the reason above, then rerun"
