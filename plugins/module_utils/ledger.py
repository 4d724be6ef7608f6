# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's ledger: one small S3 object per root and stage, written only by this collection.

Layout (docs/fleet-roles.md, "The ledger"): in each state bucket,
``tfstate-s3-backend-ledger/<state key>/<stage>.json`` with ``<stage>`` one of

- ``dual``: the root reached dual locking (dynamodb -> dual);
- ``lockfile``: the root reached lockfile-only locking (dual -> lockfile, or dynamodb -> lockfile);
- ``dynamodb``: the root was rolled back to DynamoDB locking; a rollback's entry is ``pinned`` (with its
  ``reason``): ``migrate_target: auto`` leaves the root there until an explicit ``dual`` or ``lockfile`` run
  moves it on, whose entry names the pin it lifted (``lifted_pin``);
- ``held``: not a stage but the last evidence of a client that still locks only through DynamoDB
  (``migrate_target: auto`` keeps such a root in dual and names the lock here).

A root's current stage is the stage of its latest stage object (by ``time``); an object is
rewritten only when the root enters that stage again (dual, rollback, dual again), so reruns
write nothing. Terraform never reads these keys: ``terraform workspace list`` lists
``<workspace_key_prefix>/<workspace>/<key>`` (or ``<workspace>/<key>`` with an empty prefix),
and a ledger key ends in ``/<stage>.json``, which is no root's ``key``.

The pure functions (entries, the fleet view, the ``migrate_target: auto`` step, retire's "still
used" reasons) take plain values; read_ledger/write_entry are the S3 side. No Ansible imports.
"""

import datetime
import json
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import AwsError, call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time, parse_time_or_none, utc_text
from ansible_collections.tfstate.s3_backend.plugins.module_utils.migration import FREEZE_MARK, LEGACY_FREEZE_INFO
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_keys import (
    LEDGER_PREFIX,
    parse_table_key,
    workspace_of,
)

SCHEMA_VERSION = 1
DUAL = "dual"
LOCKFILE = "lockfile"
DYNAMODB = "dynamodb"
HELD = "held"
STAGES = (DUAL, LOCKFILE, DYNAMODB)
OBJECT_NAMES = STAGES + (HELD,)
# What an entry carries (docs/fleet-roles.md).
ENTRY_FIELDS = ("stage", "from_stage", "time", "table", "bucket", "key", "workspace_key_prefix", "workspaces",
                "account", "region", "root", "host", "run_id", "job_id", "collection_version", "evidence", "reason",
                "pinned", "lifted_pin")
# The fields of an entry that differ between two runs that did the same thing.
RUN_FIELDS = ("time", "run_id", "job_id", "since", "generated")
DEFAULT_DUAL_GRACE = "7d"


class LedgerError(ValueError):
    """A ledger value or request that cannot be used."""


# ---------------------------------------------------------------------------
# Keys and entries.

def entry_key(state_object_key, name):
    """The ledger key of a root's stage object (``name`` in OBJECT_NAMES)."""
    if name not in OBJECT_NAMES:
        raise LedgerError("%r is not a ledger stage (%s)" % (name, ", ".join(OBJECT_NAMES)))
    return "%s%s/%s.json" % (LEDGER_PREFIX, state_object_key, name)


def parse_entry_key(key):
    """``(state key, name)`` of a ledger key, or None for any other key."""
    if not key.startswith(LEDGER_PREFIX) or not key.endswith(".json"):
        return None
    state_object_key, sep, name = key[len(LEDGER_PREFIX):-len(".json")].rpartition("/")
    if not sep or not state_object_key or name not in OBJECT_NAMES:
        return None
    return state_object_key, name


def new_entry(stage, moment, bucket, key, table=None, from_stage=None, workspace_key_prefix=None, workspaces=None,
              account=None, region=None, root=None, host=None, run_id=None, job_id=None, version=None,
              evidence=None, environ=None, reason=None, pinned=None, lifted_pin=None):
    """A ledger entry. ``job_id``: AWX's job (``JOB_ID``, ``AWX_JOB_ID``, ``TOWER_JOB_ID``) when not given.

    ``reason``: why (a rollback's ``rollback_reason``); ``pinned``: whether ``migrate_target: auto`` must leave
    the root at this stage (default: true for a ``dynamodb`` stage, which only a rollback writes);
    ``lifted_pin``: the pin (pin_of) an explicit run moved the root off.
    """
    environ = os.environ if environ is None else environ
    if stage not in OBJECT_NAMES:
        raise LedgerError("%r is not a ledger stage (%s)" % (stage, ", ".join(OBJECT_NAMES)))
    job = job_id or environ.get("JOB_ID") or environ.get("AWX_JOB_ID") or environ.get("TOWER_JOB_ID") or None
    return {
        "schema_version": SCHEMA_VERSION, "stage": stage, "from_stage": from_stage, "time": utc_text(moment),
        "table": table or None, "bucket": bucket, "key": key, "workspace_key_prefix": workspace_key_prefix,
        "workspaces": sorted(workspaces or []) or ["default"], "account": account, "region": region,
        "root": redact_url(root) if root else None, "host": host, "run_id": run_id, "job_id": job,
        "collection_version": version, "evidence": list(evidence or []), "reason": reason or None,
        "pinned": bool(stage == DYNAMODB if pinned is None else pinned), "lifted_pin": lifted_pin or None,
    }


def _entry_time(entry):
    return parse_time_or_none(entry.get("time"))


def root_entries(entries, bucket, key):
    """The entries of one root (bucket and state key)."""
    return [entry for entry in entries if entry.get("bucket") == bucket and entry.get("key") == key]


def current(entries):
    """The latest stage entry (not ``held``) of one root's entries, or None."""
    staged = [entry for entry in entries if entry.get("stage") in STAGES and _entry_time(entry) is not None]
    if not staged:
        return None
    return max(staged, key=lambda entry: (_entry_time(entry), STAGES.index(entry["stage"])))


def pin_of(entries):
    """``{since, run_id, job_id, host, reason}`` of the rollback that pins a root on DynamoDB, or None.

    A root is pinned while its current stage (current) is a ``pinned`` entry.
    """
    latest = current(entries)
    if latest is None or not latest.get("pinned"):
        return None
    return {"since": latest.get("time"), "run_id": latest.get("run_id"), "job_id": latest.get("job_id"),
            "host": latest.get("host"), "reason": latest.get("reason")}


def describe_pin(pin):
    """One sentence naming a pin: when, by which run and job, and why."""
    return "rolled back to DynamoDB at %s by run %s%s: %s" % (
        pin.get("since"), pin.get("run_id") or "?", " (AWX job %s)" % pin["job_id"] if pin.get("job_id") else "",
        pin.get("reason") or "no reason given")


def last_held(entries):
    held = [entry for entry in entries if entry.get("stage") == HELD and _entry_time(entry) is not None]
    return max(held, key=_entry_time) if held else None


def needs_write(entries, stage):
    """Whether reaching ``stage`` is news to the ledger: the root's current stage is another one."""
    latest = current(entries)
    return latest is None or latest.get("stage") != stage


def transition(entries, stage):
    """The ``from_stage`` of a new ``stage`` entry: the current stage, else dynamodb (a first migration)."""
    latest = current(entries)
    if latest is not None:
        return latest["stage"]
    return DYNAMODB if stage != DYNAMODB else None


# ---------------------------------------------------------------------------
# The fleet view.

def fleet_view(entries, problems=()):
    """Where every root in the ledger stands, per account, bucket and table.

    ``entries``: the entries of any number of buckets (read_ledger). Returns ``roots`` (one row per
    root: bucket, key, account, table, stage, since, root, host, run and job, history of stages,
    the last held-back evidence), ``counts`` (``{account: {bucket: {table: {stage: n}}}}``),
    ``stages`` (``{stage: n}``), ``tables`` (``{table: {stage: n}}``), ``held_back`` (the roots in dual
    whose last evidence is newer than their dual stage) and ``problems``.
    """
    by_root = {}
    for entry in entries:
        by_root.setdefault((entry.get("bucket"), entry.get("key")), []).append(entry)
    roots = []
    for (bucket, key), mine in sorted(by_root.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        latest = current(mine)
        held = last_held(mine)
        if latest is None:
            continue
        # The table a root's clients may still use: the stage's, else the last one any stage named.
        table = latest.get("table") or next((entry.get("table") for entry in sorted(
            mine, key=lambda entry: _entry_time(entry) or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc),
            reverse=True) if entry.get("table")), None)
        row = {
            "bucket": bucket, "key": key, "account": latest.get("account"), "region": latest.get("region"),
            "table": table, "stage": latest["stage"], "since": latest.get("time"), "root": latest.get("root"),
            "host": latest.get("host"), "run_id": latest.get("run_id"), "job_id": latest.get("job_id"),
            "workspace_key_prefix": latest.get("workspace_key_prefix"), "workspaces": latest.get("workspaces"),
            "history": [{"stage": entry["stage"], "from_stage": entry.get("from_stage"), "time": entry.get("time")}
                        for entry in sorted(mine, key=lambda entry: entry.get("time") or "")
                        if entry.get("stage") in STAGES],
            "held_back": None,
            "pinned": pin_of(mine),
        }
        if held is not None and latest["stage"] == DUAL and _entry_time(held) >= _entry_time(latest):
            row["held_back"] = {"since": held.get("time"), "evidence": held.get("evidence") or []}
        roots.append(row)
    counts = {}
    stages = {}
    tables = {}
    for row in roots:
        account = str(row["account"] or "-")
        table = str(row["table"] or "-")
        place = counts.setdefault(account, {}).setdefault(row["bucket"], {}).setdefault(table, {})
        place[row["stage"]] = place.get(row["stage"], 0) + 1
        stages[row["stage"]] = stages.get(row["stage"], 0) + 1
        tables.setdefault(table, {})[row["stage"]] = tables.setdefault(table, {}).get(row["stage"], 0) + 1
    return {
        "schema_version": SCHEMA_VERSION, "roots": roots, "counts": counts, "stages": stages, "tables": tables,
        "held_back": [{"bucket": row["bucket"], "key": row["key"], "host": row["host"], "root": row["root"],
                       "table": row["table"], "evidence": row["held_back"]["evidence"]}
                      for row in roots if row["held_back"]],
        "pinned": [dict(row["pinned"], bucket=row["bucket"], key=row["key"], host=row["host"], root=row["root"])
                   for row in roots if row["pinned"]],
        "problems": list(problems),
    }


def comparable(view):
    """The view without what differs between runs that did the same (times, run and job IDs)."""
    def strip(value):
        if isinstance(value, dict):
            return {name: strip(item) for name, item in value.items() if name not in RUN_FIELDS}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value
    return strip(view)


def retirable_tables(view, now, grace_seconds):
    """``{table: reason}`` for tables whose every ledger root has been lockfile for the grace, else the
    tables kept with why: ``(retirable, kept)``."""
    retirable, kept = {}, {}
    by_table = {}
    for row in view["roots"]:
        if row["table"]:
            by_table.setdefault(row["table"], []).append(row)
    for table, rows in sorted(by_table.items()):
        waiting = [row for row in rows if row["stage"] != LOCKFILE]
        if waiting:
            kept[table] = "root %s is in stage %s" % (describe_root(waiting[0]), waiting[0]["stage"])
            continue
        last = max(parse_time(row["since"]) for row in rows)
        left = last + datetime.timedelta(seconds=grace_seconds) - now
        if left > datetime.timedelta(0):
            kept[table] = "the last root went lockfile at %s; %.1f hour(s) of the retire grace left" % (
                utc_text(last), left.total_seconds() / 3600)
        else:
            retirable[table] = "every root (%d) lockfile since %s or earlier" % (len(rows), utc_text(last))
    return retirable, kept


def describe_root(row):
    """How messages name a root of the ledger: its host and root, and where its state is."""
    name = row.get("host") or row.get("root") or "?"
    if row.get("root") and row.get("root") != name:
        name = "%s (%s)" % (name, row["root"])
    return "%s, state s3://%s/%s" % (name, row.get("bucket"), row.get("key"))


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
        if info.startswith(FREEZE_MARK) or info == LEGACY_FREEZE_INFO:
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


# ---------------------------------------------------------------------------
# S3.

def read_ledger(s3, bucket, page_size=None):
    """``(entries, problems)`` of one bucket's ledger: one listing (paginated), a GET per object.

    An object that cannot be read as an entry is a problem naming it, not an entry.
    """
    entries, problems = [], []
    kwargs = {"Bucket": bucket, "Prefix": LEDGER_PREFIX}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": int(page_size)}
    for page in paginate(s3, "list_objects_v2", resource="s3://%s/%s" % (bucket, LEDGER_PREFIX), **kwargs):
        for summary in page.get("Contents") or []:
            parsed = parse_entry_key(summary["Key"])
            if parsed is None:
                continue
            answer = call(s3, "get_object", resource="s3://%s/%s" % (bucket, summary["Key"]),
                          ignore_codes=("NoSuchKey", "404"), Bucket=bucket, Key=summary["Key"])
            if answer is None:
                continue  # deleted since the listing
            entry, problem = parse_entry(answer["Body"].read(), bucket, summary["Key"], parsed)
            if problem:
                problems.append(problem)
            else:
                entries.append(entry)
    return entries, problems


def parse_entry(body, bucket, object_key, parsed):
    """``(entry, None)`` or ``(None, problem)`` for an object's bytes; bucket and key come from its place."""
    where = "s3://%s/%s" % (bucket, object_key)
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, "%s is not a ledger entry (JSON): %s" % (where, exc)
    if not isinstance(data, dict):
        return None, "%s is not a ledger entry: a JSON object is expected" % where
    if data.get("stage") != parsed[1]:
        return None, "%s says stage %r, its name %r" % (where, data.get("stage"), parsed[1])
    try:
        parse_time(data.get("time"))
    except ValueError as exc:
        return None, "%s: time %s" % (where, exc)
    entry = {field: data.get(field) for field in ENTRY_FIELDS}
    entry.update(bucket=bucket, key=parsed[0])
    return entry, None


def write_entry(s3, entry, encrypt=False, kms_key_id=None):
    """Write one entry at its place (encrypted like the backend); returns the object key."""
    key = entry_key(entry["key"], entry["stage"])
    extra = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    elif encrypt:
        extra = {"ServerSideEncryption": "AES256"}
    call(s3, "put_object", resource="s3://%s/%s" % (entry["bucket"], key), Bucket=entry["bucket"], Key=key,
         Body=json.dumps(entry, sort_keys=True, indent=2).encode("utf-8"), ContentType="application/json", **extra)
    return key


def read_root_entries(s3, bucket, state_object_key):
    """One root's entries: a GET per possible object (no listing)."""
    entries = []
    for name in OBJECT_NAMES:
        key = entry_key(state_object_key, name)
        answer = call(s3, "get_object", resource="s3://%s/%s" % (bucket, key), ignore_codes=("NoSuchKey", "404"),
                      Bucket=bucket, Key=key)
        if answer is None:
            continue
        entry, problem = parse_entry(answer["Body"].read(), bucket, key, (state_object_key, name))
        if problem:
            raise LedgerError(problem)
        entries.append(entry)
    return entries


def record_stage(s3, entry, encrypt=False, kms_key_id=None, existing=None):
    """Write ``entry`` when its stage is news for the root (needs_write); returns the key written or None."""
    if existing is None:
        existing = read_root_entries(s3, entry["bucket"], entry["key"])
    if entry["stage"] != HELD and not needs_write(existing, entry["stage"]):
        return None
    if entry["stage"] != HELD and not entry.get("from_stage"):
        entry["from_stage"] = transition(existing, entry["stage"])
    return write_entry(s3, entry, encrypt, kms_key_id)


def read_fleet(s3, buckets, page_size=None, unreadable=None):
    """The fleet view of the ledgers of ``buckets``; a bucket whose ledger cannot be read is a problem.

    ``unreadable``, a list, gets ``{bucket, problem}`` of every bucket not read, a missing one included.
    """
    entries, problems = [], []
    for bucket in sorted(set(bucket for bucket in buckets if bucket)):
        try:
            found, bad = read_ledger(s3, bucket, page_size)
        except AwsError as exc:
            if unreadable is not None:
                unreadable.append({"bucket": bucket, "problem": "bucket %s does not exist" % bucket
                                   if exc.code == "NoSuchBucket" else "the ledger of bucket %s cannot be read: %s"
                                   % (bucket, exc)})
            if exc.code == "NoSuchBucket":
                continue  # a bucket that is gone holds no root (a table item may still name it)
            problems.append("the ledger of bucket %s cannot be read, so roots recorded there are unknown: %s" % (
                bucket, exc))
            continue
        entries.extend(found)
        problems.extend(bad)
    return fleet_view(entries, problems)


def ledger_backends(view, table, play_states, resolve):
    """``{(bucket, key): {file, line, lock_mode, dynamodb_table}}`` of the ledger's roots of ``table`` outside
    the play whose directory this controller can read; ``resolve(path)`` gives root_backend.resolve_root's
    backend, or None when it cannot be read: such a root is judged by its ledger stage alone.
    """
    found = {}
    for row in view["roots"]:
        place = (row["bucket"], row["key"])
        if row["table"] != table or place in play_states or not row.get("root") or not os.path.isdir(row["root"]):
            continue
        backend = resolve(row["root"])
        if not backend:
            continue
        settings = backend.get("settings") or {}
        if (settings.get("bucket"), settings.get("key")) != place:
            continue
        found[place] = {"file": backend.get("file"), "line": backend.get("line"), "lock_mode": backend.get("lock_mode"),
                        "dynamodb_table": settings.get("dynamodb_table")}
    return found


def _cell(value):
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def fleet_markdown(view, generated, retirable=None, kept=None):
    """The Markdown rendering of a fleet view (fleet_view), with the tables' retirement state."""
    lines = ["# Fleet ledger", "", "Generated %s from the ledger; no root was read or changed." % generated, "",
             "## Stages", ""]
    lines += ["- %s: %d" % (stage, number) for stage, number in sorted(view["stages"].items())] or ["- no root"]
    lines += ["", "## Per account, bucket and table", "", "| account | bucket | table | stages |",
              "| --- | --- | --- | --- |"]
    for account, buckets in sorted(view["counts"].items()):
        for bucket, tables in sorted(buckets.items()):
            for table, stages in sorted(tables.items()):
                lines.append("| %s | %s | %s | %s |" % (_cell(account), _cell(bucket), _cell(table), ", ".join(
                    "%s %d" % (stage, number) for stage, number in sorted(stages.items()))))
    if retirable or kept:
        lines += ["", "## Lock tables", "", "| table | retirable | why |", "| --- | --- | --- |"]
        for table, why in sorted((retirable or {}).items()):
            lines.append("| %s | yes | %s |" % (_cell(table), _cell(why)))
        for table, why in sorted((kept or {}).items()):
            lines.append("| %s | no | %s |" % (_cell(table), _cell(why)))
    if view["held_back"]:
        lines += ["", "## Held back in dual", "", "| host | state | evidence |", "| --- | --- | --- |"]
        for row in view["held_back"]:
            cells = (_cell(row["host"]), _cell(row["bucket"]), _cell(row["key"]), _cell("; ".join(row["evidence"])))
            lines.append("| %s | s3://%s/%s | %s |" % cells)
    if view.get("pinned"):
        lines += ["", "## Pinned on DynamoDB (rolled back)", "", "| host | state | since | run | reason |",
                  "| --- | --- | --- | --- | --- |"]
        for row in view["pinned"]:
            lines.append("| %s | s3://%s/%s | %s | %s | %s |" % tuple(_cell(value) for value in (
                row["host"], row["bucket"], row["key"], row["since"], row["run_id"], row["reason"])))
    if view["problems"]:
        lines += ["", "## Problems", ""] + ["- %s" % problem for problem in view["problems"]]
    lines += ["", "## Roots", "", "| host | root | bucket/key | account | table | stage | since |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in view["roots"]:
        lines.append("| %s |" % " | ".join(_cell(value) for value in (
            row["host"], row["root"], "%s/%s" % (row["bucket"], row["key"]), row["account"], row["table"],
            row["stage"], row["since"])))
    return "\n".join(lines) + "\n"
