# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find Terraform/OpenTofu S3 backend settings in files and directory trees.

Pure Python, no Ansible imports. Forms found (``form`` of a backend):

- ``block``: ``terraform { backend "s3" { ... } }`` in ``*.tf`` and OpenTofu's ``*.tofu`` (or any HCL file
  holding one);
- ``json``: ``terraform.backend.s3`` in ``*.tf.json`` and ``*.tofu.json``, objects or arrays of blocks;
- ``partial``: a partial configuration given to ``terraform init -backend-config=FILE``
  (``*.tfbackend``, ``backend.hcl``, ``*.conf``, ``*.backend``, a ``*.tfvars`` file whose name holds
  ``backend`` and that sets only backend arguments, or any file the caller names, ``*.tfvars`` included);
- ``terragrunt``: ``remote_state { backend = "s3" config = { ... } }`` (block or attribute; Terragrunt's older
  ``lock_table`` counts as the ``dynamodb_table``);
- ``terragrunt_generate``: a ``backend "s3"`` block inside a Terragrunt ``generate`` heredoc;
- ``terragrunt_tfvars``: the old ``terragrunt = { remote_state { ... } }`` form in ``*.tfvars``.

Files are first checked with a cheap byte search; only candidates are parsed. Things that look
like backend settings but are not (``data "terraform_remote_state"`` configs, commented-out or
templated backends, ``aws_dynamodb_table`` resources, ...) are returned as notes, never as backends. A
``backend`` line terraform rejects (typographic quotes, U+201C/U+201D around ``s3``) is a failure naming file and line.

The lock mode of a backend, of a merged configuration and of a last ``terraform init`` is decided by
one function, :func:`settings_lock_mode`; ``none`` (no table, ``use_lockfile`` not true) is a backend
that does not lock, and the rewrite leaves it so in every mode."""

import fnmatch
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.versions import (
    VersionConstraintError,
    lockfile_support,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.files import (
    TextFile,
    UnreadableFile,
    file_kind,
    is_candidate,
    read_regular,
    tofu_override,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.scanner import scan_file, scan_text
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import (
    LOCK_MODES,
    PARTIAL_KINDS,
    SKIP_DIRS,
    _REQUIRED_VERSION,
    note_parse,
    settings_lock_mode,
)


def _matches(patterns, rel):
    return any(fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(os.path.basename(rel), pattern)
               for pattern in patterns)


def walk(paths, exclude=(), onerror=None):
    """Yield ``(path, explicit)`` for every file under ``paths`` worth classifying.

    Directories are walked (skipping SKIP_DIRS and symlinked directories); ``exclude`` holds
    shell patterns matched against the path relative to the given directory and the file name.
    ``onerror(UnreadableFile)`` hears of directories that cannot be listed.
    """
    def directory_error(exc):
        if onerror is not None:
            onerror(UnreadableFile(exc.filename or "?", "directory cannot be listed: %s" % (exc.strerror or exc)))

    for top in paths:
        if os.path.isfile(top):
            yield top, True
            continue
        for dirpath, dirnames, filenames in os.walk(top, onerror=directory_error):
            rel_dir = os.path.relpath(dirpath, top)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                                 and not _matches(exclude, rel_dir + d)
                                 and not os.path.islink(os.path.join(dirpath, d)))
            for name in sorted(filenames):
                if exclude and _matches(exclude, rel_dir + name):
                    continue
                yield os.path.join(dirpath, name), False


class TreeScan:
    """The result of scanning paths: backends, notes, failures, per-root versions and partials."""

    def __init__(self):
        self.files = []        # FileScan with backends, notes or a failure
        self.backends = []
        self.notes = []
        self.failures = []
        self.version_files = {}   # directory -> [paths of .tf/.tf.json files mentioning required_version]
        self.partials = {}        # directory -> [partial-configuration Backend]
        self.by_path = {}
        self.walked_dirs = set()
        self.scanned = 0
        self.parsed = []
        self.skipped = []         # {"file", "reason"} of files and directories that could not be read

    def add(self, scan):
        self.parsed.append(scan.path)
        if scan.backends or scan.notes or scan.failure:
            self.files.append(scan)
            self.by_path[scan.path] = scan
        self.backends.extend(scan.backends)
        self.notes.extend(scan.notes)
        if scan.failure:
            self.failures.append(scan.failure)
        for backend in scan.backends:
            if backend.form == "partial":
                self.partials.setdefault(os.path.dirname(backend.path), []).append(backend)


def scan_paths(paths, exclude=()):
    """Scan files and directory trees; files named in ``paths`` are always parsed."""
    tree = TreeScan()

    def skip(unreadable):
        tree.skipped.append(unreadable.as_dict())

    for path, explicit in walk(paths, exclude, onerror=skip):
        name = os.path.basename(path)
        kind = file_kind(name, explicit=explicit)
        if kind is None:
            continue
        tree.scanned += 1
        if not explicit:
            tree.walked_dirs.add(os.path.dirname(path))
        try:
            text_file = TextFile.read(path)
        except UnreadableFile as exc:
            skip(exc)
            continue
        if kind in ("tf", "tf_json") and _REQUIRED_VERSION in text_file.data:
            tree.version_files.setdefault(os.path.dirname(path), []).append(path)
        if not explicit and not is_candidate(kind, text_file.data):
            continue
        note_parse(path)
        scan = scan_text(path, text_file, kind)
        scan.release()
        tree.add(scan)
    return tree


def find_partial_configs(directory, tree=None):
    """Partial-configuration files in ``directory`` and its immediate subdirectories."""
    found = []
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return found
    candidates = []
    for name in entries:
        full = os.path.join(directory, name)
        if os.path.isdir(full):
            if name in SKIP_DIRS:
                continue
            try:
                candidates.extend(os.path.join(full, sub) for sub in sorted(os.listdir(full)))
            except OSError:
                continue
        else:
            candidates.append(full)
    for path in candidates:
        kind = file_kind(os.path.basename(path))
        if kind not in PARTIAL_KINDS or not os.path.isfile(path):
            continue
        known = None
        if tree is not None and os.path.dirname(path) in tree.walked_dirs:
            known = [b for b in tree.partials.get(os.path.dirname(path), []) if b.path == path]
        if known is None:
            try:
                scan = scan_file(path)
            except UnreadableFile:
                scan = None  # reported by the tree scan when the directory was walked
            known = [b for b in scan.backends if b.form == "partial"] if scan else []
        found.extend(known)
    return found


def required_versions(directory, tree=None):
    """``(constraints, failure)`` for a root: every ``terraform { required_version }`` of its files."""
    constraints = []
    failures = []
    if tree is not None and directory in tree.walked_dirs:
        paths = tree.version_files.get(directory, [])
    else:
        paths = []
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        for name in names:
            if name.endswith((".tf", ".tf.json", ".tofu", ".tofu.json")):
                full = os.path.join(directory, name)
                try:
                    if _REQUIRED_VERSION in read_regular(full):
                        paths.append(full)
                except UnreadableFile as exc:
                    failures.append({"file": full, "line": None, "reason": exc.reason})
    for path in paths:
        try:
            scan = scan_file(path, explicit=True)
        except UnreadableFile as exc:
            failures.append({"file": path, "line": None, "reason": exc.reason})
            continue
        if scan.failure:
            failures.append(scan.failure)
        constraints.extend(text for text, _line in scan.required_versions)
    return constraints, failures


def describe(tree, backend, version_cache=None, partial_cache=None):
    """The result entry of one backend: settings, lock mode, root facts and partial configurations."""
    version_cache = {} if version_cache is None else version_cache
    partial_cache = {} if partial_cache is None else partial_cache
    entry = backend.as_dict()
    root = entry["root"]
    constraints = []
    if backend.form in ("block", "json"):
        if root not in version_cache:
            version_cache[root] = required_versions(root, tree)
        constraints, _failures = version_cache[root]
    elif backend.form.startswith("terragrunt"):
        scan = tree.by_path.get(backend.path)
        constraints = [text for text, _line in scan.version_constraints] if scan else []
    entry["required_version"] = ", ".join(constraints) if constraints else None
    try:
        entry["admits_use_lockfile"] = lockfile_support(constraints)
    except VersionConstraintError:
        entry["admits_use_lockfile"] = None
    entry["partial_config_files"] = []
    if backend.incomplete:
        if root not in partial_cache:
            partial_cache[root] = find_partial_configs(root, tree)
        entry["partial_config_files"] = [p.path for p in partial_cache[root]]
    entry["partial_configs"] = [
        {"file": p.path, "settings": dict(p.settings), "lock_mode": p.lock_mode}
        for p in partial_cache.get(root, [])] if backend.incomplete else []
    entry["templated"] = bool(backend.templated)
    return entry


def effective_lock_mode(block_settings, partial_settings):
    """Lock mode of a backend block completed by a partial configuration (the file wins)."""
    merged = dict(block_settings or {})
    merged.update(partial_settings or {})
    return settings_lock_mode(merged)


def report(paths, exclude=()):
    """Everything backend_info returns: backends, parse failures, notes and counts."""
    tree = scan_paths(paths, exclude)
    version_cache = {}
    partial_cache = {}
    backends = []
    counts = {mode: 0 for mode in LOCK_MODES}
    for backend in tree.backends:
        if backend.templated:
            continue
        entry = describe(tree, backend, version_cache, partial_cache)
        backends.append(entry)
        counts[entry["lock_mode"]] += 1
    notes = list(tree.notes)
    for backend in tree.backends:
        override = tofu_override(backend.path)
        if override:
            notes.append({"file": backend.path, "line": backend.line, "kind": "tofu_override",
                          "message": "OpenTofu reads %s instead of this file; Terraform reads this one"
                                     % os.path.basename(override)})
    failures = list(tree.failures)
    for constraints_failures in version_cache.values():
        for failure in constraints_failures[1]:
            if failure not in failures:
                failures.append(failure)
    return {
        "backends": backends,
        "failures": failures,
        "notes": notes,
        "lock_modes": counts,
        "files_scanned": tree.scanned,
        "files_parsed": len(tree.parsed),
        "skipped_files": list(tree.skipped),
    }
