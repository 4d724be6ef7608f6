# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run reports and the fleet view, as plain functions (no Ansible, no AWS calls).

A run writes ``<name>-<run start, UTC>.json`` and ``.md`` (rows of this run's roots, merged when
``serial`` batches of one run report in turn), copies them to ``<name>-report.*`` (the last real
run), and writes ``migrate-fleet.*``, the fleet view: the ledger of the run's buckets (so --limit
runs, job slices, rollbacks and other inventories' runs add up to one picture), with what this run
saw of each root; the run report carries the same view as its ``fleet`` section. A check-mode run writes ``<name>-preview-*`` only, titled as a preview.
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


# The one key set of a root's report row, for every status of the migrate and rollback roles (root_result, and
# root_stage's row of a root migrate_target=auto leaves at its stage), with the value a field has when nothing
# says otherwise. A list or dict default is copied per row.
ROW_DEFAULTS = (
    ("host", None), ("root", None), ("backend_file", ""), ("status", None),
    ("phase", None),  # where the root stopped or failed (None when it did not)
    ("reason", ""), ("cause", None), ("next_step", ""), ("check_mode", False), ("fails_root", False),
    ("unsupported", None), ("reinit_command", None), ("action", None), ("target", None), ("skipped_dual", False),
    ("lock_mode_before", None), ("lock_mode_after", None), ("files_lock_mode_after", None),
    ("initialised_lock_mode_after", None), ("interrupted", []), ("resumed_from", None), ("left", None),
    ("thaw_failure", None),
    ("bucket", None), ("key", None), ("region", None), ("account", None), ("principal", None), ("identity", None),
    ("dynamodb_table", None), ("digests_synced", []), ("table_created", False),
    ("workspaces", []), ("files_changed", []), ("files_diff", None), ("branch", ""), ("digests_removed", 0),
    ("cutover_time", ""), ("lifted_pin", None), ("verification", {}),
    ("held_back", []),  # migrate_target=auto: the old-client evidence that keeps the root in dual
    ("pinned", None),  # migrate_target=auto: the rollback's pin that leaves the root on DynamoDB
    ("run_id", None), ("started", None), ("time", None),
)
ROW_FIELDS = tuple(name for name, _default in ROW_DEFAULTS)


def root_row(**fields):
    """One root's report row: every ROW_FIELDS key, in that order, ``fields`` over the defaults.

    A name outside ROW_FIELDS is a ValueError: a row field is added here, for every status and role at once.
    """
    unknown = sorted(set(fields) - set(ROW_FIELDS))
    if unknown:
        raise ValueError("not report row fields: %s" % ", ".join(unknown))
    return {name: fields[name] if name in fields else json.loads(json.dumps(default))
            for name, default in ROW_DEFAULTS}


def identity_fields(identity):
    """A row's ``principal`` (the STS caller ARN) and ``identity`` (whether the backend said who to be: ``backend``,
    else ``options``) from a described identity (RootAction.root_connection, no secrets); Nones without one."""
    identity = identity or {}
    return {"principal": identity.get("principal"),
            "identity": ("backend" if identity.get("use_backend") else "options") if identity else None}


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


FLEET_STEM = "migrate-fleet"
# The fleet view's counts: per standing (the ledger's stage, or pinned/held), account, bucket and table.
FLEET_COUNTED = (("status", "status"), ("account", "account"), ("bucket", "bucket"),
                 ("dynamodb_table", "dynamodb_table"))
# What a fleet row keeps of this run's row for the root.
_LAST_RUN = ("status", "reason", "next_step", "phase", "run_id", "time", "lifted_pin")


def fleet_row(ledger_row, run_row=None):
    """One root of the fleet view: where the ledger says it stands, and what this run saw of it (``last_run``).

    ``status`` is the root's standing: its ledger stage (``dynamodb``, ``dual``, ``lockfile``), ``pinned``
    (rolled back, auto leaves it) or ``held`` (in dual, an old client seen). A root the ledger does not
    know stands where this run measured its files, else ``unknown``; a run's own problem (it could not
    read the root) is its ``last_run``, never its standing.
    """
    run_row = run_row or {}
    if ledger_row is None:
        standing = run_row.get("files_lock_mode_after") or "unknown"
        ledger_row = {"bucket": run_row.get("bucket"), "key": run_row.get("key"), "account": run_row.get("account"),
                      "region": run_row.get("region"), "table": run_row.get("dynamodb_table"),
                      "root": run_row.get("root"), "host": run_row.get("host"), "stage": None}
    elif ledger_row.get("pinned"):
        standing = "pinned"
    elif ledger_row.get("held_back"):
        standing = "held"
    else:
        standing = ledger_row["stage"]
    return {
        "host": run_row.get("host") or ledger_row.get("host") or "%s/%s" % (ledger_row["bucket"], ledger_row["key"]),
        "root": ledger_row.get("root") or run_row.get("root"), "bucket": ledger_row.get("bucket"),
        "key": ledger_row.get("key"), "account": ledger_row.get("account"), "region": ledger_row.get("region"),
        "dynamodb_table": ledger_row.get("table"), "status": standing, "stage": ledger_row.get("stage"),
        "since": ledger_row.get("since"), "run_id": ledger_row.get("run_id"), "job_id": ledger_row.get("job_id"),
        "pinned": ledger_row.get("pinned"),
        "held_back": (ledger_row.get("held_back") or {}).get("evidence") or [],
        "last_run": {name: run_row.get(name) for name in _LAST_RUN} if run_row else None,
    }


def fleet_document(name, view, rows, unread, previous, generated):
    """The fleet view: every root of the ledgers of this run's buckets, with what this run saw of each.

    ``view``: ledger.fleet_view of the buckets whose ledger was read; ``rows``: this run's rows;
    ``unread``: ``{bucket: why}`` for the run's buckets whose ledger could not be read, whose roots keep
    the previous fleet document's rows (``previous``) rather than what a run that could not read them says.
    Roots of other buckets (another fleet sharing the report directory) are not in it.
    """
    by_place = {(row.get("bucket"), row.get("key")): row for row in rows if row.get("bucket")}
    # A row that names no state (the run could not read the root's backend) is matched by its host.
    unplaced = {row.get("host"): row for row in rows if not row.get("bucket")}
    by_host = {row.get("host"): row for row in rows}
    results, seen = [], set()
    for ledger_row in view["roots"]:
        run_row = by_place.get((ledger_row["bucket"], ledger_row["key"])) or unplaced.get(ledger_row.get("host"))
        results.append(fleet_row(ledger_row, run_row))
        seen.add(run_row.get("host") if run_row else None)
    kept = [row for row in (previous or {}).get("results") or [] if row.get("bucket") in unread]
    for row in kept:
        results.append(dict(row, last_run=fleet_row(None, by_host[row["host"]])["last_run"]
                            if row.get("host") in by_host else row.get("last_run")))
        seen.add(row.get("host"))
    results += [fleet_row(None, row) for row in rows if row.get("host") not in seen]
    results.sort(key=lambda row: (str(row["bucket"]), str(row["key"]), str(row["host"])))
    problems = list(view.get("problems") or []) + [
        "the ledger of bucket %s could not be read by this run (%s): its roots are shown as the previous fleet view "
        "had them" % (bucket, why) for bucket, why in sorted(unread.items())]
    return {
        "schema_version": SCHEMA_VERSION,
        "report": name,
        "kind": "fleet",
        "check_mode": False,
        "title": "Fleet view (from the ledger)",
        "generated": generated,
        "counts": {dimension: dict(sorted(collections.Counter(str(row.get(field) or "-") for row in results).items()))
                   for dimension, field in FLEET_COUNTED},
        "blockers": blockers([dict(row["last_run"], host=row["host"]) for row in results if row["last_run"]]),
        "pinned": [row for row in results if row["pinned"]],
        "problems": problems,
        "ledger": view,
        "results": results,
    }


def fleet_section(fleet):
    """The fleet view as every role's run report carries it: counts, problems, one line per root."""
    fields = ("host", "bucket", "key", "status", "stage", "since", "run_id", "pinned")
    return {"generated": fleet["generated"], "counts": fleet["counts"], "problems": fleet["problems"],
            "results": [{name: row.get(name) for name in fields} for row in fleet["results"]]}


def fleet_markdown(document):
    """The Markdown rendering of a fleet document (fleet_document)."""
    lines = ["# %s" % document["title"], "", "Generated %s from the ledger of the run's buckets and the run's rows."
             % document["generated"], "", "## Counts", ""]
    for dimension, tally in document["counts"].items():
        lines.append("- %s: %s" % (dimension, ", ".join("%s %d" % (value, number) for value, number in tally.items())))
    if document["pinned"]:
        lines += ["", "## Pinned on DynamoDB (rolled back)", "", "| host | since | run | reason |",
                  "| --- | --- | --- | --- |"]
        lines += ["| %s | %s | %s | %s |" % tuple(_cell(value) for value in (
            row["host"], row["pinned"].get("since"), row["pinned"].get("run_id"), row["pinned"].get("reason")))
            for row in document["pinned"]]
    if document["blockers"]:
        lines += ["", "## Needs attention (this run)", "", "| host | status | reason | next step |",
                  "| --- | --- | --- | --- |"]
        fields = ("host", "status", "reason", "next_step")
        lines += ["| %s | %s | %s | %s |" % tuple(_cell(row.get(field)) for field in fields)
                  for row in document["blockers"]]
    if document["problems"]:
        lines += ["", "## Problems", ""] + ["- %s" % problem for problem in document["problems"]]
    lines += ["", "## Roots", "", "| host | stands | since | by run | bucket/key | account | table | this run |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in document["results"]:
        lines.append("| %s |" % " | ".join(_cell(value) for value in (
            row["host"], row["status"], row["since"], row["run_id"], "%s/%s" % (row["bucket"], row["key"]),
            row["account"], row["dynamodb_table"], (row["last_run"] or {}).get("status"))))
    return "\n".join(lines) + "\n"


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
    fleet = document.get("fleet")
    if fleet:
        lines += ["", "## Fleet (from the ledger, generated %s)" % fleet["generated"], ""]
        lines += ["- %s: %s" % (dimension, ", ".join("%s %d" % (value, number) for value, number in tally.items()))
                  for dimension, tally in fleet["counts"].items()]
        lines += ["- problem: %s" % problem for problem in fleet["problems"]]
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
    write_atomic(md_path, fleet_markdown(document) if document.get("kind") == "fleet" else markdown(document))
    return [json_path, md_path]
