# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_result: one root's measured outcome (docs in plugins/modules)."""

import difflib

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import reports
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.contract import PHASE_KEY, Migration
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    RootError,
    backend_now,
    resolve_root,
)
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import RootAction

# The phase a failed task belongs to, by its action (the role's tasks; a user's own tasks count as "other").
PHASE_OF_ACTION = {
    "root_preflight": "preflight",
    "root_cutover": "cutover",
}


def phase_of(failure):
    """The phase of what the role's rescue caught: the phase the failed result names (the checkout inside the
    preflight), else its task's action (``tfstate.s3_backend.root_preflight`` -> ``preflight``)."""
    if failure.get("phase"):
        return failure["phase"]
    if failure.get(PHASE_KEY) in PHASE_OF_ACTION.values():
        return failure[PHASE_KEY]
    return PHASE_OF_ACTION.get((failure.get("action") or "").rsplit(".", 1)[-1], "other")


def failure_of(sources):
    """``(phase, message, thaw failure)``: the cut-over phase that failed first (its ``phases``), else the task
    the role's rescue caught, and a failed release of the maintenance lock beside it."""
    phase, message = outcome.first_failure(sources["phases"])
    failure = sources["failure"]
    if phase is None and failure:
        phase, message = phase_of(failure), failure.get("msg") or "failed"
    return phase, message, outcome.thaw_failure(sources["phases"], phase)


def phase_sources(args):
    """What the preflight, the cut-over and the rescue registered, by the names the outcome is measured from."""
    preflight, cutover = args["preflight"] or {}, args["cutover"] or {}
    phases = cutover.get("phases") or {}
    checkout = preflight.get("checkout") or {}
    return {
        "migration": Migration.from_dict(preflight.get("migration")),
        "stage": preflight.get("stage") or {},
        "phases": phases,
        "failure": args["failure"] or {},
        "rewrite": phases.get("rewrite") or preflight.get("rewrite") or {},
        "published": (phases.get("publish") or {}).get("published") or {},
        "record": phases.get("record") or {},
        "digests": phases.get("digests") or {},
        "root": checkout.get("root_path") or args["root"],
    }


def failed_reason(reason, left, thaw_failed, workspaces):
    """A failure's reason, with what it left and a release of the maintenance lock that failed after it."""
    parts = [reason] if reason else []
    if outcome.left_anything(left):
        parts.append("left: %s" % outcome.describe_left(left, workspaces))
    if thaw_failed:
        parts.append("the release of the maintenance lock failed too: %s" % thaw_failed)
    return "; ".join(parts)


def unified_diff(diffs):
    """One unified diff text of a rewrite's ``diff`` entries (before/after per file), or None."""
    if not diffs:
        return None
    chunks = []
    for entry in diffs:
        chunks.extend(difflib.unified_diff(entry["before"].splitlines(True), entry["after"].splitlines(True),
                                           entry["before_header"], entry["after_header"]))
    return "".join(chunks)


def measured_backend(root, init_args, backend=None, rewritten=()):
    """``(files lock mode, initialised lock mode, file:line, settings)`` measured now; Nones when unreadable.

    ``backend``: the contract's (the preflight's read of this run): only a file whose bytes are neither those nor
    those this run's rewrite wrote (``rewritten``) is parsed again, and ``.terraform`` is read now
    (root.backend_now); without it (the preflight stopped) the root is read again.
    """
    if not root:
        return None, None, "", {}
    try:
        now = backend_now(backend, init_args, rewritten) if backend else resolve_root(root, init_args, terragrunt=True)
    except RootError:
        return None, None, "", {}
    return (now["lock_mode"], now["initialised_lock_mode"], "%s:%s" % (now["file"], now["line"]),
            now.get("settings") or {})


def root_reason(failure, migration, status, files_mode, init_mode):
    """Why the root is where it is: the failure, the preflight's why (verify, unsupported), or what was measured."""
    reason = (failure or "").strip()
    if not reason and migration.action in (decide.ACTION_VERIFY, decide.ACTION_UNSUPPORTED, decide.ACTION_AHEAD):
        reason = migration.why or ""
    if status == decide.FAILED and not reason:
        reason = ("the cut-over did not complete: the files lock with %s and the last terraform init with %s"
                  % (files_mode, init_mode or "nothing"))
    return reason


def where_and_who(migration, settings=None):
    """The row's state location and table, and who the collection's calls ran as (no secrets).

    ``settings``: the backend read back now, for a root whose preflight stopped before its ``migration`` was whole.
    """
    settings = dict(settings or {}, **migration.settings)
    identity = migration.identity
    return {
        "bucket": settings.get("bucket"),
        "key": settings.get("key"),
        "region": migration.region or settings.get("region"),
        "account": migration.account,
        "dynamodb_table": migration.dynamodb_table or settings.get("dynamodb_table"),
        # The STS caller ARN, and whether the backend said who to be.
        **reports.identity_fields(identity)
    }


def check_mode_changed(result, rewrite):
    """In check mode the root's result is the one task that reports ``changed``: the root would change (with the
    rewrite's diff, shown by --diff); the phases report nothing changed. In a real run the phases report it."""
    would = (decide.WOULD_MIGRATE, decide.WOULD_RESUME, decide.WOULD_ROLL_BACK)
    if not result["check_mode"] or result["status"] not in would:
        return {}
    extra = {"changed": True}
    if rewrite.get("diff"):
        extra["diff"] = rewrite["diff"]
    return extra


def table_and_digests(migration, digests):
    """A rollback's table and digests (root_digests): the states whose digest was set, and whether it made the table."""
    return {"digests_synced": [change["state_path"] for change in digests.get("digests") or []],
            "table_created": bool(digests.get("table_created") or migration.table_created)}


def registered(result, connection, rewrite=None):
    """The task's return: the row itself, plus the usual task fields.

    ``connection``: how the root's calls connected (no secrets), so that the fleet view reads its
    bucket the same way; not a row field.
    """
    reason = result["reason"]
    output = dict(result, connection=connection, changed=False,
                  msg="%s: %s%s" % (result["host"], result["status"], ": %s" % reason if reason else ""))
    output.update(check_mode_changed(result, rewrite or {}))
    if result["status"] == decide.UNSUPPORTED and not result["fails_root"]:
        # Printed in every run's output: the root is not an error of the run, but needs a person.
        output["warnings"] = ["%s: %s. Next: %s" % (result["host"], reason, result["next_step"])]
    return output


class ActionModule(RootAction):
    PHASE = "result"
    USES_AWS = False
    ARGUMENT_SPEC = dict(
        # The registered results of the role's root_preflight and root_cutover, and what its rescue caught.
        preflight=dict(type="dict", default={}),
        cutover=dict(type="dict", default={}),
        failure=dict(type="dict", default={}),
        root=dict(type="str"),
        root_name=dict(type="str"),
        target=dict(type="str", required=True),
        init_args=dict(type="list", elements="str", default=[]),
        verify=dict(type="bool", default=True),
        fail_on_stopped=dict(type="bool", default=True),
        fail_on_unsupported=dict(type="bool", default=False),
        dual_grace=dict(type="str"),
    )

    def phase(self, args, task_vars):
        sources = phase_sources(args)
        migration = sources["migration"]
        failed_phase, failure, thaw_failed = failure_of(sources)
        if sources["stage"].get("result") and failed_phase is None:
            # migrate_target=auto left the root at its stage: root_stage measured its row (nothing was cut over).
            return registered(sources["stage"]["result"], None)
        action = migration.action
        root = migration.root or sources["root"]
        files_mode, init_mode, place, settings = measured_backend(root, args["init_args"], migration.backend,
                                                                  sources["rewrite"].get("files"))
        status, left, resumed = self._outcome(args, sources, failed_phase, files_mode, init_mode)
        reason = outcome_reason(root_reason(failure, migration, status, files_mode, init_mode), status, left,
                                thaw_failed, resumed, migration, self.check_mode)
        unsupported = status == decide.UNSUPPORTED
        rewrite_files = rewritten_files(sources)
        command = migration.reinit_command if unsupported else None
        if unsupported and not self.check_mode:
            rewrite_files = []  # the rewrite was only shown (check mode), nothing was written
        # A preflight that stopped hands over no `migration`: the lock mode before is the files' (nothing changed).
        before = migration.lock_mode_before or (files_mode if failed_phase == "preflight" else None)
        measured = outcome.lock_mode_after(files_mode, init_mode) if files_mode else None
        cause = sources["failure"].get("cause") or None
        detail = dict(sources["failure"].get("cause_detail") or {}, reinit=migration.reinit,
                      auto="stage" in sources["stage"], grace=args["dual_grace"])
        next_step = outcome.next_step(status, reason, args["target"], failed_phase, command, cause, detail)
        if status == decide.FAILED and outcome.left_anything(left):
            next_step = outcome.failed_next_step(left)
        result = {
            "host": task_vars.get("inventory_hostname"),
            "root": redact_url(args["root_name"] or root or ""),
            "backend_file": place,
            "status": status,
            "phase": failed_phase,
            "reason": reason,
            "cause": cause,
            "next_step": next_step,
            "check_mode": self.check_mode,
            "fails_root": outcome.fails_root(status, args["fail_on_stopped"], args["fail_on_unsupported"]),
            "unsupported": migration.unsupported if unsupported else None,
            "reinit_command": command,
            "action": action,
            "target": args["target"],
            "skipped_dual": outcome.skipped_dual(before, args["target"], status),
            "lock_mode_before": before,
            # Check mode: the mode the root would have (its rewrite was computed and read back), else the measured one.
            "lock_mode_after": outcome.lock_mode_would_be(status, args["target"], measured) if self.check_mode
            else measured,
            "files_lock_mode_after": files_mode,
            "initialised_lock_mode_after": init_mode,
            "interrupted": migration.interrupted or [],
            "resumed_from": resumed,
            "left": left if outcome.left_anything(left) else None,
            "thaw_failure": thaw_failed,
        }
        result.update(where_and_who(migration, settings), **table_and_digests(migration, sources["digests"]))
        result.update(self._evidence(sources, migration, verification_of(sources), unsupported, rewrite_files))
        return registered(reports.root_row(**result), migration.identity, sources["rewrite"])

    def _outcome(self, args, sources, failed_phase, files_mode, init_mode):
        """``(status, left, resumed)``: the status from what the run left (measured) and whom it took over from."""
        migration = sources["migration"]
        action = migration.action
        verification = verification_of(sources)
        verified = (not args["verify"]) or (verification.get("locked_plan_refused") is True
                                            and verification.get("plan_ok") is True)
        phases = sources["phases"]
        left = None
        if migration.run_id and not self.check_mode:
            left = outcome.what_was_left(migration.to_dict(), files_mode, init_mode, rewritten_files(sources),
                                         outcome.lock_still_held(phases.get("freeze"), phases.get("thaw")),
                                         rewrite_ran=phase_ran(phases.get("rewrite")),
                                         reinit_ran=phase_ran(phases.get("reinit")))
        resumed = None
        if action in (decide.ACTION_REWRITE, decide.ACTION_INIT, decide.ACTION_VERIFY):
            resumed = outcome.resumption(migration.run_id, migration.stale_freezes,
                                         migration.record_before, (phases.get("freeze") or {}).get("released"))
        status = outcome.root_status(action, failed_phase, self.check_mode, verified, args["target"], left=left,
                                     resumed=resumed is not None)
        return status, left, resumed

    def _evidence(self, sources, migration, verification, unsupported, rewrite_files):
        """The row's fields of what the cut-over did: files, diff, branch, digests, record, proof, times."""
        return {
            "workspaces": migration.workspaces or [],
            "files_changed": rewrite_files,
            # The diff the root would get (check mode), or needs by hand (an unsupported root, in any mode).
            "files_diff": unified_diff(sources["rewrite"].get("diff")) if self.check_mode or unsupported else None,
            "branch": sources["published"].get("branch") or "",
            "digests_removed": len(sources["record"].get("digests") or []),
            "cutover_time": (sources["record"].get("record") or {}).get("cutover_time") or "",
            "lifted_pin": sources["record"].get("lifted_pin"),  # the rollback's pin this explicit run moved the root off
            "verification": {
                "locked_plan_refused": verification.get("locked_plan_refused"),
                "plan_ok": verification.get("plan_ok"),
                "matches_baseline": verification.get("matches_baseline"),
            },
            "run_id": migration.run_id or runs.run_identity()["run_id"],
            "started": migration.started,
            "time": clock.utc_text(clock.now()),
        }


def outcome_reason(reason, status, left, thaw_failed, resumed, migration, check_mode):
    """The row's reason: a failure's with what it left and a failed release, or whom a resumed root took over from."""
    if status in (decide.FAILED, decide.STOPPED):
        return failed_reason(reason, left, thaw_failed, migration.workspaces or [])
    if resumed and status in (decide.RESUMED, decide.WOULD_RESUME):
        return outcome.resumed_reason(resumed, preview=check_mode)
    return reason


def phase_ran(registered):
    """Whether a phase's task started in this run: registered, and not skipped."""
    return bool(registered) and not registered.get("skipped")


def rewritten_files(sources):
    return [entry.get("path") for entry in sources["rewrite"].get("files") or [] if entry.get("changed", True)]


def verification_of(sources):
    """The two proofs (frozen plan refused, plan after the thaw), from the phases' results."""
    phases = sources["phases"]
    verification = {}
    for name in ("locked", "planned"):
        verification.update({key: value for key, value in (phases.get(name) or {}).items()
                             if key in ("locked_plan_refused", "plan_ok", "matches_baseline")})
    return verification
