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
used" reasons) take plain values; read_ledger/write_entry are the S3 side. No Ansible imports."""

import datetime
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time, parse_time_or_none, utc_text
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import LEDGER_PREFIX


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
