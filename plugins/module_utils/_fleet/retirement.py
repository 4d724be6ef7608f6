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

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.identity import IDENTITY_SETTINGS
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time, utc_text


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


def _identity_of(backend):
    """The settings of a resolved backend that say who terraform is for it (profile, role, region, endpoints...)."""
    backend = backend or {}
    settings = (backend["identity_settings"] if "identity_settings" in backend else backend.get("settings")) or {}
    return {name: settings[name] for name in IDENTITY_SETTINGS if settings.get(name) not in (None, "", [], {})}


def _describe(identity):
    return ", ".join("%s %s" % (name, identity[name]) for name in sorted(identity)) or "the inventory's credentials"


def table_principal(table, findings):
    """The finding whose backend is the principal the table is reached as, or None for the task's credentials.

    The table lives where the roots that locked with it reach it: the readable findings whose backend
    (``dynamodb_table``) or migration record names ``table`` and that carry their resolved ``backend``.
    They must all reach it as one principal (the same profile, role, region and endpoints); otherwise
    ValueError names each root with its principal. No such finding: None (the inventory's credentials).
    """
    users = [finding for finding in findings if not finding.get("error") and finding.get("backend")
             and (finding.get("dynamodb_table") == table
                  or (isinstance(finding.get("record"), dict) and finding["record"].get("dynamodb_table") == table))]
    if not users:
        return None
    first = _identity_of(users[0]["backend"])
    differing = [finding for finding in users if _identity_of(finding["backend"]) != first]
    if differing:
        raise ValueError(
            "the roots that lock with table %s reach it as different principals, so retire cannot tell whose table "
            "it is: root %s (%s) and root %s (%s); give their backends the same identity, or retire the table from an "
            "inventory of one principal's roots" % (
                table, users[0].get("root"), _describe(first), differing[0].get("root"),
                _describe(_identity_of(differing[0]["backend"]))))
    return users[0]


def last_cutover(records, configured=None):
    """The latest cut-over time of the records and ``configured`` (RFC 3339 text, as written), and the
    problems of records whose time cannot be read. Returns ``(text or None, moment or None, problems)``.
    ``configured`` that is not a time raises ValueError.
    """
    times = []
    problems = []
    if configured:
        times.append((parse_time(configured, assume_utc=True), configured))
    for root, record in records:
        value = record.get("cutover_time")
        if not value:
            continue
        try:
            times.append((parse_time(value, assume_utc=True), value))
        except ValueError as exc:
            problems.append("the migration record of root %s has a cut-over time that cannot be read, so the grace "
                            "period cannot be judged: %s" % (root, exc))
    if not times:
        return None, None, problems
    moment, text = max(times, key=lambda pair: pair[0])
    return text, moment, problems


AGAIN = "; then run retire again"


def refusal(reason, next_step):
    """One reason to keep the table and what the operator does about it."""
    return {"reason": reason, "next_step": next_step}


def retirement_blockers(roots, unexamined, unreadable, referencing, cutover_time, cutover_moment, grace_period_days,
                        now, declarations, table_refusal=(), problems=()):
    """Every reason to keep the table, in the order a reader acts on them, each with its next step
    (``{reason, next_step}``); empty when it may go.

    ``roots``: the inventory's root hosts; ``unexamined``: those not examined; ``unreadable`` and
    ``referencing``: findings (``root`` and ``error``, or ``root``, ``host``, ``table_at`` (or ``file`` and
    ``line``), ``lock_mode``); ``cutover_time``/``cutover_moment``: the last cut-over (text and aware datetime,
    None when unknown); ``declarations``: ``{file, line}`` of Terraform code declaring the table;
    ``table_refusal``: the table's own check, as :func:`table_refusals` gives it; ``problems``: other reasons
    (sentences of the ledger, code that could not be searched, unreadable record times).
    """
    reasons = []
    if not roots:
        reasons.append(refusal(
            "the inventory lists no Terraform root (hosts with tfstate_root or tfstate_repo_url), so nothing shows "
            "which clients still use the table",
            "list the roots that used the table in the inventory, one host each with tfstate_root or tfstate_repo_url"
            + AGAIN))
    for host in unexamined:
        reasons.append(refusal(
            "root %s was not examined" % host,
            "run playbooks/retire.yml, which examines every root first (with --limit, include localhost)"))
    for finding in unreadable:
        reasons.append(refusal(
            "root %s could not be read, so it may still use the table: %s" % (finding["root"], finding["error"]),
            "make root %s readable (the error names what to fix), or take its host out of the inventory if the root "
            "is gone%s" % (finding["root"], AGAIN)))
    for finding in referencing:
        place = finding.get("table_at") or "%s:%s" % (finding["file"], finding["line"])
        reasons.append(refusal(
            "root %s still locks with the table (%s, lock mode %s)" % (finding["root"], place, finding["lock_mode"]),
            "ansible-playbook tfstate.s3_backend.migrate --limit %s -e migrate_target=lockfile (it removes the table "
            "from %s)%s" % (finding.get("host") or finding["root"], place, AGAIN)))
    reasons.extend(_grace_refusals(cutover_time, cutover_moment, grace_period_days, now))
    for found in declarations:
        reasons.append(refusal(
            "the table is declared in Terraform code at %s:%s" % (found["file"], found["line"]),
            "remove that aws_dynamodb_table resource at %s:%s and apply there (terraform destroys the table) instead "
            "of deleting it here" % (found["file"], found["line"])))
    reasons.extend(refusal(problem, problem_next_step(problem)) for problem in problems)
    reasons.extend(table_refusal or ())
    return reasons


def _grace_refusals(cutover_time, cutover_moment, grace_period_days, now):
    if cutover_moment is None:
        return [refusal("no migration record names the table, so the last cut-over time is unknown",
                        "set retire_cutover_time to when the last root stopped locking with the table (RFC 3339, "
                        "e.g. 2026-11-27T10:00:00Z)" + AGAIN)]
    grace = datetime.timedelta(days=float(grace_period_days))
    left = cutover_moment + grace - now
    if left <= datetime.timedelta(0):
        return []
    over = utc_text(cutover_moment + grace)
    return [refusal(
        "the grace period of %g day(s) after the last cut-over (%s) is not over: %s hour(s) left" % (
            float(grace_period_days), cutover_time, round(left.total_seconds() / 3600, 1)),
        "run retire again after %s (old clones and forgotten pipelines show up meanwhile), or set a shorter "
        "retire_grace_period_days" % over)]


# What to do about a reason given as a sentence (the ledger's, the code search's, a record's), by its words.
PROBLEM_STEPS = (
    ("neither this run nor the ledger knows",
     "find the root whose state the digest item names (its bucket and key), add it to the inventory and move it to "
     "lockfile, or give the client that still writes it the backend's use_lockfile configuration" + AGAIN),
    ("known from the ledger",
     "move that root to lockfile (tfstate.s3_backend.migrate with migrate_target=lockfile from the inventory that "
     "holds it), or add it to this inventory" + AGAIN),
    ("with the table since",
     "move that root to lockfile (tfstate.s3_backend.migrate with migrate_target=lockfile from the inventory that "
     "holds it), or add it to this inventory" + AGAIN),
    ("cannot be searched",
     "fix or remove that entry of retire_code_paths" + AGAIN),
    ("to search it for a declaration",
     "make that file readable to the controller" + AGAIN),
    ("cut-over time that cannot be read",
     "rerun tfstate.s3_backend.migrate on that root (it rewrites its record), or set retire_cutover_time" + AGAIN),
    ("ledger",
     "give the controller read access to the ledger named (s3:ListBucket and s3:GetObject on "
     "tfstate-s3-backend-ledger/ of that bucket)" + AGAIN),
)


def problem_next_step(problem):
    """The next step of a reason given as a sentence."""
    for words, step in PROBLEM_STEPS:
        if words in problem:
            return step
    return "resolve the reason given" + AGAIN


def table_refusals(message, blockers, table):
    """The table's own refusal (``lock_table.ensure_table_absent``: ``message`` and its ``blockers`` dicts) as
    refusals with a next step each; a check that could not be made (no blockers) is one refusal."""
    if not blockers:
        return [refusal(message, "fix what the message names (read access to table %s and the state buckets)%s"
                        % (table, AGAIN))]
    found = []
    for blocker in blockers:
        kind = blocker.get("reason")
        if kind == "lock item":
            found.append(refusal(
                "lock item %s is held (ID %s, %s by %s since %s)" % (
                    blocker.get("lock_table_key"), blocker.get("id"), blocker.get("operation"), blocker.get("who"),
                    blocker.get("created")),
                "a client still locks through the table: find it by the lock's Who, wait for its operation to end, "
                "or release a stale lock with tfstate.s3_backend.unlock (unlock_lock_id %s)%s"
                % (blocker.get("id"), AGAIN)))
        elif kind == "deletion protection":
            found.append(refusal("table %s has deletion protection on" % table,
                                 "set retire_lift_deletion_protection: true to turn it off before the deletion"))
        elif kind and kind.startswith("digest items without"):
            found.append(refusal(
                "%s digest items exist and no cut-over time is known to judge them" % blocker.get("count"),
                "set retire_cutover_time to when the last root stopped locking with the table (RFC 3339)" + AGAIN))
        else:
            found.append(refusal(
                "digest item %s matches %s version %s written %s: a client with dynamodb_table still writes this "
                "state" % (blocker.get("digest_table_key"), blocker.get("state_path"), blocker.get("version_id"),
                           blocker.get("last_modified")),
                "find the client that still applies %s with dynamodb_table (an old clone or pipeline, a root missing "
                "from the inventory) and give it the backend's use_lockfile configuration%s" % (
                    blocker.get("state_path"), AGAIN)))
    return found


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
