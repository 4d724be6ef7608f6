# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which settings of one S3 backend change for a lock mode, as item-level operations.

Pure Python, no Ansible imports. Modes:

- ``lockfile``: ``use_lockfile = true``; ``dynamodb_table`` (Terragrunt's ``lock_table`` too),
  ``dynamodb_endpoint`` and ``endpoints.dynamodb`` removed. ``use_lockfile`` takes the place of the table.
- ``dual``: ``use_lockfile = true`` right after the table setting, which stays.
- ``dynamodb`` (rollback): ``use_lockfile`` removed; ``dynamodb_table`` set where there is none.

A backend that does not lock (lock mode ``none``, as ``settings.settings_lock_mode`` says:
no table, or an empty one, and ``use_lockfile`` absent or false, a DynamoDB endpoint or not) is
left as it is in every mode: locking is never turned on where there was none.

:func:`plan` only decides; ``splice`` turns the operations into text edits and
:func:`expected_settings` says what the edited backend must read back as.
"""

import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import discovery
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import settings as disc
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree as hcl

MODES = ("lockfile", "dual", "dynamodb")
# Settings that go with the table in lockfile mode (the deprecated DynamoDB endpoint).
DYNAMODB_EXTRAS = tuple(name for name in disc.DYNAMODB_SETTINGS if name != "dynamodb_table")


class Skip(Exception):
    """A backend left untouched, with why (``kind`` is the untouched entry's kind)."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Op:
    """One item-level operation: remove, replace, insert_after, insert_before or set_value."""
    __slots__ = ("kind", "node", "parent", "name", "value")

    def __init__(self, kind, node, name=None, value=None, parent=None):
        self.kind = kind
        self.node = node      # the item the operation is anchored on (None: after the last attribute)
        self.parent = parent  # the container holding node
        self.name = name
        self.value = value


def node_name(node):
    """The setting name of an attribute, object member or block."""
    return node.type if isinstance(node, hcl.Block) else node.name


def endpoints_container(backend):
    """The object (or block body) ``endpoints`` holds its entries in, or None."""
    node = backend.nodes.get("endpoints")
    if node is None:
        return None
    if isinstance(node, hcl.Block):
        return node.body
    return node.value if node.value.kind == "object" else None


def _endpoints_dynamodb(backend):
    """``(container, dynamodb item)`` of ``endpoints``' dynamodb entry, or (None, None)."""
    container = endpoints_container(backend)
    if container is None:
        return None, None
    for item in container.items:
        if getattr(item, "name", None) == "dynamodb":
            return container, item
    return None, None


# ---------------------------------------------------------------------------------------------
# Backends no mode can edit
# ---------------------------------------------------------------------------------------------

def _check_editable(backend, leave_unlocked=True):
    """Raise Skip when no mode can edit the backend (see plan() for ``leave_unlocked``)."""
    if backend.templated:
        raise Skip("template", "templated backend at line %d: %s" % (backend.line, backend.templated))
    if backend.expression_keys:
        raise Skip("expression", "the backend at line %d names a setting with an expression at line %d; only "
                   "literal setting names can be edited" % (backend.line, backend.expression_keys[0]))
    if not backend.has_lock_settings or (leave_unlocked and backend.lock_mode == "none"):
        raise Skip("no_lock_settings", _no_lock_settings_reason(backend))
    if backend.form in ("block", "json", "partial") and backend.unresolved:
        # Terraform refuses such a backend already; an edit could not be proven right by terraform init.
        name = sorted(backend.unresolved, key=backend.setting_line)[0]
        raise Skip("expression", "the backend at line %d sets %s at line %d to an expression, which Terraform does "
                   "not accept in a backend; fix that first" % (backend.line, name, backend.setting_line(name)))


def _no_lock_settings_reason(backend):
    if backend.has_lock_settings:
        reason = ("the backend at line %d does not lock (lock mode none: %s); locking is not turned on where there "
                  "was none, so nothing is changed" % (backend.line, disc.why_unlocked(backend.settings)))
    else:
        reason = "the backend at line %d has no lock setting (lock mode none); nothing to change" % backend.line
    unknown = [name for name in backend.nodes if backend.syntax == "hcl" and name not in disc.S3_SETTINGS
               and not backend.form.startswith("terragrunt")]
    if unknown:
        reason += "; %s at line %d is not an S3 backend setting" % (unknown[0], backend.setting_line(unknown[0]))
    if backend.incomplete:
        partials = discovery.find_partial_configs(os.path.dirname(backend.path) or ".")
        if partials:
            reason += "; its other settings come from partial configurations such as %s" % ", ".join(
                os.path.basename(p.path) for p in partials[:3])
    return reason


def _lockfile_true(backend):
    """The operation that makes an existing ``use_lockfile`` true, as a list (empty when it is)."""
    lockfile = backend.nodes.get("use_lockfile")
    if lockfile is not None and "use_lockfile" not in backend.unresolved \
            and backend.settings["use_lockfile"] is not True:
        return [Op("set_value", lockfile, "use_lockfile", True)]
    return []


def _kept_table_warning(backend, dynamodb_table):
    """The warnings when the backend keeps a table other than the one given."""
    name = backend.table_name
    if dynamodb_table and backend.settings.get(name) != dynamodb_table:
        return ["keeps its %s %r (line %d); the given %r is not applied"
                % (name, backend.settings.get(name), backend.setting_line(name), dynamodb_table)]
    return []


# ---------------------------------------------------------------------------------------------
# One planner per mode
# ---------------------------------------------------------------------------------------------

def _plan_lockfile(backend, dynamodb_table):
    nodes, container = backend.nodes, backend.container
    tables = [nodes[name] for name in backend.table_settings if name in nodes]
    lockfile = nodes.get("use_lockfile")
    removed = tables + [nodes[name] for name in DYNAMODB_EXTRAS if name in nodes]
    endpoints, dynamodb_endpoint = _endpoints_dynamodb(backend)
    endpoints_node = nodes.get("endpoints")
    ops = []
    if dynamodb_endpoint is not None and len(endpoints.items) == 1:
        removed.append(endpoints_node)
    elif dynamodb_endpoint is not None:
        ops.append(Op("remove", dynamodb_endpoint, parent=endpoints))
    if not removed and dynamodb_endpoint is None and backend.lockfile_on and (
            lockfile is None or backend.settings["use_lockfile"] is True or "use_lockfile" in backend.unresolved):
        raise Skip("already", "the backend at line %d already uses only use_lockfile" % backend.line)
    if lockfile is not None:
        ops.extend(_lockfile_true(backend))
    elif tables or removed:
        anchor = nodes[backend.table_name] if tables else removed[0]
        ops.append(Op("replace", anchor, "use_lockfile", True, parent=container))
        removed = [node for node in removed if node is not anchor]
    else:
        ops.append(Op("insert_after", endpoints_node, "use_lockfile", True, parent=container))
    ops.extend(Op("remove", node, parent=container) for node in removed)
    return ops, []


def _plan_dual(backend, dynamodb_table):
    container = backend.container
    table, lockfile = backend.nodes.get(backend.table_name), backend.nodes.get("use_lockfile")
    if not backend.has_table and not dynamodb_table:
        raise Skip("needs_table", "the backend at line %d has no dynamodb_table to keep; give dynamodb_table"
                   % backend.line)
    warnings = _kept_table_warning(backend, dynamodb_table) if backend.has_table else []
    ops = []
    if not backend.has_table:
        if table is not None:
            ops.append(Op("set_value", table, backend.table_name, dynamodb_table))
        elif lockfile is not None:
            ops.append(Op("insert_before", lockfile, "dynamodb_table", dynamodb_table, parent=container))
        else:
            raise Skip("no_lock_settings", "the backend at line %d has no lock setting" % backend.line)
    if lockfile is None:
        ops.append(Op("insert_after", table, "use_lockfile", True, parent=container))
    else:
        ops.extend(_lockfile_true(backend))
    if not ops:
        raise Skip("already", "the backend at line %d already locks with both DynamoDB and use_lockfile"
                   % backend.line)
    return ops, warnings


def _plan_dynamodb(backend, dynamodb_table):
    container = backend.container
    table, lockfile = backend.nodes.get(backend.table_name), backend.nodes.get("use_lockfile")
    if lockfile is None:
        if backend.has_table:
            raise Skip("already", "the backend at line %d already locks with DynamoDB only" % backend.line)
        raise Skip("no_lock_settings", "the backend at line %d has no lock setting" % backend.line)
    if backend.has_table:
        return [Op("remove", lockfile, parent=container)], _kept_table_warning(backend, dynamodb_table)
    if not dynamodb_table:
        raise Skip("needs_table", "the backend at line %d has no dynamodb_table to go back to; give dynamodb_table"
                   % backend.line)
    if table is not None:
        return [Op("set_value", table, backend.table_name, dynamodb_table),
                Op("remove", lockfile, parent=container)], []
    return [Op("replace", lockfile, "dynamodb_table", dynamodb_table, parent=container)], []


_PLANNERS = {"lockfile": _plan_lockfile, "dual": _plan_dual, "dynamodb": _plan_dynamodb}


def plan(backend, mode, dynamodb_table=None, leave_unlocked=True):
    """``(operations, warnings)`` that bring a backend to ``mode``; raises Skip when it is left as it is.

    ``leave_unlocked`` (the default): a backend in lock mode none is left as it is. False only for one file of a
    root whose configuration, all files merged, does lock (the migrate role's rewrite, after its preflight): a
    partial configuration's ``use_lockfile = false`` completing a block's ``dynamodb_table`` must follow the target.
    """
    _check_editable(backend, leave_unlocked)
    return _PLANNERS[mode](backend, dynamodb_table)


def expected_settings(backend, ops):
    """The settings the backend must read back after the operations."""
    settings = dict(backend.settings)
    for op in ops:
        if op.kind == "remove":
            if op.parent is backend.container:
                del settings[node_name(op.node)]
            else:
                endpoints = dict(settings["endpoints"])
                del endpoints["dynamodb"]
                settings["endpoints"] = endpoints
        elif op.kind == "replace":
            del settings[node_name(op.node)]
            settings[op.name] = op.value
        else:
            settings[op.name] = op.value
    return settings
