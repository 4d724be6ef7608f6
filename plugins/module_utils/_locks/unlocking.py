# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the unlock job may release: its criteria (lock ID, ``stale_after``, ``force``), the reason a lock
is kept, and the plan of an unlock over several states. No Ansible imports."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import new_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import state_key
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import find_locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.holding import (
    KEPT_NO_AGE,
    KEPT_OTHER_ID,
    LockTarget,
    probe_conditional_writes,
    release,
)


# ---------------------------------------------------------------------------
# Unlocking states in bulk (playbooks/unlock.yml): which locks found may go, and why the others stay.
# A lock named by its ID is released only when it is older than stale_after too, unless forced:
# an 8-second-old lock is most likely a running apply's.

DEFAULT_UNLOCK_STALE_AFTER = 3600

KEPT_YOUNG = "younger than stale_after (%s s old, stale_after %s s): a running terraform may hold it"
KEPT_YOUNG_FORCE_HINT = "; release it anyway with force"
KEPT_CORRUPT_UNLOCK = "corrupt lock body: release it with tfstate.s3_backend.lockfile, force and its etag"


class UnlockRequestError(ValueError):
    """An unlock request that does not say safely which locks may go."""


def unlock_criteria(lock_id=None, stale_after=None, force=False):
    """The ``stale_after`` that applies to an unlock request, or UnlockRequestError.

    With ``lock_id``, an unset ``stale_after`` is DEFAULT_UNLOCK_STALE_AFTER; ``force`` lifts the
    age check for that lock only. Without ``lock_id``, ``stale_after`` must be given and ``force``
    is refused (it would release every lock, running ones included).
    """
    if stale_after is not None and stale_after < 0:
        raise UnlockRequestError("stale_after must be 0 or more seconds, got %s" % stale_after)
    if lock_id:
        return DEFAULT_UNLOCK_STALE_AFTER if stale_after is None else stale_after
    if force:
        raise UnlockRequestError("force needs a lock_id: without one it would release every lock, "
                                 "those of running applies included")
    if stale_after is None:
        raise UnlockRequestError("give lock_id (the lock to release) or stale_after (release locks older than "
                                 "that many seconds)")
    return stale_after


def unlock_reason(record, lock_id=None, stale_after=DEFAULT_UNLOCK_STALE_AFTER, force=False):
    """Why a found lock record is kept, or None when the request releases it (pure)."""
    if record.get("corrupt"):
        return KEPT_CORRUPT_UNLOCK
    if lock_id and record.get("id") != lock_id:
        return KEPT_OTHER_ID
    forced = bool(lock_id and force)
    if record.get("age_source") != "created" or record.get("age_seconds") is None:
        return None if forced else KEPT_NO_AGE + (KEPT_YOUNG_FORCE_HINT if lock_id else "")
    if record["age_seconds"] <= stale_after and not forced:
        return KEPT_YOUNG % (record["age_seconds"], stale_after) + (KEPT_YOUNG_FORCE_HINT if lock_id else "")
    return None


def plan_unlock(records, lock_id=None, stale_after=DEFAULT_UNLOCK_STALE_AFTER, force=False):
    """Split found lock records into ``(to release, kept)``; kept records carry ``kept_reason`` (pure)."""
    to_release, kept = [], []
    for record in records:
        reason = unlock_reason(record, lock_id, stale_after, force)
        if reason is None:
            to_release.append(record)
        else:
            kept.append(dict(record, kept_reason=reason))
    return to_release, kept


def unlock_states(client_for, states, lock_id=None, stale_after=None, force=False, check_mode=False, now=None):
    """Find the locks of ``states`` and release those the request allows; returns ``{changed, released, kept}``.

    ``states``: dicts with ``bucket``, ``key`` and optionally ``workspace_key_prefix``, ``workspaces``,
    ``dynamodb_table``, ``region``. ``client_for(service, region)`` gives boto3 clients. Each release
    re-reads the lock and deletes it conditionally on what was read (see release()), pinned to the ID
    that was decided on, so a lock that changed hands in between is kept, with the reason.
    """
    stale_after = unlock_criteria(lock_id, stale_after, force)
    result = {"changed": False, "released": [], "kept": []}
    for state in states:
        region = state.get("region")
        request = {"bucket": state["bucket"], "key": state["key"], "region": region,
                   "workspace_key_prefix": state.get("workspace_key_prefix"), "workspaces": state.get("workspaces"),
                   "dynamodb_table": state.get("dynamodb_table")}
        found = find_locks(client_for, [request], stale_after=stale_after, now=now)
        to_release, kept = plan_unlock(found, lock_id, stale_after, force)
        result["kept"].extend(kept)
        # One release per state object and lock ID: it handles both stores of that state.
        groups = {}
        for record in to_release:
            groups.setdefault((record["state_key"], record["workspace"], record["id"]), []).append(record)
        for (state_object_key, workspace, record_id), records in sorted(groups.items(), key=lambda g: g[0][:2]):
            target = LockTarget(state["bucket"], state_object_key, dynamodb_table=state.get("dynamodb_table"),
                                workspace=workspace)
            outcome = release(client_for("s3", region),
                              client_for("dynamodb", region) if target.table else None, target,
                              lock_id=record_id, stale_after=None if (lock_id and force) else stale_after,
                              check_mode=check_mode, now=now)
            # Every lock released is reported; of those kept, the ones planned for release (another store's
            # lock under another ID is already listed as kept).
            wanted = set(record["store"] for record in records)
            result["released"].extend(outcome["released"])
            result["kept"].extend(r for r in outcome["kept"] if r["store"] in wanted)
            result["changed"] = result["changed"] or outcome["changed"]
    return result


def lock_id_not_released(result, lock_id):
    """Why the lock named by ``lock_id`` was not released by unlock_states(), None when it was (pure)."""
    if not lock_id or any(record.get("id") == lock_id for record in result["released"]):
        return None
    reasons = []
    for record in result["kept"]:
        if record.get("id") == lock_id and record["kept_reason"] not in reasons:
            reasons.append(record["kept_reason"])
    if not reasons:
        return "No lock with ID %s was found in the given states." % lock_id
    return "The lock with ID %s was kept: %s." % (lock_id, "; ".join(reasons))


# ---------------------------------------------------------------------------
# What lockfile and lockfile_probe share: where the lock is, and the probe

# The argument spec of the backend settings that place a state's lock object (doc fragment lock_target).
LOCK_TARGET_SPEC = dict(
    bucket=dict(type="str", required=True),
    key=dict(type="str", required=True, no_log=False),
    workspace=dict(type="str", default="default"),
    workspace_key_prefix=dict(type="str", no_log=False),
    encrypt=dict(type="bool", default=False),
    kms_key_id=dict(type="str", no_log=False),
)


def lock_target(params, dynamodb_table=None):
    """The LockTarget that LOCK_TARGET_SPEC's parameters name."""
    return LockTarget(
        params["bucket"],
        state_key(params["key"], params["workspace"], params["workspace_key_prefix"]),
        dynamodb_table=dynamodb_table,
        encrypt=params["encrypt"],
        kms_key_id=params["kms_key_id"],
        workspace=params["workspace"],
    )


def probe_result(module, s3, target):
    """Probe the bucket's conditional writes; fail naming the bucket when it does not honour them.

    ``module``: an AwsModule whose params hold ``operation``, ``info`` and ``who`` for the probe's lock.
    """
    if module.check_mode:
        return dict(changed=False, conditional_writes=None)
    lock = new_lock(target.path, module.params["operation"], info=module.params["info"], who=module.params["who"])
    try:
        refused = probe_conditional_writes(s3, target, lock)
    except AwsError as exc:
        module.fail_aws(exc, msg="Could not probe conditional writes in bucket %s" % target.bucket)
    if not refused:
        module.fail_json(msg="Bucket %s accepted a second PutObject with If-None-Match: * on one key: it does not "
                             "honour conditional writes, so use_lockfile cannot lock there." % target.bucket,
                         changed=False, conditional_writes=False)
    return dict(changed=False, conditional_writes=True)
