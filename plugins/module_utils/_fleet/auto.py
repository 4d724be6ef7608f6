# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``migrate_target: auto``: the one stage a root moves per run, the evidence of an old DynamoDB-only
client that holds it in dual, and who still uses a lock table. No Ansible imports."""

import datetime
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time, utc_text
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.runs import FREEZE_MARK
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import parse_table_key, workspace_of
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.ledger import (
    DUAL,
    DYNAMODB,
    LOCKFILE,
    LedgerError,
    _entry_time,
    current,
    describe_pin,
    describe_root,
    last_held,
    pin_of,
)


# ---------------------------------------------------------------------------
# migrate_target: auto

def old_client_evidence(locks):
    """What in a root's locks shows a client that still locks only through DynamoDB, one sentence each.

    ``locks``: lock records of both stores for the root's states (locks.find_locks). Evidence: a
    DynamoDB lock item without a ``.tflock`` object for the same state (a dual or lockfile client
    takes the object first), and any lock written by a Terraform older than 1.10 (no use_lockfile).
    This collection's own maintenance locks are taken in both stores and never count.
    """
    found = []
    in_s3 = set(lock.get("state_path") for lock in locks if lock.get("store") == "s3")
    for lock in sorted(locks, key=lambda lock: (lock.get("store") or "", lock.get("state_path") or "")):
        info = lock.get("info") or ""
        if info.startswith(FREEZE_MARK):
            continue
        what = "%s lock %s held by %s (Terraform %s, operation %s, ID %s, since %s)" % (
            "DynamoDB" if lock.get("store") == "dynamodb" else "S3",
            ("%s item %s" % (lock.get("table"), lock.get("table_key"))) if lock.get("store") == "dynamodb"
            else "s3://%s/%s" % (lock.get("bucket"), lock.get("lock_key")),
            lock.get("who") or "?", lock.get("version") or "?", lock.get("operation") or "?", lock.get("id") or "?",
            lock.get("created") or "?")
        if lock.get("store") == "dynamodb" and lock.get("state_path") not in in_s3:
            found.append("%s without a matching .tflock object: a client that locks only through DynamoDB" % what)
        elif older_than_use_lockfile(lock.get("version")):
            found.append("%s: written by a Terraform older than 1.10, which cannot use the lock file" % what)
    return found


def older_than_use_lockfile(version):
    """Whether a lock's ``Version`` is a Terraform older than 1.10 (no use_lockfile); False when unknown."""
    match = re.match(r"^v?(\d+)\.(\d+)", str(version or ""))
    if not match:
        return False
    return (int(match.group(1)), int(match.group(2))) < (1, 10)


def auto_step(lock_mode, entries, now, dual_grace_seconds, evidence):
    """One root's move under ``migrate_target: auto``: ``{target, status, why, evidence}``.

    ``lock_mode``: the root's files (dynamodb, dual, lockfile); ``entries``: its ledger entries;
    ``evidence``: old_client_evidence now. ``target`` is the stage to migrate to this run (the
    migrate role's dual or lockfile), or None when the root stays where it is; ``status`` is
    ``move``, ``waiting`` (dual, grace not over), ``held`` (dual, an old client seen), ``pinned`` (rolled back:
    stays until an explicit dual or lockfile run; ``pin`` says when, by which run and why) or ``done``.
    """
    pin = pin_of(entries)
    if pin is not None:
        return {"target": None, "status": "pinned", "evidence": [], "pin": pin,
                "why": "stays on DynamoDB: %s; only an explicit migrate_target=dual or lockfile run moves it on"
                       % describe_pin(pin)}
    latest = current(entries)
    held = last_held(entries)
    grace = datetime.timedelta(seconds=dual_grace_seconds)
    if lock_mode == DYNAMODB:
        return {"target": DUAL, "status": "move", "why": "dynamodb -> dual", "evidence": []}
    if lock_mode == LOCKFILE:
        if latest is None or latest["stage"] != LOCKFILE:
            return {"target": LOCKFILE, "status": "move",
                    "why": "the files lock with lockfile only but the ledger does not say so: recorded now",
                    "evidence": []}
        return {"target": None, "status": "done", "why": "lockfile since %s" % latest.get("time"), "evidence": []}
    if lock_mode != DUAL:
        raise LedgerError("lock mode %r cannot be moved by migrate_target=auto" % (lock_mode,))
    if latest is None or latest["stage"] != DUAL:
        return {"target": DUAL, "status": "move",
                "why": "the files lock in dual mode but the ledger does not say so: recorded now, the grace starts",
                "evidence": []}
    if evidence:
        return {"target": None, "status": "held", "why": "stays in dual: %s" % "; ".join(evidence),
                "evidence": list(evidence)}
    since = _entry_time(latest)
    if held is not None and _entry_time(held) >= since:
        until = _entry_time(held) + grace
        if now < until:
            return {"target": None, "status": "held",
                    "why": "stays in dual until %s: a client that locks only through DynamoDB was seen at %s: %s" % (
                        utc_text(until), held.get("time"), "; ".join(held.get("evidence") or [])),
                    "evidence": list(held.get("evidence") or [])}
    if now < since + grace:
        left = since + grace - now
        return {"target": None, "status": "waiting",
                "why": "in dual since %s; %.1f day(s) of the dual grace left" % (
                    latest.get("time"), left.total_seconds() / 86400), "evidence": []}
    return {"target": LOCKFILE, "status": "move",
            "why": "dual -> lockfile: in dual since %s, no client that locks only through DynamoDB seen" % latest.get(
                "time"), "evidence": []}


# ---------------------------------------------------------------------------
# Retire: who still uses a table, from the ledger and the table's own items.

def table_users(table, view, items, play_states, backends=None):
    """Every reason, outside the current play, to think ``table`` is still used; one sentence each.

    ``view``: fleet_view of the ledgers; ``items``: the table's items (plain dicts with ``LockID``);
    ``play_states``: ``{(bucket, state key)}`` of the roots the play examined (their own findings
    speak for them); ``backends``: ``{(bucket, key): {file, line, lock_mode, dynamodb_table}}`` read
    now from the directories the ledger names (roots this controller can read).
    """
    backends = backends or {}
    reasons = []
    in_play = set(play_states)
    known = {}
    for row in view["roots"]:
        known[(row["bucket"], row["key"])] = row
        if (row["bucket"], row["key"]) in in_play:
            continue
        found = backends.get((row["bucket"], row["key"]))
        if found and found.get("dynamodb_table") == table:
            reasons.append("root %s still names the table in its backend (%s:%s, lock mode %s; known from the "
                           "ledger)" % (describe_root(row), found.get("file"), found.get("line"),
                                        found.get("lock_mode")))
        elif row["table"] == table and row["stage"] != LOCKFILE:
            reasons.append("root %s is in stage %s with the table since %s (ledger of bucket %s)" % (
                describe_root(row), row["stage"], row["since"], row["bucket"]))
    for item in items:
        parsed = parse_table_key(item.get("LockID") or "")
        if not parsed or not parsed[2]:
            continue  # lock items: the table's own check refuses every one
        bucket, state_object_key = parsed[0], parsed[1]
        owner = _owner(known, bucket, state_object_key)
        if owner is not None and (owner in in_play or known[owner]["stage"] == LOCKFILE):
            continue
        if owner is None and _owned_by_play(in_play, bucket, state_object_key):
            continue
        if owner is None:
            reasons.append("digest item %s shows a state (s3://%s/%s) of a root that neither this run nor the ledger "
                           "knows: a client that still writes with the table" % (item["LockID"], bucket,
                                                                                 state_object_key))
    return reasons


def _owner(known, bucket, state_object_key):
    for (row_bucket, key), row in known.items():
        if row_bucket == bucket and workspace_of(state_object_key, key, row.get("workspace_key_prefix")):
            return (row_bucket, key)
    return None


def _owned_by_play(in_play, bucket, state_object_key):
    return any(play_bucket == bucket and workspace_of(state_object_key, key) for play_bucket, key in in_play)


def last_lockfile_time(view, table):
    """The latest time a root of ``table`` went lockfile, per the ledger (text), or None."""
    times = [row["since"] for row in view["roots"] if row["table"] == table and row["stage"] == LOCKFILE]
    return max(times, key=parse_time) if times else None


def buckets_of_items(items):
    """The buckets the table's items name (``<bucket>/<key>`` and ``-md5`` digests)."""
    found = set()
    for item in items:
        parsed = parse_table_key(item.get("LockID") or "")
        if parsed:
            found.add(parsed[0])
    return sorted(found)
