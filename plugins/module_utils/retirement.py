# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a DynamoDB lock table may be retired: every reason to keep it, from what the roots said.

No Ansible imports and no AWS calls: the inputs are the examined roots' findings (one dict per root, as the
retire role's examine entry point notes them), the cut-over times, the Terraform code that declares the
table, and the refusal of the table's own check (lock items, current digests, deletion protection),
which the module gets from ``lock_table.ensure_table_absent`` in check mode.
"""

import datetime
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils.digests import parse_time


def sort_findings(table, roots, findings):
    """The examined roots sorted by what they say about ``table``.

    ``roots``: the inventory hosts that are Terraform roots. ``findings``: one dict per examined host
    (``host``, ``root``, ``path``, ``file``, ``line``, ``lock_mode``, ``dynamodb_table``, ``record``, ``error``).
    Returns a dict: ``unexamined`` (host names), ``unreadable`` and ``referencing`` (findings), ``records``
    (``(root, record)`` of the migration records that name the table: records of every mode count, a
    rolled-back root's names it too) and ``paths`` (the readable roots' directories, to search for code).
    """
    examined = set(finding.get("host") for finding in findings)
    readable = [finding for finding in findings if not finding.get("error")]
    return {
        "unexamined": [host for host in roots if host not in examined],
        "unreadable": [finding for finding in findings if finding.get("error")],
        "referencing": [finding for finding in readable if finding.get("dynamodb_table") == table],
        "records": [(finding.get("root"), finding["record"]) for finding in readable
                    if isinstance(finding.get("record"), dict) and finding["record"].get("dynamodb_table") == table],
        "paths": [finding["path"] for finding in readable if finding.get("path")],
    }


def last_cutover(records, configured=None):
    """The latest cut-over time of the records and ``configured`` (RFC 3339 text, as written), and the
    problems of records whose time cannot be read. Returns ``(text or None, moment or None, problems)``.
    ``configured`` that is not a time raises ValueError.
    """
    times = []
    problems = []
    if configured:
        times.append((parse_time(configured), configured))
    for root, record in records:
        value = record.get("cutover_time")
        if not value:
            continue
        try:
            times.append((parse_time(value), value))
        except ValueError as exc:
            problems.append("the migration record of root %s has a cut-over time that cannot be read, so the grace "
                            "period cannot be judged: %s" % (root, exc))
    if not times:
        return None, None, problems
    moment, text = max(times, key=lambda pair: pair[0])
    return text, moment, problems


def retirement_blockers(roots, unexamined, unreadable, referencing, cutover_time, cutover_moment, grace_period_days,
                        now, declarations, table_refusal=None, problems=()):
    """Every reason to keep the table, in the order a reader acts on them; empty when it may go.

    ``roots``: the inventory's root hosts; ``unexamined``: those not examined; ``unreadable`` and
    ``referencing``: findings (``root`` and ``error``, or ``root``, ``file``, ``line``, ``lock_mode``);
    ``cutover_time``/``cutover_moment``: the last cut-over (text and aware datetime, None when unknown);
    ``declarations``: ``{file, line}`` of Terraform code declaring the table; ``table_refusal``: the table
    check's message (lock items, current digests, deletion protection) or None; ``problems``: other
    reasons (code that could not be searched, unreadable record times).
    """
    reasons = []
    if not roots:
        reasons.append("the inventory lists no Terraform root (hosts with tfstate_root or tfstate_repo_url), so nothing "
                       "shows which clients still use the table")
    for host in unexamined:
        reasons.append("root %s was not examined (run the role with tasks_from: examine on every root first, as "
                       "playbooks/retire.yml does)" % host)
    for finding in unreadable:
        reasons.append("root %s could not be read, so it may still use the table: %s" % (finding["root"], finding["error"]))
    for finding in referencing:
        reasons.append("root %s still locks with the table (%s:%s, lock mode %s)" % (
            finding["root"], finding["file"], finding["line"], finding["lock_mode"]))
    if cutover_moment is None:
        reasons.append("no migration record names the table, so the last cut-over time is unknown: set the cut-over "
                       "time (retire_cutover_time)")
    else:
        grace = datetime.timedelta(days=float(grace_period_days))
        left = cutover_moment + grace - now
        if left > datetime.timedelta(0):
            reasons.append("the grace period of %g day(s) after the last cut-over (%s) is not over: %s hour(s) left" % (
                float(grace_period_days), cutover_time, round(left.total_seconds() / 3600, 1)))
    for found in declarations:
        reasons.append("the table is declared in Terraform code at %s:%s: remove that aws_dynamodb_table resource there "
                       "(terraform destroys the table) instead of deleting it here" % (found["file"], found["line"]))
    reasons.extend(problems)
    if table_refusal:
        reasons.append(table_refusal)
    return reasons


# ---------------------------------------------------------------------------
# Terraform code that declares the table

def declaration_pattern(table):
    """An aws_dynamodb_table resource whose name is ``table``, in ``terraform fmt`` layout: the body ends at
    the first line that starts with ``}`` (a nested block's closing brace is indented).
    """
    return re.compile(r'resource\s+"aws_dynamodb_table"\s+"[^"]*"\s*\{(?:(?!\n\})[\s\S])*?\bname\s*=\s*"'
                      + re.escape(table) + '"')


def declarations_in(text, table):
    """The line of each resource in ``text`` that declares the table."""
    return [text.count("\n", 0, match.start()) + 1 for match in declaration_pattern(table).finditer(text)]


def terraform_files(directory):
    """The ``*.tf`` files under ``directory``, sorted; hidden files and folders (``.terraform`` holds modules
    terraform downloaded: someone else's code) are left out.
    """
    found = []
    for parent, folders, files in os.walk(directory):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(os.path.join(parent, name) for name in files if name.endswith(".tf") and not name.startswith("."))
    return sorted(found)


def find_declarations(paths, table):
    """``(declarations, problems)``: ``{file, line}`` of every declaration of the table in the ``*.tf`` files
    under ``paths`` (in the order of the paths, each sorted, without repeats), and why a path or file could
    not be searched (then the code may declare the table unseen).
    """
    declarations = []
    problems = []
    seen = set()
    for path in paths:
        if not os.path.isdir(path):
            problems.append("the code path %s %s, so it cannot be searched for a declaration of the table" % (
                path, "is not a directory" if os.path.exists(path) else "does not exist"))
            continue
        for name in terraform_files(path):
            try:
                with open(name, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
            except (IOError, OSError) as exc:
                problems.append("could not read %s to search it for a declaration of the table: %s" % (name, exc))
                continue
            for line in declarations_in(text, table):
                if (name, line) not in seen:
                    seen.add((name, line))
                    declarations.append({"file": name, "line": line})
    return declarations, problems
