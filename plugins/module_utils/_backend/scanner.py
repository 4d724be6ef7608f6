# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One file's backends: the HCL and JSON scanners that find ``backend "s3"`` blocks, Terragrunt
``remote_state`` and partial configurations, each setting with its value and line (``Backend``,
``FileScan``, ``scan_file``). No Ansible imports."""

import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_syntax as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tokens
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import hcl_tree
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import json_syntax as hjson
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.files import TextFile, file_kind, is_candidate
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import (
    DYNAMODB_SETTINGS,
    PARTIAL_KINDS,
    S3_SETTINGS,
    TABLE_SETTINGS,
    TERRAGRUNT_CONFIG_FORMS,
    TERRAGRUNT_LOCK_TABLE_OPTIONS,
    TERRAGRUNT_TABLE_SETTINGS,
    _BACKEND_S3,
    _COMMENTED_BACKEND,
    _LOCAL_REF,
    _PLACEHOLDER,
    _TEMPLATE_LOCAL_REF,
    _TEMPLATE_MARK,
    lockfile_of,
    note_parse,
    settings_lock_mode,
    table_of,
)


class Backend:
    """One S3 backend configuration found in a file, with the nodes needed to edit it."""

    def __init__(self, path, lines, line, form, syntax, container, nodes, index):
        self.path = path
        self.lines = lines
        self.line = line
        self.form = form
        self.syntax = syntax          # "hcl" or "json"
        self.container = container    # hcl.Body, hcl.Expr (object) or hjson.JsonValue (object)
        self.nodes = nodes            # setting name -> hcl.Item / hcl.Block / hjson.JsonMember
        self.index = index            # ordinal among the file's backends
        self.templated = None         # why this backend is a template, when it is one
        self.local_refs = {}          # setting name -> (local name, line of the local)
        self.locals = {}
        self.settings = {}
        self.unresolved = []
        self.unknown = []
        self.expression_keys = []     # lines of keys written as expressions (aws.child = ..., (var.k) = ...)
        self._read_settings()

    def _value(self, name, node):
        if self.syntax == "json":
            return node.value.python_value(), True
        if isinstance(node, hcl_tree.Block):
            return {item.name: self._expr_value(item.value)[0] for item in node.body.attributes()}, True
        return self._expr_value(node.value, name)

    def _expr_value(self, expr, name=None):
        if expr.is_literal:
            return expr.python_value(), True
        source = self.lines.text[expr.start:expr.end]
        if expr.kind == "template":
            m = _TEMPLATE_LOCAL_REF.match(source)
            if m and name is not None and m.group(1) in self.locals:
                # "${local.x}" is local.x converted to a string
                value, literal = self._local_value(name, m.group(1))
                if literal and _template_string(value) is not None:
                    return _template_string(value), True
            return source[1:-1], False   # the template itself, e.g. ${path_relative_to_include()}/x
        m = _LOCAL_REF.match(source)
        if m and name is not None and m.group(1) in self.locals:
            value, literal = self._local_value(name, m.group(1))
            if literal:
                return value, True
        return source, False

    def _local_value(self, name, local):
        """Record that setting ``name`` comes from ``local``; ``(value, True)`` when the local is a literal."""
        local_item = self.locals[local]
        self.local_refs[name] = (local, self.lines.line_of(local_item.start))
        if local_item.value.is_literal:
            return local_item.value.python_value(), True
        return None, False

    def _read_settings(self):
        self.settings = {}
        self.unresolved = []
        for name, node in self.nodes.items():
            value, literal = self._value(name, node)
            self.settings[name] = value
            if not literal:
                self.unresolved.append(name)

    def resolve_locals(self, local_items):
        self.locals = local_items
        self._read_settings()

    def setting_line(self, name):
        if self.lines is None:
            return self._setting_lines[name]
        return self.lines.line_of(self.nodes[name].start)

    def release(self):
        """Drop the parse tree and the text once only the facts are needed (tree scans keep many)."""
        self._setting_lines = {name: self.setting_line(name) for name in self.nodes}
        self.nodes = dict.fromkeys(self.nodes)
        self.container = None
        self.lines = None
        self.locals = {}

    @property
    def table_settings(self):
        """The settings that can name the DynamoDB table in this form (Terragrunt's lock_table too)."""
        return TERRAGRUNT_TABLE_SETTINGS if self.form in TERRAGRUNT_CONFIG_FORMS else TABLE_SETTINGS

    @property
    def table_name(self):
        """The setting that names the table (the first one set to something), else the first one written."""
        written = [name for name in self.table_settings if name in self.nodes]
        for name in written:
            if name in self.unresolved or self.settings[name] not in ("", None):
                return name
        return written[0] if written else None

    @property
    def has_table(self):
        return table_of(self.settings, self.form) is not None

    @property
    def lockfile_on(self):
        return lockfile_of(self.settings, self.unresolved)

    @property
    def lock_mode(self):
        return settings_lock_mode(self.settings, self.unresolved, self.form)

    @property
    def endpoints_dynamodb(self):
        value = self.settings.get("endpoints")
        return isinstance(value, dict) and "dynamodb" in value

    @property
    def has_lock_settings(self):
        """Any setting a lock-mode change edits (an empty dynamodb_table counts)."""
        return any(name in self.nodes for name in ("use_lockfile", "dynamodb_endpoint") + self.table_settings) \
            or self.endpoints_dynamodb

    @property
    def incomplete(self):
        """A block that needs a partial configuration: bucket or key is missing."""
        return self.form in ("block", "json") and not ("bucket" in self.nodes and "key" in self.nodes)

    def as_dict(self):
        return {
            "file": self.path,
            "line": self.line,
            "form": self.form,
            "root": os.path.dirname(self.path),
            "settings": dict(self.settings),
            "unresolved_settings": sorted(self.unresolved),
            "lock_mode": self.lock_mode,
        }


def _template_string(value):
    """What ``"${value}"`` renders for a literal value; None for a value a template cannot hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return None  # null, a fractional number (HCL's own rendering), a list or an object


class FileScan:
    """What one file holds: backends, notes (traps and remarks), a parse failure, required_version."""

    def __init__(self, path, text_file=None):
        self.path = path
        self.file = text_file
        self.text = text_file.text if text_file is not None else ""
        self.lines = None
        self.comments = []            # every comment, generate heredocs' included
        self.backends = []
        self.notes = []
        self.failure = None
        self.required_versions = []   # (constraint text, line)
        self.version_constraints = []  # Terragrunt terraform_version_constraint, (text, line)

    def note(self, line, kind, message):
        self.notes.append({"file": self.path, "line": line, "kind": kind, "message": message})

    def fail(self, line, reason):
        self.failure = {"file": self.path, "line": line, "reason": reason}

    def release(self):
        for backend in self.backends:
            backend.release()
        self.file = self.text = self.lines = None
        self.comments = []


def _string_value(expr):
    return expr.value if expr is not None and expr.kind == "string" else None


class _HclScanner:
    """Walks a parsed HCL file and fills a FileScan."""

    def __init__(self, scan, parsed, kind, generated=False):
        self.scan = scan
        self.parsed = parsed
        self.lines = parsed.lines
        self.kind = kind
        self.generated = generated   # parsing what a Terragrunt generate block renders

    def line(self, offset):
        return self.lines.line_of(offset)

    def add(self, line, form, container, items):
        nodes = {}
        expression_keys = []
        for item in items:
            if isinstance(item, hcl_tree.Item):
                name = item.name
                if name is None:
                    expression_keys.append(self.line(item.start))
            else:
                name = item.type if isinstance(item, hcl_tree.Block) and not item.labels else None
            if name is not None:
                nodes[name] = item
        backend = Backend(self.scan.path, self.lines, line, form, "hcl", container, nodes, len(self.scan.backends))
        backend.expression_keys = expression_keys
        self.scan.backends.append(backend)
        return backend

    def run(self):
        body = self.parsed.body
        top_items = body.items
        local_items = {}
        for block in body.blocks("locals"):
            for item in block.body.attributes():
                local_items[item.name] = item
        for item in top_items:
            if isinstance(item, hcl_tree.Block):
                self.block(item)
            elif item.name == "remote_state" and item.value.kind == "object":
                self.remote_state(item, item.value.items, "terragrunt")
            elif item.name == "terragrunt" and item.value.kind == "object":
                for inner in item.value.items:
                    if inner.name == "remote_state" and inner.value.kind == "object":
                        self.remote_state(inner, inner.value.items, "terragrunt_tfvars")
            elif item.name == "terraform_version_constraint" and _string_value(item.value):
                self.scan.version_constraints.append((item.value.value, self.line(item.start)))
        if not self.scan.backends and self.kind in PARTIAL_KINDS and self.looks_partial(top_items):
            first = top_items[0].start if top_items else 0
            self.add(self.line(first), "partial", body, top_items)
        for backend in self.scan.backends:
            if backend.form.startswith("terragrunt") and local_items:
                backend.resolve_locals(local_items)
            self.inspect(backend)
        self.comments()

    def looks_partial(self, items):
        """Top-level attributes only; for a file not named as one (``*.hcl``, a ``*.tfvars`` named ``*backend*``),
        all of them S3 backend settings."""
        if not items or self.kind == "tfvars":
            return False
        names = [item.name for item in items if isinstance(item, hcl_tree.Item)]
        if len(names) != len(items):
            return False
        if self.kind in ("partial", "tfvars_partial"):
            return True
        return all(name in S3_SETTINGS for name in names) and any(
            name in ("bucket", "key", "dynamodb_table", "use_lockfile") for name in names)

    def block(self, block):
        if block.type == "terraform":
            for item in block.body.items:
                if isinstance(item, hcl_tree.Block) and item.type == "backend":
                    if item.labels == ["s3"]:
                        form = "terragrunt_generate" if self.generated else "block"
                        self.add(self.line(item.start), form, item.body, item.body.items)
                    else:
                        self.scan.note(self.line(item.start), "other_backend",
                                       'the active backend is "%s", not "s3"' % "/".join(item.labels))
                elif isinstance(item, hcl_tree.Item) and item.name == "required_version":
                    value = _string_value(item.value)
                    if value is not None:
                        self.scan.required_versions.append((value, self.line(item.start)))
        elif block.type == "data" and block.labels[:1] == ["terraform_remote_state"]:
            backend = block.body.attribute("backend")
            if backend is not None and _string_value(backend.value) == "s3":
                self.scan.note(self.line(block.start), "remote_state_data",
                               'data "terraform_remote_state" "%s" reads another state; its config is not a backend'
                               % "/".join(block.labels[1:]))
        elif block.type == "resource" and block.labels[:1] == ["aws_dynamodb_table"]:
            self.scan.note(self.line(block.start), "lock_table_resource",
                           'resource "aws_dynamodb_table" "%s" is a table, not a backend setting'
                           % "/".join(block.labels[1:]))
        elif block.type == "remote_state":
            self.remote_state(block, block.body.items, "terragrunt")
        elif block.type == "generate":
            self.generate(block)

    def remote_state(self, node, items, form):
        by_name = {}
        for item in items:
            key = item.name if isinstance(item, hcl_tree.Item) else item.type
            by_name[key] = item
        backend = by_name.get("backend")
        backend_name = _string_value(backend.value) if isinstance(backend, hcl_tree.Item) else None
        if backend_name != "s3":
            self.scan.note(self.line(node.start), "other_backend",
                           "remote_state uses backend %r, not \"s3\"" % (backend_name,))
            return
        config = by_name.get("config")
        if isinstance(config, hcl_tree.Block):
            container, config_items = config.body, config.body.items
        elif isinstance(config, hcl_tree.Item) and config.value.kind == "object":
            container, config_items = config.value, config.value.items
        else:
            self.scan.note(self.line(node.start), "unreadable_config",
                           "remote_state config is not an object written in this file")
            return
        self.add(self.line(node.start), form, container, config_items)

    def generate(self, block):
        contents = block.body.attribute("contents")
        if contents is None or contents.value.kind != "heredoc":
            return
        body = contents.value.token.heredoc
        if not _BACKEND_S3.search(self.lines.text[body.start:body.end].encode("utf-8")):
            return
        try:
            inner = hcl.parse(self.lines.text, body.start, body.end, template=True, lines=self.lines)
        except hcl_tokens.TemplateDirective as exc:
            self.scan.note(self.line(exc.offset), "template",
                           "generate %r renders a template directive; its backend is left as is" % block.labels)
            return
        except hcl_tokens.HclSyntaxError as exc:
            self.scan.fail(self.line(exc.offset), "generate block %s: %s" % ("/".join(block.labels), exc.message))
            return
        self.scan.comments.extend(inner.comments)
        sub = _HclScanner(self.scan, inner, "tf", generated=True)
        for item in inner.body.blocks("terraform"):
            sub.block(item)

    def inspect(self, backend):
        """Notes about a backend: templates, unknown settings, expressions Terraform refuses."""
        text = self.lines.text
        for name, node in backend.nodes.items():
            source = text[node.start:node.end]
            value_source = source[source.find("=") + 1:] if "=" in source else source
            if _PLACEHOLDER.search(value_source):
                backend.templated = "%s at line %d holds a template placeholder" % (name, self.line(node.start))
                break
        if backend.form == "terragrunt" or backend.form == "terragrunt_tfvars":
            for name in TERRAGRUNT_LOCK_TABLE_OPTIONS:
                if name in backend.nodes:
                    self.scan.note(backend.setting_line(name), "lock_table_option",
                                   "Terragrunt option %s concerns the DynamoDB lock table; it is left as is" % name)
        else:
            for name in backend.nodes:
                if name not in S3_SETTINGS:
                    self.scan.note(backend.setting_line(name), "unknown_setting",
                                   "%s is not an S3 backend setting (Terraform rejects it)" % name)
        for line in backend.expression_keys:
            self.scan.note(line, "expression_setting",
                           "a setting name written as an expression; only literal names are read here")
        if backend.form in ("block", "partial"):
            for name in backend.unresolved:
                self.scan.note(backend.setting_line(name), "expression_setting",
                               "%s is an expression; Terraform accepts only literal values here" % name)
        for name, (local, line) in backend.local_refs.items():
            if name in DYNAMODB_SETTINGS or name in backend.table_settings:
                self.scan.note(line, "local_reference", "%s of the backend at line %d comes from local.%s"
                               % (name, backend.line, local))

    def comments(self):
        text = self.lines.text
        active = set(b.line for b in self.scan.backends)
        for comment in self.parsed.comments:
            if _COMMENTED_BACKEND.search(text, comment.start, comment.end):
                line = self.line(_COMMENTED_BACKEND.search(text, comment.start, comment.end).start())
                if line not in active:
                    self.scan.note(line, "commented_out", 'a commented-out S3 backend; left as is')


def _template_line(text, lines):
    m = _TEMPLATE_MARK.search(text)
    return lines.line_of(m.start()) if m else 1


def scan_text(path, text_file, kind):
    """Scan one decoded file. ``kind`` from :func:`file_kind` (``json`` for explicit JSON)."""
    scan = FileScan(path, text_file)
    text = text_file.text
    if kind in ("tf_json", "json"):
        _scan_json(scan, text)
        return scan
    lines = scan.lines = hcl_tokens.LineIndex(text)
    try:
        parsed = hcl.parse(text, hcl1=kind.startswith("tfvars"), lines=lines)
    except hcl_tokens.TemplateDirective as exc:
        scan.note(lines.line_of(exc.offset), "template", "a template, not configuration: %s" % exc.message)
        return scan
    except hcl_tokens.HclSyntaxError as exc:
        if kind == "template":
            scan.note(lines.line_of(exc.offset), "template", "a template file that is not valid HCL as it stands")
        else:
            scan.fail(lines.line_of(exc.offset), exc.message)
        return scan
    scan.comments = list(parsed.comments)
    _HclScanner(scan, parsed, kind).run()
    if kind == "template":
        line = _template_line(text, lines)
        for backend in scan.backends:
            backend.templated = backend.templated or "a template file (placeholder at line %d)" % line
    for backend in scan.backends:
        if backend.templated:
            scan.note(backend.line, "template", "templated backend: %s" % backend.templated)
    return scan


def _scan_json(scan, text):
    lines = scan.lines = hcl_tokens.LineIndex(text)
    try:
        root = hjson.parse(text)
    except hcl_tokens.HclSyntaxError as exc:
        scan.fail(lines.line_of(exc.offset), exc.message)
        return
    if root.kind != "object":
        return

    def objects(value):
        if value.kind == "object":
            return [value]
        if value.kind == "array":
            return [item for item in value.items if item.kind == "object"]
        return []

    def members(value, name):
        return [member for obj in objects(value) for member in obj.items if member.name == name]

    for terraform in members(root, "terraform"):
        for block in objects(terraform.value):
            for member in block.items:
                if member.name == "required_version" and member.value.kind == "string":
                    scan.required_versions.append((member.value.value, lines.line_of(member.start)))
        for backend_member in members(terraform.value, "backend"):
            for obj in objects(backend_member.value):
                for member in obj.items:
                    if member.name != "s3":
                        scan.note(lines.line_of(member.start), "other_backend",
                                  'the active backend is "%s", not "s3"' % member.name)
                        continue
                    for config in objects(member.value):
                        nodes = {m.name: m for m in config.items}
                        backend = Backend(scan.path, lines, lines.line_of(member.start), "json", "json", config,
                                          nodes, len(scan.backends))
                        scan.backends.append(backend)
                        for name in nodes:
                            if name not in S3_SETTINGS and name != "//":
                                scan.note(lines.line_of(nodes[name].start), "unknown_setting",
                                          "%s is not an S3 backend setting (Terraform rejects it)" % name)
    for data in members(root, "data"):
        for remote in members(data.value, "terraform_remote_state"):
            scan.note(lines.line_of(remote.start), "remote_state_data",
                      'data "terraform_remote_state" reads another state; its config is not a backend')
    for resource in members(root, "resource"):
        for table in members(resource.value, "aws_dynamodb_table"):
            scan.note(lines.line_of(table.start), "lock_table_resource",
                      'resource "aws_dynamodb_table" is a table, not a backend setting')


def scan_file(path, explicit=False, kind=None):
    """Read, prefilter and scan one file; None when the cheap scan rules it out."""
    kind = kind or file_kind(os.path.basename(path), explicit=explicit)
    if kind is None:
        return None
    text_file = TextFile.read(path)
    if not explicit and not is_candidate(kind, text_file.data):
        return None
    note_parse(path)
    return scan_text(path, text_file, kind)
