# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective S3 backend of one Terraform root, as ``terraform init`` would assemble it.

Pure Python, no Ansible imports. The root's ``backend "s3"`` block (or JSON form) is completed
by the ``-backend-config`` files and ``key=value`` arguments of its init command line, in that
order (later wins), as Terraform does.
"""

import json
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_discovery import (
    describe,
    UnreadableFile,
    scan_file,
    scan_paths,
    settings_lock_mode,
    truthy,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_versions import LOCKFILE_MINIMUM

# Settings whose presence a lock-mode change edits.
LOCK_SETTINGS = ("dynamodb_table", "use_lockfile", "dynamodb_endpoint")
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


def _root_backend_block(root, tree, failures):
    """The one ``backend "s3"`` block of the root's own .tf/.tf.json files; raises RootError otherwise."""
    blocks = [b for b in tree.backends
              if b.form in ("block", "json") and os.path.dirname(b.path) == root]
    if failures and not blocks:
        first = failures[0]
        raise RootError("%s:%s: cannot be parsed: %s" % (first["file"], first["line"], first["reason"]))
    if not blocks:
        others = [b for b in tree.backends if os.path.dirname(b.path) == root]
        if others:
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block (Terragrunt roots are not "
                            "migrated by this role)" % (others[0].path, others[0].line, others[0].form))
        raise RootError("no backend \"s3\" block in the .tf or .tf.json files of %s" % root)
    if len(blocks) > 1:
        places = ", ".join("%s:%s" % (b.path, b.line) for b in blocks)
        raise RootError("several backend \"s3\" blocks in %s: %s (Terraform allows one)" % (root, places))
    block = blocks[0]
    if block.templated:
        raise RootError("%s:%s: the backend is templated (%s): render it first" % (block.path, block.line, block.templated))
    return block


def _merged_settings(block, files, pairs):
    """``(settings, [(file, line, settings)])``: the block's, then -backend-config files', then key=value pairs."""
    merged = dict(block.settings)
    sources = [(block.path, block.line, dict(block.settings))]
    for path in files:
        try:
            scan = scan_file(path, explicit=True)
        except UnreadableFile as exc:
            raise RootError("%s: cannot be read: %s" % (path, exc.reason))
        if scan is None or scan.failure:
            failure = scan.failure if scan else {"line": 1, "reason": "not a partial configuration"}
            raise RootError("%s:%s: cannot be parsed: %s" % (path, failure["line"], failure["reason"]))
        partials = [b for b in scan.backends if b.form == "partial"]
        if not partials:
            raise RootError("%s:1: holds no backend settings" % path)
        merged.update(partials[0].settings)
        sources.append((path, partials[0].line, dict(partials[0].settings)))
    for name, value in pairs:
        merged[name] = _kv_value(value)
    for name in ("bucket", "key"):
        if not merged.get(name):
            raise RootError("%s:%s: the backend has no %s (not in the block, the -backend-config files or arguments)"
                            % (block.path, block.line, name))
    return merged, sources


def resolve_root(root, init_args=()):
    """The contract's ``tfstate_backend`` dict for ``root``; raises RootError with file and line."""
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise RootError("Terraform root %s does not exist or is not a directory" % root)
    files, pairs = parse_init_args(root, init_args)
    tree = scan_paths([root])
    failures = [f for f in tree.failures if os.path.dirname(f["file"]) == root]
    block = _root_backend_block(root, tree, failures)
    described = describe(tree, block)
    if block.unresolved:
        raise RootError("%s:%s: backend settings %s are not literal values" % (
            block.path, block.line, ", ".join(sorted(block.unresolved))))
    merged, sources = _merged_settings(block, files, pairs)

    return backend_fact(root, block.path, block.line, block.form, sources, merged, files,
                        described.get("required_version"), described.get("admits_use_lockfile"), failures)


def backend_fact(root, path, line, form, sources, merged, partial_config_files, required_version,
                 admits_use_lockfile, parse_warnings, unresolved=(), lock_mode=None):
    """The ``tfstate_backend`` dict, in the one shape the discover step and the inventory plugin share.

    ``sources``: ``[(file, line, settings)]``, the block's first; ``merged``: the settings they make
    together. Settings named in ``unresolved`` (expressions) keep their source text, and ``lock_mode``
    (the mode those expressions allow) replaces the one the literal settings give.
    """
    # The files a lock-mode change edits: those that hold lock settings, else the block's file.
    config_files = [source for source, _line, settings in sources if any(n in settings for n in LOCK_SETTINGS)
                    or isinstance(settings.get("endpoints"), dict) and "dynamodb" in settings["endpoints"]]
    initialised = initialised_backend(root)

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
            "dynamodb_table": merged.get("dynamodb_table") or None,
            "use_lockfile": boolean("use_lockfile"),
            "workspace_key_prefix": merged.get("workspace_key_prefix"),
            "encrypt": boolean("encrypt"),
            "kms_key_id": merged.get("kms_key_id"),
            "profile": merged.get("profile"),
        },
        "unresolved_settings": sorted(unresolved),
        "lock_mode": lock_mode or settings_lock_mode(merged),
        "initialised_lock_mode": initialised["lock_mode"] if initialised else None,
        "initialised": initialised,
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
