# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change the lock settings of S3 backends by splicing the original text.

Pure Python, no Ansible imports. This module runs one file through the steps, each in a
module of its own:

- ``plan``: which settings change for a mode (``lockfile``, ``dual``, ``dynamodb``),
  as item-level operations, and the settings the backend must read back as afterwards;
- ``splice``: the operations as splices of the original text, through one syntax
  object per form (HCL or JSON);
- ``align``: the ``=`` (and trailing comment) alignment of the edited group of lines
  follows ``terraform fmt`` when the group was formatted that way before (HCL only).

Everything else stays byte for byte. The result is parsed again and its settings compared with
the expected ones before it is returned.
"""

import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import files as disc_files
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import scanner
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import settings as disc
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.align import Aligner
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.plan import (
    MODES,
    Skip,
    endpoints_container,
    expected_settings,
    node_name,
    plan,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.splice import SYNTAXES, Editor, apply_splices


class RewriteError(Exception):
    """An edit that could not be verified: nothing may be written."""

    def __init__(self, path, line, reason):
        super().__init__("%s:%s: %s" % (path, line, reason))
        self.path = path
        self.line = line
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

class FileRewrite:
    """What a mode change does to one file."""

    def __init__(self, path, text_file):
        self.path = path
        self.file = text_file
        self.before = text_file.text if text_file else None
        self.after = self.before
        self.changes = []      # per changed backend: line, form, lock modes, removed/added settings
        self.untouched = []    # {file, line, kind, reason}
        self.locals = []       # locals a removed dynamodb_table came from
        self.explicit = False  # named in paths (not found by walking a directory)
        self.settings = {}     # the settings of its first backend naming a bucket and key (its backups' folder)
        self.settings_after = None  # each backend's settings as the checked new text reads (a file that changes)

    @property
    def changed(self):
        return self.after != self.before

    def skip(self, line, kind, reason):
        self.untouched.append({"file": self.path, "line": line, "kind": kind, "reason": reason})


_NOTE_REASONS = ("template", "remote_state_data", "lock_table_resource", "commented_out", "other_backend",
                 "unreadable_config")


def _skip_unscannable(scan, result):
    """Record why a file without editable backends is left as it is; True when it has none."""
    if scan.failure:
        result.skip(scan.failure["line"], "parse_error", "cannot parse: %s" % scan.failure["reason"])
        return True
    if not scan.backends:
        notes = [n for n in scan.notes if n["kind"] in _NOTE_REASONS] or scan.notes
        for note in notes:
            result.skip(note["line"], note["kind"], note["message"])
        if not notes:
            result.skip(None, "no_backend", "no S3 backend settings")
        return True
    for note in scan.notes:
        if note["kind"] == "template" and not any(b.line == note["line"] for b in scan.backends):
            result.skip(note["line"], note["kind"], note["message"])
    return False


def _plan_file(scan, editor, result, mode, dynamodb_table, leave_unlocked=True):
    """``[(backend, ops, warnings)]`` of the backends that change; the others are recorded as skipped."""
    planned = []
    for backend in scan.backends:
        before = len(editor.splices)
        try:
            ops, warnings = plan(backend, mode, dynamodb_table, leave_unlocked)
            for op in ops:
                editor.apply(op)
        except Skip as skip:
            del editor.splices[before:]
            result.skip(backend.line, skip.kind, skip.reason)
            continue
        planned.append((backend, ops, warnings))
    return planned


def rewrite_scan(scan, kind, mode, dynamodb_table=None, leave_unlocked=True):
    """Plan, splice, align and verify one scanned file. Raises RewriteError when verification fails.

    ``leave_unlocked``: see plan.plan()."""
    result = FileRewrite(scan.path, scan.file)
    if _skip_unscannable(scan, result):
        return result
    result.settings = next((dict(b.settings) for b in scan.backends if b.settings.get("bucket") and b.settings.get("key")), {})
    text = scan.file.text
    syntax = SYNTAXES[scan.backends[0].syntax]
    editor = Editor(text, scan.backends[0].lines, syntax)
    planned = _plan_file(scan, editor, result, mode, dynamodb_table, leave_unlocked)
    if not planned:
        return result
    try:
        new_text, placed = apply_splices(text, editor.splices)
    except ValueError as exc:
        raise RewriteError(scan.path, planned[0][0].line, str(exc))
    new_scan = None
    if syntax.aligns:
        new_text, new_scan = _align(scan, kind, new_text, placed, planned)
    new_scan = _verify(scan, kind, new_text, planned, mode, new_scan)
    result.after = new_text
    result.settings_after = [dict(backend.settings) for backend in new_scan.backends]
    for backend, ops, warnings in planned:
        _record_change(result, scan.path, new_text, backend, ops, warnings, mode)
    return result


def _record_change(result, path, new_text, backend, ops, warnings, mode):
    """One entry of ``result.changes`` (and of ``result.locals`` when a local held the table)."""
    removed = [node_name(op.node) for op in ops if op.kind in ("remove", "replace")]
    removed = ["endpoints.dynamodb" if name == "dynamodb" else name for name in removed]
    added = [op.name for op in ops if op.kind in ("replace", "insert_after", "insert_before")]
    result.changes.append({
        "file": path,
        "line": backend.line,
        "form": backend.form,
        "lock_mode_before": backend.lock_mode,
        "lock_mode_after": mode,
        "removed": removed,
        "added": added,
        "updated": [op.name for op in ops if op.kind == "set_value"],
        "warnings": warnings,
    })
    for name in backend.table_settings:
        if name not in backend.local_refs or name not in removed:
            continue
        local, line = backend.local_refs[name]
        still = re.search(r"\blocal\.%s\b" % re.escape(local), new_text) is not None
        result.locals.append({
            "file": path, "line": line, "name": local,
            "message": "local.%s held the removed %s; it is left in place%s"
                       % (local, name, " and is still referenced" if still else " and is no longer referenced"),
        })


class _Text:
    """A stand-in TextFile for scanning edited text."""

    def __init__(self, text, like):
        self.text = text
        self.data = None
        self.encoding = like.encoding if like else "utf-8"
        self.bom = like.bom if like else False


def _rescan(scan, kind, text, first_line):
    new_scan = scanner.scan_text(scan.path, _Text(text, scan.file), kind)
    if new_scan.failure:
        raise RewriteError(scan.path, new_scan.failure["line"],
                           "the edited text does not parse: %s" % new_scan.failure["reason"])
    if len(new_scan.backends) != len(scan.backends):
        raise RewriteError(scan.path, first_line, "the edited text holds %d backends instead of %d"
                           % (len(new_scan.backends), len(scan.backends)))
    return new_scan


def _align(scan, kind, new_text, placed, planned):
    """The text with edited groups re-aligned, and its scan when nothing needed aligning."""
    new_scan = _rescan(scan, kind, new_text, planned[0][0].line)
    aligner = Aligner(scan, new_scan, placed)
    pairs = []
    for backend, ops, _warnings in planned:
        new_backend = new_scan.backends[backend.index]
        pairs.append((backend.container, new_backend.container))
        endpoints = endpoints_container(backend)
        if endpoints is not None and any(op.parent is endpoints for op in ops):
            # an entry left endpoints = { ... }: the entries that stay are aligned again
            new_endpoints = endpoints_container(new_backend)
            if new_endpoints is not None:
                pairs.append((endpoints, new_endpoints))
    splices = aligner.splices(pairs)
    if not splices:
        return new_text, new_scan
    return apply_splices(new_text, splices)[0], None


def _verify(scan, kind, new_text, planned, mode, new_scan=None):
    """The edited text parses, and every backend reads back exactly as expected; returns the text's scan."""
    if new_scan is None:
        new_scan = _rescan(scan, kind, new_text, planned[0][0].line)
    expected = {backend.index: expected_settings(backend, ops) for backend, ops, _w in planned}
    for old, new in zip(scan.backends, new_scan.backends):
        want = expected.get(old.index, old.settings)
        if new.settings != want:
            raise RewriteError(scan.path, old.line, "the edited backend reads back as %r instead of %r"
                               % (sorted(new.settings.items()), sorted(want.items())))
        if old.index in expected and new.lock_mode != mode:
            raise RewriteError(scan.path, old.line, "the edited backend is in lock mode %s, not %s"
                               % (new.lock_mode, mode))
    return new_scan


def rewrite_paths(paths, mode, dynamodb_table=None, exclude=(), leave_unlocked=True):
    """Plan the mode change of every candidate file under ``paths``; nothing is written here.

    A backend that does not lock (lock mode none) is left as it is, unless ``leave_unlocked`` is False: only for
    the files of one root whose merged configuration locks (see plan.plan()).

    Returns FileRewrite objects for files that change or that hold something worth a reason.
    Raises RewriteError, naming file and line, when an edit cannot be verified.
    """
    if mode not in MODES:
        raise ValueError("mode must be one of %s" % ", ".join(MODES))
    results = []
    for path, explicit in discovery.walk(paths, exclude):
        kind = disc_files.file_kind(os.path.basename(path), explicit=explicit)
        if kind is None:
            if explicit:  # a dependency lock file or a test file, named anyway
                result = FileRewrite(path, None)
                result.explicit = True
                result.skip(None, "no_backend", "a %s file holds no backend settings" % os.path.basename(path))
                results.append(result)
            continue
        text_file = disc_files.TextFile.read(path)
        if not explicit and not disc_files.is_candidate(kind, text_file.data):
            continue
        disc.note_parse(path)
        result = rewrite_scan(scanner.scan_text(path, text_file, kind), kind, mode, dynamodb_table, leave_unlocked)
        result.explicit = explicit
        if not explicit:
            result.untouched = [entry for entry in result.untouched if entry["kind"] != "no_backend"]
        if result.changed or result.untouched:
            results.append(result)
    return results


# Why a file is left untouched, by what it says about the file (the ``kind`` of an untouched entry):
# an S3 backend (or what may be one) that cannot be edited ...
NOT_EDITABLE = ("parse_error", "template", "needs_table", "layout", "expression", "unreadable_config")
# ... no S3 backend at all ...
NO_S3_BACKEND = ("no_backend", "remote_state_data", "lock_table_resource", "commented_out", "other_backend")
# ... and a backend that is already as asked or has no lock setting to change ("already", "no_lock_settings").


def untouched_failures(results, fail_on_untouched=None):
    """The untouched entries that fail the task, in order.

    ``fail_on_untouched`` None (the default): a file named in paths fails when it cannot be parsed
    or holds an S3 backend that cannot be edited (NOT_EDITABLE) or no S3 backend at all
    (NO_S3_BACKEND); files found by walking a directory never fail. True: named files as by
    default, and files found in a directory when they hold a backend that cannot be edited (a
    directory holds files without backends by nature). False: nothing fails.
    """
    if fail_on_untouched is False:
        return []
    failing = []
    for result in results:
        if result.explicit:
            kinds = NOT_EDITABLE + NO_S3_BACKEND
        else:
            kinds = NOT_EDITABLE if fail_on_untouched else ()
        failing.extend(entry for entry in result.untouched if entry["kind"] in kinds)
    return failing


def describe_failures(failing):
    """One message for the entries untouched_failures returns: each as file:line: reason."""
    places = []
    for entry in failing:
        where = entry["file"] if entry["line"] is None else "%s:%d" % (entry["file"], entry["line"])
        places.append("%s: %s" % (where, entry["reason"]))
    files = len(set(entry["file"] for entry in failing))
    return "%d file%s cannot be rewritten as asked: %s" % (files, "" if files == 1 else "s", "; ".join(places))
