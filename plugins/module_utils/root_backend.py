# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective S3 backend of one Terraform root, as ``terraform init`` would assemble it.

Pure Python, no Ansible imports. The root's ``backend "s3"`` block (or JSON form) is completed
by the ``-backend-config`` files and ``key=value`` arguments of its init command line, in that
order (later wins), as Terraform does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_discovery import (
    describe,
    lock_mode,
    UnreadableFile,
    scan_file,
    scan_paths,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_identity import IDENTITY_SETTINGS, STATIC_KEYS
from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_versions import LOCKFILE_MINIMUM

# Settings whose presence a lock-mode change edits.
LOCK_SETTINGS = ("dynamodb_table", "use_lockfile", "dynamodb_endpoint")
STATIC_KEY_MARK = "(set in the backend, not read)"
_VERSION_LINE = re.compile(r"^(Terraform|OpenTofu) v(\d+)\.(\d+)\.(\d+)")


class RootError(Exception):
    """The root's backend cannot be resolved; the message names the file and line."""


def _truthy(value):
    return value is True or (isinstance(value, str) and value.lower() == "true")


def settings_lock_mode(settings):
    table = settings.get("dynamodb_table")
    return lock_mode(table not in (None, ""), _truthy(settings.get("use_lockfile")))


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


def resolve_root(root, init_args=(), terragrunt=False):
    """The contract's ``tfstate_backend`` dict for ``root``; raises RootError with file and line.

    A Terragrunt root (``remote_state`` or a ``generate`` block holding the backend, in the root's own
    folder) is resolved only with ``terragrunt=True`` (the migrate role's phases): its backend is the
    Terragrunt file's, and its last init is read where terragrunt ran terraform (terragrunt_working_dir).
    Anything else refuses it, naming the file.
    """
    root = os.path.abspath(os.path.expanduser(root))
    if not os.path.isdir(root):
        raise RootError("Terraform root %s does not exist or is not a directory" % root)
    files, pairs = parse_init_args(root, init_args)
    tree = scan_paths([root])
    failures = [f for f in tree.failures if os.path.dirname(f["file"]) == root]
    here = [b for b in tree.backends if os.path.dirname(b.path) == root]
    grunt = [b for b in here if b.form.startswith("terragrunt")]
    blocks = [b for b in here if b.form in ("block", "json")]
    if grunt:
        if not terragrunt:
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block (Terragrunt roots are "
                            "migrated by the migrate role only)" % (grunt[0].path, grunt[0].line, grunt[0].form))
        # A backend "s3" {} stub in the .tf files is what terragrunt completes; the Terragrunt file holds the settings.
        blocks = grunt
    elif failures and not blocks:
        first = failures[0]
        raise RootError("%s:%s: cannot be parsed: %s" % (first["file"], first["line"], first["reason"]))
    if not blocks:
        others = [b for b in here if b.form not in ("block", "json")]
        if others:
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block" % (
                others[0].path, others[0].line, others[0].form))
        raise RootError("no backend \"s3\" block in the .tf or .tf.json files of %s" % root)
    block = _one(blocks, root, "Terragrunt backends" if grunt else "backend \"s3\" blocks")
    described = describe(tree, block)
    if block.unresolved and not grunt:
        raise RootError("%s:%s: backend settings %s are not literal values" % (
            block.path, block.line, ", ".join(sorted(block.unresolved))))

    merged = dict(block.settings)
    sources = [(block.path, block.line, dict(block.settings))]
    unresolved = set(block.unresolved)  # a Terragrunt file's expressions (a plain block's stopped above)
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
        unresolved.update(partials[0].unresolved)
        sources.append((path, partials[0].line, dict(partials[0].settings)))
    for name, value in pairs:
        merged[name] = _kv_value(value)
        unresolved.discard(name)
    for name in ("bucket", "key"):
        if not merged.get(name):
            raise RootError("%s:%s: the backend has no %s (not in the %s, the -backend-config files or arguments)"
                            % (block.path, block.line, name, "Terragrunt config" if grunt else "block"))

    # The files a lock-mode change edits: those that hold lock settings, else the block's file.
    config_files = [path for path, _line, settings in sources if any(n in settings for n in LOCK_SETTINGS)
                    or isinstance(settings.get("endpoints"), dict) and "dynamodb" in settings["endpoints"]]
    if not config_files:
        config_files = [block.path]
    # Partial configurations in the root that init_args do not pass but that name an identity: terraform
    # runs as they say only where some pipeline passes them, which the collection cannot know.
    identity_elsewhere = ["%s:%s sets %s" % (b.path, b.line,
                                             ", ".join(sorted(n for n in b.settings if n in IDENTITY_SETTINGS)))
                          for b in tree.backends if b.form == "partial" and os.path.dirname(b.path) == root
                          and os.path.normpath(b.path) not in files
                          and any(n in IDENTITY_SETTINGS and n != "region" for n in b.settings)]
    workdir = terragrunt_working_dir(root) if grunt else root
    initialised = initialised_backend(workdir)
    return {
        "root": root,
        "file": block.path,
        "line": block.line,
        "form": block.form,
        "config_files": config_files,
        "partial_config_files": files,
        "settings": {
            "bucket": merged.get("bucket"),
            "key": merged.get("key"),
            "region": merged.get("region"),
            "dynamodb_table": merged.get("dynamodb_table") or None,
            "use_lockfile": _truthy(merged.get("use_lockfile")),
            "workspace_key_prefix": merged.get("workspace_key_prefix"),
            "encrypt": _truthy(merged.get("encrypt")),
            "kms_key_id": merged.get("kms_key_id"),
            "profile": merged.get("profile"),
        },
        "unresolved_settings": sorted(block.unresolved),
        # Who terraform runs as and where its calls go (profile, assume_role, region, endpoints, ...):
        # backend_identity.effective_identity maps them to the collection's connection.
        # Static keys written in a backend are never read or returned, only said to be there.
        "identity_settings": dict((name, STATIC_KEY_MARK if name in STATIC_KEYS else merged[name])
                                  for name in IDENTITY_SETTINGS if name in merged and merged[name] not in (None, "")),
        "identity_unresolved": sorted(name for name in unresolved if name in IDENTITY_SETTINGS),
        "identity_elsewhere": identity_elsewhere,
        "lock_mode": settings_lock_mode(merged),
        "initialised_lock_mode": initialised["lock_mode"] if initialised else None,
        "initialised": initialised,
        "working_dir": workdir,
        "required_version": described.get("required_version"),
        "admits_use_lockfile": described.get("admits_use_lockfile"),
        "parse_warnings": failures,
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
