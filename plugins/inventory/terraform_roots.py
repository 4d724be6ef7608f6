# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
name: terraform_roots
short_description: One host per Terraform or Terragrunt root that has an S3 backend
version_added: 0.1.0
description:
  - Scans directories for S3 backends, as M(tfstate.s3_backend.backend_info) does, and adds one host per root
    (the directory of a C(backend "s3") block in C(*.tf) or C(*.tofu), a C(*.tf.json) or C(*.tofu.json) backend
    or a Terragrunt C(remote_state)). Where C(x.tofu) and C(x.tf) both hold a backend, the host takes C(x.tofu),
    the one OpenTofu reads.
  - In a folder with a Terragrunt backend (C(remote_state), or a C(generate) block holding the backend), the host is
    that backend's, not the C(backend "s3") block terragrunt generates or completes beside it.
  - A root whose backend block leaves C(bucket) or C(key) to partial configurations gets one host per
    partial-configuration file found in its directory (or the directories right below it; C(*.tfbackend),
    C(*.tfvars) files named C(*backend*) that set backend arguments only, ...) when there are several;
    that host's C(tfstate_init_args) holds the matching C(-backend-config=FILE).
  - "Host variables: C(tfstate_root) (the root directory), C(tfstate_backend) (in the shape of
    RV(tfstate.s3_backend.terraform_root_info#module:backend), which the roles' discover step sets: file, line, form,
    config_files, settings merged with the partial configuration, lock mode, required_version, admits_use_lockfile;
    settings that are expressions keep their text and are listed in unresolved_settings), C(tfstate_lock_mode),
    C(tfstate_bucket), C(tfstate_key), C(tfstate_region), C(tfstate_dynamodb_table) (when known; a Terragrunt
    C(lock_table) too), C(tfstate_partial_config_file) and C(tfstate_init_args)."
  - "Groups: C(lock_mode_<mode>), C(bucket_<bucket>), C(dynamodb_table_<table>) and C(region_<region>), with every
    character that is not a letter, digit or underscore replaced by C(_). Values that are expressions make no group."
  - The inventory source is a YAML file whose C(plugin) key is C(tfstate.s3_backend.terraform_roots).
  - Only regular files (or links to them) of at most 8 MiB are read. Dangling or looping symbolic links, FIFOs,
    devices, sockets, bigger files and directories that cannot be listed are skipped with a warning naming the
    path and why; the other roots are listed as usual.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [tfstate.s3_backend.terraform_roots]
  paths:
    description:
      - Directories to scan, recursively. Relative paths are relative to the inventory file.
      - Host names are the root's path relative to the directory it was found in (the directory's own name for
        the directory itself), followed by C(/<file>) for a partial-configuration host.
    type: list
    elements: path
    required: true
  include:
    description:
      - Shell patterns; when given, only roots whose path relative to the scanned directory matches one of them
        become hosts. C(*) also matches C(/).
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Shell patterns of files and directories to skip, matched against the path relative to the scanned
        directory and against the name. C(.git), C(.terraform), C(.terragrunt-cache) and vendored folders are
        always skipped.
    type: list
    elements: str
    default: []
  connection:
    description:
      - The C(ansible_connection) of every host. An empty value leaves it unset.
    type: str
    default: local
  python_interpreter:
    description:
      - The C(ansible_python_interpreter) of every host, a path.
      - Unset, hosts get C({{ ansible_playbook_python }}), the controller's own Python, so modules that need boto3
        do not run under a system Python that lacks it. An empty value leaves the variable unset.
    type: str
"""

EXAMPLES = r"""
# inventory/terraform_roots.yml
plugin: tfstate.s3_backend.terraform_roots
paths:
  - /srv/repos
exclude:
  - "*/examples/*"
include:
  - "platform/*"
keyed_groups:
  - key: tfstate_backend.form
    prefix: form

# ansible-inventory -i inventory/terraform_roots.yml --graph
# ansible-playbook -i inventory/terraform_roots.yml migrate.yml --limit lock_mode_dynamodb
"""

import os
import re
from fnmatch import fnmatchcase

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates inventory variables without being told
    def trust_as_template(value):
        return value

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import files
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import settings as disc
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import backend_fact, setting_places

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")

# Host variables copied from the merged settings when they are plain values.
_SETTING_VARS = ("bucket", "key", "region", "dynamodb_table")


def _relative(path, top):
    rel = os.path.relpath(path, top)
    if rel == ".":
        return os.path.basename(os.path.abspath(top))
    return rel.replace(os.sep, "/")


def _matches(patterns, rel):
    return any(fnmatchcase(rel, pattern) for pattern in patterns)


def root_hosts(top, tree, include=(), warn=None):
    """``(host name, host variables)`` for every root found under ``top``.

    A root holds one backend; when a directory holds several (Terraform refuses that), the first
    one in file order makes the host and ``warn`` is told about the others. A Terragrunt backend
    comes first: the ``backend "s3"`` block beside it is what terragrunt generates or completes.
    """
    version_cache, partial_cache = {}, {}
    roots = {}
    grunt = set(os.path.dirname(b.path) for b in tree.backends
                if b.form.startswith("terragrunt") and not b.templated)
    for backend in files.opentofu_view(tree.backends):
        if backend.templated or backend.form == "partial":
            continue
        root = os.path.dirname(backend.path)
        if root in grunt and not backend.form.startswith("terragrunt"):
            continue
        if root in roots:
            if warn:
                warn("terraform_roots: %s:%d is a second backend in %s (the host uses %s:%d)"
                     % (backend.path, backend.line, root, roots[root].path, roots[root].line))
            continue
        rel_root = _relative(root, top)
        if include and not _matches(include, rel_root):
            continue
        roots[root] = backend
        entry = discovery.describe(tree, backend, version_cache, partial_cache)
        entry["setting_lines"] = setting_places(backend)
        places = dict((found.path, setting_places(found)) for found in partial_cache.get(root, []))
        for partial in entry["partial_configs"]:
            partial["setting_lines"] = places.get(partial["file"], {})
        partials = entry.pop("partial_configs")
        entry.pop("partial_config_files")
        entry.pop("templated")
        if len(partials) > 1:
            variants = [("%s/%s" % (rel_root, _relative(p["file"], root)), p) for p in partials]
        else:
            variants = [(rel_root, partials[0] if partials else None)]
        for name, partial in variants:
            yield name, _host_vars(entry, partial)


def _host_vars(entry, partial):
    settings = dict(entry["settings"])
    sources = [(entry["file"], entry["line"], entry["settings"])]
    init_args = []
    partial_file = None
    if partial is not None:
        settings.update(partial["settings"])
        partial_file = partial["file"]
        sources.append((partial_file, 1, partial["settings"]))
        init_args = ["-backend-config=%s" % os.path.relpath(partial_file, entry["root"])]
    lines = dict(entry["setting_lines"], **(partial["setting_lines"] if partial is not None else {}))
    lock_mode = discovery.effective_lock_mode(entry["settings"], partial["settings"]) if partial else entry["lock_mode"]
    backend = backend_fact(entry["root"], entry["file"], entry["line"], entry["form"], sources, settings,
                           [partial_file] if partial_file else [], entry["required_version"],
                           entry["admits_use_lockfile"], [], entry["unresolved_settings"], lock_mode,
                           setting_lines=lines)
    host_vars = {
        "tfstate_root": entry["root"],
        "tfstate_backend": backend,
        "tfstate_lock_mode": backend["lock_mode"],
        "tfstate_partial_config_file": partial_file,
        "tfstate_init_args": init_args,
    }
    unresolved = set(entry["unresolved_settings"])
    table = disc.table_of(settings, entry["form"])  # Terragrunt's lock_table too
    if table is not None and settings.get("dynamodb_table") != table:
        settings["dynamodb_table"] = table
        if "lock_table" in unresolved:
            unresolved.add("dynamodb_table")
    for name in _SETTING_VARS:
        value = settings.get(name)
        host_vars["tfstate_%s" % name] = value if isinstance(value, str) and name not in unresolved else None
    return host_vars


def group_names(host_vars):
    """The plugin's own groups of a host."""
    groups = ["lock_mode_%s" % host_vars["tfstate_lock_mode"]]
    for name in ("bucket", "dynamodb_table", "region"):
        value = host_vars["tfstate_%s" % name]
        if value:
            groups.append(_UNSAFE.sub("_", "%s_%s" % (name, value)))
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable):

    NAME = "tfstate.s3_backend.terraform_roots"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".yml", ".yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        base = os.path.dirname(os.path.abspath(path))
        tops = [p if os.path.isabs(p) else os.path.join(base, p) for p in self.get_option("paths")]
        missing = [p for p in tops if not os.path.isdir(p)]
        if missing:
            raise AnsibleParserError("terraform_roots: not a directory: %s" % ", ".join(missing))
        connection = self.get_option("connection")
        interpreter = self.get_option("python_interpreter")
        if interpreter is None:
            interpreter = trust_as_template("{{ ansible_playbook_python }}")
        strict = self.get_option("strict")
        for top in tops:
            tree = discovery.scan_paths([top], self.get_option("exclude"))
            for skipped in tree.skipped:
                self.display.warning("terraform_roots: skipped %s: %s" % (skipped["file"], skipped["reason"]))
            for failure in tree.failures:
                self.display.warning("terraform_roots: cannot parse %s:%s: %s"
                                     % (failure["file"], failure["line"], failure["reason"]))
            for name, host_vars in root_hosts(top, tree, self.get_option("include"), warn=self.display.warning):
                self.inventory.add_host(name)
                if connection:
                    self.inventory.set_variable(name, "ansible_connection", connection)
                if interpreter:
                    self.inventory.set_variable(name, "ansible_python_interpreter", interpreter)
                for key, value in host_vars.items():
                    self.inventory.set_variable(name, key, value)
                for group in group_names(host_vars):
                    self.inventory.add_group(group)
                    self.inventory.add_child(group, name)
                self._set_composite_vars(self.get_option("compose"), host_vars, name, strict=strict)
                self._add_host_to_composed_groups(self.get_option("groups"), host_vars, name, strict=strict)
                self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, name, strict=strict)
