# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run reports and the fleet view, as plain functions (no Ansible, no AWS calls).

A run writes ``<name>-<run start, UTC>.json`` and ``.md`` (rows of this run's roots, merged when
``serial`` batches of one run report in turn), copies them to ``<name>-report.*`` (the last real
run), and updates ``<name>-fleet.*``: the previous fleet view, this run's rows on top, completed
by the migration records found in the buckets, so ``--limit`` runs and AWX job slices add up to
one picture. A check-mode run writes ``<name>-preview-*`` only, titled as a preview.
"""

import collections
import json
import os
import tempfile

SCHEMA_VERSION = 1
COUNTED = (("status", "status"), ("lock_mode", "lock_mode_after"), ("stage", "target"), ("bucket", "bucket"),
           ("dynamodb_table", "dynamodb_table"), ("account", "account"))
PROBLEMS = ("stopped", "failed", "refused", "would_stop", "would_fail", "unsupported")


def file_stamp(utc_text):
    """``2026-11-29T20:05:36Z`` -> ``20261129T200536Z`` (a file name part)."""
    return utc_text.replace("-", "").replace(":", "")


def counts(rows):
    """``{dimension: {value: number}}`` over the rows (per status, lock mode, stage, bucket, table, account)."""
    result = {}
    for name, field in COUNTED:
        tally = collections.Counter(str(row.get(field) or "-") for row in rows)
        result[name] = dict(sorted(tally.items()))
    return result


def blockers(rows):
    """The rows that need a person: host, status, reason and what to do next.

    An ``unsupported`` root (Terragrunt without a binary) is listed though it does not fail the run.
    """
    return [{"host": row.get("host"), "status": row.get("status"), "reason": row.get("reason"),
             "next_step": row.get("next_step")} for row in rows if row.get("status") in PROBLEMS]


def held_back(rows):
    """The roots migrate_target=auto kept in dual: host, bucket/key, the reason and the evidence (locks)."""
    return [{"host": row.get("host"), "bucket": row.get("bucket"), "key": row.get("key"), "reason": row.get("reason"),
             "evidence": row.get("held_back")} for row in rows if row.get("held_back")]


def run_document(name, rows, run, generated, check_mode, previous=None):
    """The JSON document of one run; rows of an earlier batch of the same run (``previous``) are kept."""
    by_host = {}
    if previous and previous.get("run", {}).get("run_id") == run.get("run_id"):
        by_host.update((row["host"], row) for row in previous.get("results") or [])
    by_host.update((row["host"], row) for row in rows)
    merged = [by_host[host] for host in sorted(by_host)]
    return {
        "schema_version": SCHEMA_VERSION,
        "report": name,
        "kind": "preview" if check_mode else "run",
        "check_mode": bool(check_mode),
        "title": ("PREVIEW (check mode): nothing was changed" if check_mode else "%s run" % name),
        "generated": generated,
        "run": run,
        "counts": counts(merged),
        "blockers": blockers(merged),
        "results": merged,
    }


def fleet_document(name, previous, rows, records, generated):
    """The fleet view: every root ever reported or recorded, this run's rows winning.

    ``records``: ``{(bucket, state key): record}`` read from the buckets. A root known only by its
    record (run by another controller or job slice) gets a row of its own with ``status: recorded``.
    """
    by_host = {row["host"]: row for row in (previous or {}).get("results") or []}
    by_host.update((row["host"], dict(row)) for row in rows)
    placed = {}
    for host, row in by_host.items():
        placed[(row.get("bucket"), row.get("key"))] = host
    for (bucket, key), record in sorted(records.items()):
        host = placed.get((bucket, key))
        if host is None:
            host = record.get("host") or "%s/%s" % (bucket, key)
            by_host.setdefault(host, {
                "host": host, "root": record.get("root"), "status": "recorded", "bucket": bucket, "key": key,
                "lock_mode_after": record.get("mode"), "target": record.get("mode"),
                "dynamodb_table": record.get("dynamodb_table"), "reason": "", "next_step": "",
                "time": record.get("recorded_time") or record.get("cutover_time"),
            })
        by_host[host]["record"] = {"mode": record.get("mode"), "cutover_time": record.get("cutover_time"),
                                   "recorded_time": record.get("recorded_time"), "run_id": record.get("run_id"),
                                   "job_id": record.get("job_id")}
    merged = [by_host[host] for host in sorted(by_host)]
    return {
        "schema_version": SCHEMA_VERSION,
        "report": name,
        "kind": "fleet",
        "check_mode": False,
        "title": "%s fleet view" % name,
        "generated": generated,
        "counts": counts(merged),
        "blockers": blockers(merged),
        "results": merged,
    }


def _cell(value):
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(document):
    """The Markdown rendering of a run, preview or fleet document."""
    lines = ["# %s" % document["title"], "", "Generated %s." % document["generated"]]
    run = document.get("run")
    if run:
        job = " (AWX job %s)" % run["job_id"] if run.get("job_id") else ""
        lines.append("Run %s%s, started %s." % (run.get("run_id"), job, run.get("started")))
    if document.get("check_mode"):
        lines += ["", "**Check mode: a preview. No file, lock, record or terraform state was changed.**"]
    lines += ["", "## Counts", ""]
    for dimension, tally in document["counts"].items():
        lines.append("- %s: %s" % (dimension, ", ".join("%s %d" % (value, number) for value, number in tally.items())))
    if document["blockers"]:
        lines += ["", "## Needs attention", "", "| host | status | reason | next step |", "| --- | --- | --- | --- |"]
        for row in document["blockers"]:
            cells = tuple(_cell(row.get(field)) for field in ("host", "status", "reason", "next_step"))
            lines.append("| %s | %s | %s | %s |" % cells)
    held = held_back(document["results"])
    if held:
        lines += ["", "## Held back in dual", "", "| host | bucket/key | evidence |", "| --- | --- | --- |"]
        for row in held:
            lines.append("| %s | %s/%s | %s |" % (_cell(row["host"]), _cell(row["bucket"]), _cell(row["key"]),
                                                  _cell("; ".join(row["evidence"]))))
    lines += ["", "## Roots", "", "| host | status | lock mode before | after | bucket/key | table | files | time |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in document["results"]:
        lines.append("| %s |" % " | ".join(_cell(value) for value in (
            row.get("host"), row.get("status"), row.get("lock_mode_before"), row.get("lock_mode_after"),
            "%s/%s" % (row.get("bucket") or "?", row.get("key") or "?"), row.get("dynamodb_table"),
            ", ".join(row.get("files_changed") or []), row.get("time"))))
    diffs = [row for row in document["results"] if row.get("files_diff")]
    if diffs:
        lines += ["", "## What each root's files would become" if document.get("check_mode") else "## Diffs"]
        for row in diffs:
            lines += ["", "### %s" % row.get("host")]
            if row.get("status") == "unsupported":
                lines += ["", "Not applied by this role (%s): apply it by hand, then run `%s`." % (
                    row.get("unsupported") or "unsupported", row.get("reinit_command") or "init -reconfigure")]
            lines += ["", "```diff", row["files_diff"].rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def read_json(path):
    """A report document from disk, or None when missing or unreadable."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_atomic(path, text):
    """Write through a temporary file in the same directory and rename: readers never see half a report."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_document(directory, base_name, document):
    """``<base_name>.json`` and ``.md`` in ``directory``; returns their paths."""
    json_path = os.path.join(directory, base_name + ".json")
    md_path = os.path.join(directory, base_name + ".md")
    write_atomic(json_path, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    write_atomic(md_path, markdown(document))
    return [json_path, md_path]
