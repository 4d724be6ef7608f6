# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective S3 backend of one Terraform root, as ``terraform init`` would assemble it.

Pure Python, no Ansible imports. The root's ``backend "s3"`` block (or JSON form) is completed
by the ``-backend-config`` files and ``key=value`` arguments of its init command line, in that
order (later wins), as Terraform does.
"""

import hashlib
import json
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import (
    LOCK_SETTINGS,
    settings_lock_mode,
    table_of,
    truthy,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.discovery import describe, scan_paths
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.files import (
    file_kind,
    opentofu_view,
    UnreadableFile,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.scanner import scan_file
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.identity import IDENTITY_SETTINGS, STATIC_KEYS
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.versions import LOCKFILE_MINIMUM

STATIC_KEY_MARK = "(set in the backend, not read)"
_VERSION_LINE = re.compile(r"^(Terraform|OpenTofu) v(\d+)\.(\d+)\.(\d+)")


class RootError(Exception):
    """The root's backend cannot be resolved; the message names the file and line."""


def parse_init_args(root, init_args):
    """``(files, pairs)`` from ``-backend-config`` arguments: partial-configuration files and key=value pairs."""
    files, pairs = [], []
    for arg in init_args or []:
        if not arg.startswith("-backend-config=") and not arg.startswith("--backend-config="):
            continue
        value = arg.split("=", 1)[1]
        path = value if os.path.isabs(value) else os.path.join(root, value)
        if os.path.isfile(path):
            files.append(os.path.normpath(path))
        elif "=" in value:
            name, _sep, setting = value.partition("=")
            pairs.append((name.strip(), setting))
        else:
            raise RootError("terraform init argument %s names a file that does not exist: %s" % (arg, path))
    return files, pairs


def _kv_value(text):
    if text in ("true", "false"):
        return text == "true"
    return text


def initialised_backend(root):
    """The backend settings recorded by the last ``terraform init`` in ``root``, or None."""
    path = os.path.join(root, ".terraform", "terraform.tfstate")
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    backend = data.get("backend") or {}
    if backend.get("type") != "s3":
        return None
    config = backend.get("config") or {}
    return {
        "bucket": config.get("bucket"),
        "key": config.get("key"),
        "dynamodb_table": config.get("dynamodb_table"),
        "use_lockfile": config.get("use_lockfile"),
        "lock_mode": settings_lock_mode(config),
    }


# How deep terraform's working directory lies in .terragrunt-cache: <hash>/<hash>/<module path>.
_TERRAGRUNT_CACHE_DEPTH = 6


def terragrunt_working_dir(root):
    """Where terragrunt last ran terraform for ``root``: the root itself, or the newest initialised folder of
    its ``.terragrunt-cache`` (a ``terraform { source }`` copies the module there); the root when none is."""
    if os.path.isfile(os.path.join(root, ".terraform", "terraform.tfstate")):
        return root
    cache = os.path.join(root, ".terragrunt-cache")
    newest, newest_time = root, None
    for current, dirs, files in os.walk(cache):
        depth = current[len(cache):].count(os.sep)
        if depth >= _TERRAGRUNT_CACHE_DEPTH:
            dirs[:] = []
        if os.path.basename(current) == ".terraform" and "terraform.tfstate" in files:
            moment = os.path.getmtime(os.path.join(current, "terraform.tfstate"))
            if newest_time is None or moment > newest_time:
                newest, newest_time = os.path.dirname(current), moment
            dirs[:] = []
    return newest


def _one(candidates, root, what):
    if len(candidates) > 1:
        places = ", ".join("%s:%s" % (b.path, b.line) for b in candidates)
        raise RootError("several %s in %s: %s (Terraform allows one)" % (what, root, places))
    block = candidates[0]
    if block.templated:
        raise RootError("%s:%s: the backend is templated (%s): render it first" % (block.path, block.line, block.templated))
    return block


def _root_backend_block(root, tree, failures, terragrunt=False):
    """The root's one backend: its ``backend "s3"`` block (.tf/.tf.json), or with ``terragrunt`` its Terragrunt
    file's; raises RootError otherwise, naming the file."""
    here = opentofu_view([b for b in tree.backends if os.path.dirname(b.path) == root])
    grunt = [b for b in here if b.form.startswith("terragrunt")]
    if grunt:
        if not terragrunt:
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block (Terragrunt roots are "
                            "migrated by the migrate role only)" % (grunt[0].path, grunt[0].line, grunt[0].form))
        # A backend "s3" {} stub in the .tf files is what terragrunt completes; the Terragrunt file holds the settings.
        return _one(grunt, root, "Terragrunt backends")
    blocks = [b for b in here if b.form in ("block", "json")]
    if failures and not blocks:
        first = failures[0]
        raise RootError("%s:%s: cannot be parsed: %s" % (first["file"], first["line"], first["reason"]))
    if not blocks:
        if here:
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block" % (
                here[0].path, here[0].line, here[0].form))
        raise RootError("no backend \"s3\" block in the .tf, .tf.json, .tofu or .tofu.json files of %s" % root)
    return _one(blocks, root, "backend \"s3\" blocks")


def _partial_scan(path, tree):
    """The scan of a ``-backend-config`` file: the root's walk's when it parsed the file as a named file would be
    (each file is parsed once), else the file read now; raises RootError when it cannot be read."""
    name = os.path.basename(path)
    if path in tree.parsed and file_kind(name) == file_kind(name, explicit=True):
        return tree.by_path.get(path) or _NO_BACKEND
    try:
        return scan_file(path, explicit=True)
    except UnreadableFile as exc:
        raise RootError("%s: cannot be read: %s" % (path, exc.reason))


class _NoBackend:
    """A parsed file that holds nothing of a backend (what the walk does not keep)."""
    failure = None
    backends = ()


_NO_BACKEND = _NoBackend()


def _merged_settings(block, files, pairs, tree):
    """``(settings, [(file, line, settings)], unresolved names)``: the block's, then -backend-config files', then
    key=value pairs."""
    merged = dict(block.settings)
    sources = [(block.path, block.line, dict(block.settings))]
    indexes = [block.index]
    where = setting_places(block)
    unresolved = set(block.unresolved)  # a Terragrunt file's expressions (a plain block's stop the root)
    for path in files:
        scan = _partial_scan(path, tree)
        if scan is None or scan.failure:
            failure = scan.failure if scan else {"line": 1, "reason": "not a partial configuration"}
            raise RootError("%s:%s: cannot be parsed: %s" % (path, failure["line"], failure["reason"]))
        partials = [b for b in scan.backends if b.form == "partial"]
        if not partials:
            raise RootError("%s:1: holds no backend settings" % path)
        merged.update(partials[0].settings)
        where.update(setting_places(partials[0]))
        unresolved.update(partials[0].unresolved)
        sources.append((path, partials[0].line, dict(partials[0].settings)))
        indexes.append(partials[0].index)
    for name, value in pairs:
        merged[name] = _kv_value(value)
        where[name] = "-backend-config=%s=... (init arguments)" % name
        unresolved.discard(name)
    for name in ("bucket", "key"):
        if not merged.get(name):
            raise RootError("%s:%s: the backend has no %s (not in the %s, the -backend-config files or arguments)"
                            % (block.path, block.line, name,
                               "Terragrunt config" if block.form.startswith("terragrunt") else "block"))
    return merged, sources, unresolved, where, indexes


def setting_places(backend):
    """``{setting: "<file>:<line>"}`` of the lock settings a backend configuration sets."""
    places = {}
    for name in LOCK_SETTINGS:
        if name in backend.settings:
            try:
                places[name] = "%s:%s" % (backend.path, backend.setting_line(name))
            except (KeyError, AttributeError, TypeError):
                places[name] = "%s:%s" % (backend.path, backend.line)
    return places


def _identity_elsewhere(root, tree, files):
    """Partial configurations in the root that init_args do not pass but that name an identity: terraform
    runs as they say only where some pipeline passes them, which the collection cannot know."""
    return ["%s:%s sets %s" % (b.path, b.line, ", ".join(sorted(n for n in b.settings if n in IDENTITY_SETTINGS)))
            for b in tree.backends if b.form == "partial" and os.path.dirname(b.path) == root
            and os.path.normpath(b.path) not in files
            and any(n in IDENTITY_SETTINGS and n != "region" for n in b.settings)]


def resolve_root(root, init_args=(), terragrunt=False):
    """The contract's ``tfstate_backend`` dict for ``root``; raises RootError with file and line.

    A Terragrunt root (``remote_state`` or a ``generate`` block holding the backend, in the root's own
    folder) is resolved only with ``terragrunt=True`` (the migrate role's phases): its backend is the
    Terragrunt file's, and its last init is read where terragrunt ran terraform (terragrunt_working_dir).
    Anything else refuses it, naming the file.
    """
    return _resolve(root, init_args, terragrunt)[0]


def read_root(root, init_args=(), terragrunt=False):
    """resolve_root's dict with what a later phase needs to measure the root again without parsing it again:
    ``lock_sources`` (each file that sets the backend, in merge order: its path, the backend's ordinal in it, its
    lock settings and its fingerprint) and ``init_lock_settings`` (the lock settings of ``key=value`` init
    arguments). See :func:`backend_now`."""
    backend, sources, pairs = _resolve(root, init_args, terragrunt)
    backend["lock_sources"] = [{"file": path, "index": index, "lock_settings": lock_settings(settings),
                                "fingerprint": fingerprint(path)} for path, index, settings in sources]
    backend["init_lock_settings"] = lock_settings(dict((name, _kv_value(value)) for name, value in pairs))
    return backend


def _resolve(root, init_args, terragrunt):
    """``(backend fact, [(file, backend ordinal, settings)] in merge order, init key=value pairs)``."""
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise RootError("Terraform root %s does not exist or is not a directory" % root)
    files, pairs = parse_init_args(root, init_args)
    tree = scan_paths([root])
    failures = [f for f in tree.failures if os.path.dirname(f["file"]) == root]
    block = _root_backend_block(root, tree, failures, terragrunt)
    grunt = block.form.startswith("terragrunt")
    described = describe(tree, block)
    if block.unresolved and not grunt:
        raise RootError("%s:%s: backend settings %s are not literal values" % (
            block.path, block.line, ", ".join(sorted(block.unresolved))))
    merged, sources, unresolved, where, indexes = _merged_settings(block, files, pairs, tree)
    fact = backend_fact(root, block.path, block.line, block.form, sources, merged, files,
                        described.get("required_version"), described.get("admits_use_lockfile"), failures,
                        unresolved=block.unresolved if grunt else (), identity_unresolved=unresolved,
                        identity_elsewhere=_identity_elsewhere(root, tree, files), setting_lines=where)
    return fact, [(path, index, settings) for (path, _line, settings), index in zip(sources, indexes)], pairs


def lock_settings(settings):
    """The settings a lock mode is read from (LOCK_SETTINGS), and only those: never a credential."""
    return {name: settings[name] for name in LOCK_SETTINGS if name in settings}


def fingerprint(path):
    """``{"size", "sha256"}`` of a file's bytes now (None when it cannot be read): whether a parse still holds."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def initialised_now(backend):
    """``(initialised settings or None, working dir)`` of a root read_root read, from its ``.terraform`` now (JSON):
    a Terragrunt root's working dir is looked for again (a re-init may have made a new one)."""
    workdir = terragrunt_working_dir(backend["root"]) if backend["form"].startswith("terragrunt") else backend["root"]
    return initialised_backend(workdir), workdir


def backend_now(backend, init_args=(), written=()):
    """The root's backend as it is now, for a root read_root read earlier in this run (``backend``).

    A backend file whose bytes are those read_root parsed keeps that parse; one whose bytes are those a rewrite of
    this run wrote and checked (``written``: root_rewrite's file entries, with ``fingerprint`` and
    ``lock_settings_after``) keeps the rewrite's; the last init is read from ``.terraform`` now. Any other change
    (another run rewrote a file, a file is gone) reads the whole root again (resolve_root). Returns
    ``{lock_mode, initialised_lock_mode, initialised, file, line, settings, reparsed}``; raises RootError.
    """
    after = dict((entry["path"], entry) for entry in written or () if entry.get("fingerprint"))
    merged, fresh = {}, True
    for source in backend.get("lock_sources") or [{"file": backend["file"], "fingerprint": None}]:
        now = fingerprint(source["file"])
        if now is not None and now == source.get("fingerprint"):
            merged.update(source["lock_settings"])
        elif now is not None and source["file"] in after and now == after[source["file"]]["fingerprint"]:
            merged.update((after[source["file"]]["lock_settings_after"] or [{}])[source["index"]])
        else:
            fresh = False
            break
    if not fresh:
        again = resolve_root(backend["root"], init_args, terragrunt=True)
        return dict(lock_mode=again["lock_mode"], initialised_lock_mode=again["initialised_lock_mode"],
                    initialised=again["initialised"], file=again["file"], line=again["line"],
                    settings=again["settings"], reparsed=True)
    merged.update(backend.get("init_lock_settings") or {})
    initialised, _workdir = initialised_now(backend)
    return dict(lock_mode=settings_lock_mode(merged, backend.get("unresolved_settings") or (), backend["form"]),
                initialised_lock_mode=initialised["lock_mode"] if initialised else None, initialised=initialised,
                file=backend["file"], line=backend["line"], settings=backend["settings"], reparsed=False)


def backend_fact(root, path, line, form, sources, merged, partial_config_files, required_version,
                 admits_use_lockfile, parse_warnings, unresolved=(), lock_mode=None, identity_unresolved=None,
                 identity_elsewhere=(), setting_lines=None):
    """The ``tfstate_backend`` dict, in the one shape the discover step and the inventory plugin share.

    ``sources``: ``[(file, line, settings)]``, the block's first; ``merged``: the settings they make
    together. Settings named in ``unresolved`` (expressions) keep their source text, and ``lock_mode``
    (the mode those expressions allow) replaces the one the literal settings give. ``identity_unresolved``
    (default ``unresolved``) and ``identity_elsewhere`` say what of the identity terraform runs as is unknown.
    ``setting_lines``: ``{lock setting: "<file>:<line>"}``, where each lock setting is set (the block, a partial
    configuration or the init arguments).
    """
    # The files a lock-mode change edits: those that hold lock settings, else the block's file.
    config_files = [source for source, _line, settings in sources if any(n in settings for n in LOCK_SETTINGS)
                    or isinstance(settings.get("endpoints"), dict) and "dynamodb" in settings["endpoints"]]
    workdir = terragrunt_working_dir(root) if form.startswith("terragrunt") else root
    initialised = initialised_backend(workdir)

    def boolean(name):
        return merged.get(name) if name in unresolved else truthy(merged.get(name))
    return {
        "root": root,
        "file": path,
        "line": line,
        "form": form,
        "config_files": config_files or [path],
        "partial_config_files": list(partial_config_files),
        "settings": {
            "bucket": merged.get("bucket"),
            "key": merged.get("key"),
            "region": merged.get("region"),
            "dynamodb_table": table_of(merged, form),
            "use_lockfile": boolean("use_lockfile"),
            "workspace_key_prefix": merged.get("workspace_key_prefix"),
            "encrypt": boolean("encrypt"),
            "kms_key_id": merged.get("kms_key_id"),
            "profile": merged.get("profile"),
        },
        "unresolved_settings": sorted(unresolved),
        # Where each lock setting is set ("prod.tfbackend:2" when a partial configuration names the table).
        "setting_lines": dict(setting_lines or {}),
        # Who terraform runs as and where its calls go (profile, assume_role, region, endpoints, ...):
        # backend_identity.effective_identity maps them to the collection's connection.
        # Static keys written in a backend are never read or returned, only said to be there.
        "identity_settings": {name: STATIC_KEY_MARK if name in STATIC_KEYS else merged[name]
                              for name in IDENTITY_SETTINGS if name in merged and merged[name] not in (None, "")},
        "identity_unresolved": sorted(name for name in (unresolved if identity_unresolved is None
                                                        else identity_unresolved) if name in IDENTITY_SETTINGS),
        "identity_elsewhere": list(identity_elsewhere),
        "lock_mode": lock_mode or settings_lock_mode(merged, unresolved, form),
        "initialised_lock_mode": initialised["lock_mode"] if initialised else None,
        "initialised": initialised,
        "working_dir": workdir,
        "required_version": required_version,
        "admits_use_lockfile": admits_use_lockfile,
        "parse_warnings": parse_warnings,
    }


def terraform_facts(version_text, binary):
    """``{binary, product, version, supports_use_lockfile}`` from ``<binary> version`` output."""
    first = (version_text or "").strip().splitlines()[0] if (version_text or "").strip() else ""
    match = _VERSION_LINE.match(first)
    if not match:
        raise RootError("%s version printed %r: neither Terraform nor OpenTofu" % (binary, first))
    product = "opentofu" if match.group(1) == "OpenTofu" else "terraform"
    version = tuple(int(part) for part in match.groups()[1:])
    return {
        "binary": binary,
        "product": product,
        "version": "%d.%d.%d" % version,
        "supports_use_lockfile": version >= LOCKFILE_MINIMUM[product],
    }
