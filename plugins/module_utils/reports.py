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
# The rows an AWX artifact carries: the roots that need a person, or are kept back (auto's held, a pinned root).
ATTENTION = PROBLEMS + ("held", "pinned")
# Bounds of what a run hands to AWX (set_stats) and prints at its end; the report files hold every row.
ARTIFACT_ROWS = 100
# Bytes of JSON the listed rows, blockers and held-back roots may take in the artifacts, together (counts apart).
ARTIFACT_BUDGET = 48 * 1024
SUMMARY_ROWS = 10
SUMMARY_TEXT = 240
# Fields an artifact row leaves out: the diffs (kept in the report files) and the per-run detail.
ARTIFACT_DROPPED = ("files_diff", "diff", "verification", "interrupted", "workspaces", "durations", "record")


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


def _one_line(text, limit=SUMMARY_TEXT):
    """A reason or step on one line, at most ``limit`` characters."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _tally(tally):
    return ", ".join("%s %d" % (value, number) for value, number in sorted(tally.items(), key=lambda item: -item[1]))


def summary_lines(document, files=(), warnings=(), fleet_counts=None):
    """What the operator reads first at the end of a run: counts per status, each root that needs a person with its
    one-line reason and next step (at most SUMMARY_ROWS), the roots ahead of the target or that skipped dual, the
    warnings and the report files. A preview says that nothing was changed."""
    rows = document["results"]
    statuses = document["counts"].get("status") or {}
    kind = "PREVIEW (check mode), nothing was changed" if document.get("check_mode") else "run"
    head = "%s %s: %d root%s: %s" % (document["report"], kind, len(rows), "" if len(rows) == 1 else "s",
                                     _tally(statuses) or "none")
    lines = [head]
    attention = [row for row in rows if row.get("status") in ATTENTION]
    for row in attention[:SUMMARY_ROWS]:
        phase = " (%s)" % row["phase"] if row.get("phase") else ""
        lines.append("%s %s%s: %s" % (row.get("status"), row.get("host"), phase, _one_line(row.get("reason")) or "-"))
        if row.get("next_step"):
            lines.append("  next: %s" % _one_line(row["next_step"]))
    if len(attention) > SUMMARY_ROWS:
        lines.append("... and %d more that need attention: see the report" % (len(attention) - SUMMARY_ROWS))
    for status, label in (("ahead", "ahead of the target, left as they are"),):
        hosts = [row["host"] for row in rows if row.get("status") == status]
        if hosts:
            lines.append("%s (%d): %s" % (label, len(hosts), _names(hosts)))
    skipped = [row["host"] for row in rows if row.get("skipped_dual")]
    if skipped:
        lines.append("skipped dual (DynamoDB straight to lockfile) (%d): %s" % (len(skipped), _names(skipped)))
    steps = sorted(set(row["next_step"] for row in rows if row.get("status") not in ATTENTION and row.get("next_step")))
    for step in steps[:3]:
        lines.append("next: %s" % _one_line(step))
    if fleet_counts:
        lines.append("fleet view: %s" % (_tally(fleet_counts.get("status") or {}) or "empty"))
    lines += ["warning: %s" % _one_line(text) for text in warnings]
    markdown_files = [path for path in files if path.endswith(".md")]
    if markdown_files:
        lines.append("reports: %s" % ", ".join(markdown_files))
    return lines


def _names(hosts, limit=SUMMARY_ROWS):
    shown = ", ".join(hosts[:limit])
    return shown + (" and %d more" % (len(hosts) - limit) if len(hosts) > limit else "")


def _within(entries, budget, limit):
    """The first entries whose JSON fits ``budget`` bytes, at most ``limit`` of them."""
    kept, size = [], 0
    for entry in entries[:limit]:
        size += len(json.dumps(entry, default=str)) + 2
        if size > budget:
            break
        kept.append(entry)
    return kept


def artifacts(name, document, files, check_mode, limit=ARTIFACT_ROWS, budget=ARTIFACT_BUDGET):
    """The set_stats data of a run, bounded: counts, blockers, and the rows of the roots that need attention
    (ATTENTION statuses) without diffs, at most ``limit`` rows and ``budget`` bytes of rows and blockers, with a
    count of the rows left out; the report files (``files``) hold every row.
    """
    attention = [{key: value for key, value in row.items() if key not in ARTIFACT_DROPPED}
                 for row in document["results"] if row.get("status") in ATTENTION]
    rows = _within(attention, budget // 2, limit)
    held = held_back(document["results"])
    stats = {
        "tfstate_%s_counts" % name: document["counts"],
        "tfstate_%s_results" % name: rows,
        "tfstate_%s_results_omitted" % name: len(attention) - len(rows),
        "tfstate_%s_blockers" % name: _within(document["blockers"], budget // 4, limit),
        # migrate_target=auto: the roots kept in dual, and the locks that showed an old client.
        "tfstate_%s_held_back" % name: _within(held, budget // 4, limit),
        "tfstate_%s_report_files" % name: list(files),
    }
    if check_mode:
        stats = {"%s_preview" % key: value for key, value in stats.items()}
    return stats


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
    after = "after (would be)" if document.get("check_mode") else "after"
    lines += ["", "## Roots", "", "| host | status | lock mode before | %s | bucket/key | table | files | reason | time |"
              % after, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in document["results"]:
        lines.append("| %s |" % " | ".join(_cell(value) for value in (
            row.get("host"), str(row.get("status") or "") + (" (skipped dual)" if row.get("skipped_dual") else ""),
            row.get("lock_mode_before"), row.get("lock_mode_after"),
            "%s/%s" % (row.get("bucket") or "?", row.get("key") or "?"), row.get("dynamodb_table"),
            ", ".join(row.get("files_changed") or []), _one_line(row.get("reason")), row.get("time"))))
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
