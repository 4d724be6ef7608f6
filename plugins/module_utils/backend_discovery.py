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
that does not lock, and the rewrite leaves it so in every mode.
"""

import codecs
import errno
import fnmatch
import os
import re
import stat

from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_hcl_syntax as hcl
from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_json_syntax as hjson
from ansible_collections.tfstate.s3_backend.plugins.module_utils.backend_versions import (
    VersionConstraintError,
    lockfile_support,
)

LOCK_MODES = ("dynamodb", "dual", "lockfile", "none")

# Directories never descended into: tool caches, VCS metadata and vendored code.
SKIP_DIRS = frozenset([
    ".git", ".hg", ".svn", ".terraform", ".terragrunt-cache", ".external_modules", "node_modules",
    "vendor", ".venv", "venv", "__pycache__", ".tox",
])

# Arguments of Terraform's (1.11) and OpenTofu's S3 backend.
S3_SETTINGS = frozenset("""
    bucket key region dynamodb_table use_lockfile encrypt kms_key_id acl workspace_key_prefix
    profile shared_config_files shared_credentials_files shared_credentials_file access_key secret_key
    token assume_role assume_role_with_web_identity role_arn session_name external_id
    assume_role_duration_seconds assume_role_policy assume_role_policy_arns assume_role_tags
    assume_role_transitive_tag_keys endpoint endpoints dynamodb_endpoint iam_endpoint sts_endpoint
    force_path_style use_path_style skip_credentials_validation skip_region_validation
    skip_requesting_account_id skip_metadata_api_check skip_s3_checksum sse_customer_key max_retries
    retry_mode http_proxy https_proxy no_proxy insecure custom_ca_bundle ec2_metadata_service_endpoint
    ec2_metadata_service_endpoint_mode use_dualstack_endpoint use_fips_endpoint allowed_account_ids
    forbidden_account_ids use_legacy_workflow
""".split())

# Terragrunt remote_state config keys that only concern the DynamoDB lock table.
TERRAGRUNT_LOCK_TABLE_OPTIONS = ("dynamodb_table_tags", "enable_lock_table_ssencryption")

# The forms whose settings Terragrunt reads (its remote_state config), not terraform.
TERRAGRUNT_CONFIG_FORMS = ("terragrunt", "terragrunt_tfvars")
# The settings that name the DynamoDB lock table, the first non-empty one wins: Terragrunt's remote_state also
# reads its older name lock_table (dynamodb_table wins when both are set).
TABLE_SETTINGS = ("dynamodb_table",)
TERRAGRUNT_TABLE_SETTINGS = ("dynamodb_table", "lock_table")

# What makes a backend lock with DynamoDB, and the deprecated DynamoDB endpoint settings.
DYNAMODB_SETTINGS = ("dynamodb_table", "dynamodb_endpoint")
# Every setting a lock-mode change may edit (an empty dynamodb_table, endpoints.dynamodb aside).
LOCK_SETTINGS = ("dynamodb_table", "lock_table", "use_lockfile", "dynamodb_endpoint")

TEMPLATE_SUFFIXES = (".tpl", ".tmpl", ".tftpl", ".j2", ".jinja", ".jinja2", ".gotmpl", ".mustache")
PARTIAL_SUFFIXES = (".tfbackend", ".tfbackend.example", ".conf", ".backend")
# The kinds of file (file_kind) that can hold a partial configuration.
PARTIAL_KINDS = ("partial", "hcl", "tfvars_backend", "tfvars_partial")
# OpenTofu reads x.tofu instead of x.tf, and x.tofu.json instead of x.tf.json; Terraform never reads them.
TOFU_OVERRIDES = ((".tofu.json", ".tf.json"), (".tofu", ".tf"))

# Cheap byte-level prefilters: a file is parsed only when one of these matches.
# (single and typographic quotes too: terraform rejects them, so such a file is parsed to be reported)
_QUOTE = rb"""(?:["']|\xe2\x80[\x98-\x9f]|\xc2[\xab\xbb])"""
_BACKEND_S3 = re.compile(rb'backend\s*(?:=\s*)?' + _QUOTE + rb's3' + _QUOTE + rb'|backend\s+s3\s*\{|"backend"\s*:')
_REMOTE_STATE = re.compile(rb"remote_state")
_PARTIAL_LINE = re.compile(
    rb"(?m)^[ \t]*(?:bucket|key|region|dynamodb_table|use_lockfile|workspace_key_prefix|dynamodb_endpoint)[ \t]*=")
_REQUIRED_VERSION = b"required_version"
_TEMPLATE_MARK = re.compile(r"\{\{|%\{")
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_COMMENTED_BACKEND = re.compile(r'backend\s*(?:=\s*)?"s3"')
_LOCAL_REF = re.compile(r"^local\.([^\W\d][\w-]*)$", re.UNICODE)
# A string template that only wraps one local, as Terragrunt configurations often write it: "${local.x}".
_TEMPLATE_LOCAL_REF = re.compile(r'^"\$\{~?[ \t]*local\.([^\W\d][\w-]*)[ \t]*~?\}"$', re.UNICODE)


# The largest file read. Terraform and Terragrunt files are kilobytes; anything bigger is skipped and
# reported, so a hostile or broken file (a link to /dev/zero, a huge generated file) cannot exhaust memory.
MAX_FILE_BYTES = 8 * 1024 * 1024

_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(OSError):
    """A file that is skipped: not a regular file, a dangling or looping link, too big, or unreadable.

    An OSError, so callers that stop on unreadable files (backend_hcl's rewrite) name it as before.
    """

    def __init__(self, path, reason):
        super().__init__("%s: %s" % (path, reason))
        self.path = path
        self.reason = reason

    def as_dict(self):
        return {"file": self.path, "reason": self.reason}


def _not_regular(mode):
    for test, name in _FILE_TYPES:
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path, limit=None):
    """The bytes of ``path`` when it is (or links to) a regular file of at most ``limit`` bytes.

    Raises UnreadableFile, naming the path and why, for dangling or looping symbolic links, FIFOs,
    devices, sockets and directories (none is ever opened for reading, so nothing can hang), for
    files larger than ``limit`` (MAX_FILE_BYTES by default; never read past it) and for read errors.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile(path, "symbolic link loop")
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise UnreadableFile(path, "dangling symbolic link (to %s)" % os.readlink(path))
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(path, "%s, not a regular file" % _not_regular(info.st_mode))
    if info.st_size > limit:
        raise UnreadableFile(path, "%d bytes, more than the %d bytes read from one file" % (info.st_size, limit))
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it does not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnreadableFile(path, "%s, not a regular file" % _not_regular(os.fstat(fd).st_mode))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableFile(path, "cannot be read: %s" % (exc.strerror or exc))
    finally:
        os.close(fd)
    if size > limit:
        raise UnreadableFile(path, "more than the %d bytes read from one file (it grew while read)" % limit)
    return b"".join(chunks)


class TextFile:
    """A file's text and what is needed to write it back byte for byte."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.bom = data.startswith(codecs.BOM_UTF8)
        raw = data[3:] if self.bom else data
        try:
            self.text = raw.decode("utf-8")
            self.encoding = "utf-8"
        except UnicodeDecodeError:
            # Terraform wants UTF-8, but a Latin-1 comment must not stop an edit elsewhere;
            # Latin-1 maps every byte, so the untouched parts round-trip exactly.
            self.text = raw.decode("latin-1")
            self.encoding = "latin-1"

    def encode(self, text):
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data

    @classmethod
    def read(cls, path):
        """Read a regular file, bounded (see read_regular(); raises UnreadableFile)."""
        return cls(path, read_regular(path))


def file_kind(name, explicit=False):
    """How a file name is read: tf, tf_json, hcl, tfvars, tfvars_backend, tfvars_partial, partial, template, json;
    None when ignored.

    OpenTofu's ``*.tofu``/``*.tofu.json`` are read as ``*.tf``/``*.tf.json``. A ``*.tfvars`` file is a variables
    file, where only Terragrunt's old ``terragrunt = { remote_state }`` form is looked for (``tfvars``), unless it
    is named (``tfvars_partial``: also read as a partial configuration, as ``-backend-config=FILE`` reads it) or its
    name holds ``backend`` (``tfvars_backend``: also a partial configuration when it sets S3 backend arguments only).
    """
    lower = name.lower()
    if lower.endswith((".tf.json", ".tofu.json")):
        return "tf_json"
    if lower.endswith((".tf", ".tofu")):
        return "tf"
    if lower.endswith(".tfvars"):
        if explicit:
            return "tfvars_partial"
        return "tfvars_backend" if "backend" in lower[:-len(".tfvars")] else "tfvars"
    if lower.endswith(PARTIAL_SUFFIXES):
        return "partial"
    if lower.endswith(".hcl"):
        if lower.endswith((".lock.hcl", ".tftest.hcl")):
            return None
        return "hcl"
    if lower.endswith(TEMPLATE_SUFFIXES):
        return "template" if explicit else None
    if explicit:
        return "json" if lower.endswith(".json") else "partial"
    return None


def is_candidate(kind, data):
    """The cheap text scan: can this file hold S3 backend settings at all?"""
    if kind == "tf":
        return _BACKEND_S3.search(data) is not None
    if kind == "tf_json":
        return b'"backend"' in data or b'"s3"' in data
    if kind == "tfvars":
        return b"terragrunt" in data and _REMOTE_STATE.search(data) is not None
    if kind == "tfvars_backend":
        return _PARTIAL_LINE.search(data) is not None or (
            b"terragrunt" in data and _REMOTE_STATE.search(data) is not None)
    if kind == "hcl":
        return (_REMOTE_STATE.search(data) is not None or _BACKEND_S3.search(data) is not None
                or _PARTIAL_LINE.search(data) is not None)
    if kind == "partial":
        return _PARTIAL_LINE.search(data) is not None
    return True


def opentofu_view(backends):
    """The backends without those of ``x.tf``/``x.tf.json`` files whose ``x.tofu``/``x.tofu.json`` holds a backend too:
    OpenTofu reads only the ``.tofu`` one and Terraform never reads ``.tofu`` files, so the root is OpenTofu's."""
    paths = set(backend.path for backend in backends)
    return [backend for backend in backends if tofu_override(backend.path) not in paths]


def tofu_override(path, exists=os.path.isfile):
    """The OpenTofu file that replaces ``path`` for OpenTofu (``x.tofu`` for ``x.tf``, ``x.tofu.json`` for
    ``x.tf.json``) when it exists beside it (``exists(path)``); None otherwise."""
    for tofu, terraform in TOFU_OVERRIDES:
        if path.endswith(terraform):
            other = path[:-len(terraform)] + tofu
            return other if exists(other) else None
    return None


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
        if isinstance(node, hcl.Block):
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


def truthy(value):
    """Whether a setting's value turns a boolean setting on: ``true``, or the string ``"true"`` in any case."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def table_of(settings, form=None):
    """The DynamoDB table a dict of backend settings locks with, or None: ``dynamodb_table`` (and, for a Terragrunt
    remote_state config, its older ``lock_table``), an empty string or null not counting."""
    names = TERRAGRUNT_TABLE_SETTINGS if form in TERRAGRUNT_CONFIG_FORMS else TABLE_SETTINGS
    for name in names:
        value = settings.get(name)
        if value not in ("", None):
            return value
    return None


def lockfile_of(settings, unresolved=()):
    """Whether ``use_lockfile`` is on: true (or "true"), or an expression (it may be; Terragrunt computes it)."""
    return "use_lockfile" in unresolved or truthy(settings.get("use_lockfile"))


def settings_lock_mode(settings, unresolved=(), form=None):
    """The lock mode of a backend's settings: the one function backend_info, backend_hcl, the roots and the inventory
    ask. ``none`` when no table is named and ``use_lockfile`` is not on (absent, false, or an empty table: a
    backend that does not lock; a DynamoDB endpoint alone does not lock either). ``unresolved`` names the settings
    given as source text; ``form`` the backend's form (a Terragrunt remote_state reads ``lock_table`` too)."""
    return lock_mode(table_of(settings, form) is not None, lockfile_of(settings, unresolved))


def lock_mode(has_table, lockfile_on):
    if has_table and lockfile_on:
        return "dual"
    if has_table:
        return "dynamodb"
    if lockfile_on:
        return "lockfile"
    return "none"


def why_unlocked(settings):
    """Why a backend in lock mode none does not lock, in words (for the reasons that leave it alone)."""
    reasons = []
    for name in TERRAGRUNT_TABLE_SETTINGS:
        if name in settings and settings[name] in ("", None):
            reasons.append("%s is empty" % name)
    if "use_lockfile" in settings:
        reasons.append("use_lockfile = %s" % _value_text(settings["use_lockfile"]))
    endpoints = settings.get("endpoints")
    if settings.get("dynamodb_endpoint") or isinstance(endpoints, dict) and "dynamodb" in endpoints:
        reasons.append("a DynamoDB endpoint without a table")
    return ", ".join(reasons) or "no dynamodb_table and no use_lockfile"


def _value_text(value):
    """A setting's value as it reads in a message: true/false/null, quoted strings."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return '"%s"' % value if isinstance(value, str) else str(value)


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
            if isinstance(item, hcl.Item):
                name = item.name
                if name is None:
                    expression_keys.append(self.line(item.start))
            else:
                name = item.type if isinstance(item, hcl.Block) and not item.labels else None
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
            if isinstance(item, hcl.Block):
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
        names = [item.name for item in items if isinstance(item, hcl.Item)]
        if len(names) != len(items):
            return False
        if self.kind in ("partial", "tfvars_partial"):
            return True
        return all(name in S3_SETTINGS for name in names) and any(
            name in ("bucket", "key", "dynamodb_table", "use_lockfile") for name in names)

    def block(self, block):
        if block.type == "terraform":
            for item in block.body.items:
                if isinstance(item, hcl.Block) and item.type == "backend":
                    if item.labels == ["s3"]:
                        form = "terragrunt_generate" if self.generated else "block"
                        self.add(self.line(item.start), form, item.body, item.body.items)
                    else:
                        self.scan.note(self.line(item.start), "other_backend",
                                       'the active backend is "%s", not "s3"' % "/".join(item.labels))
                elif isinstance(item, hcl.Item) and item.name == "required_version":
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
            key = item.name if isinstance(item, hcl.Item) else item.type
            by_name[key] = item
        backend = by_name.get("backend")
        backend_name = _string_value(backend.value) if isinstance(backend, hcl.Item) else None
        if backend_name != "s3":
            self.scan.note(self.line(node.start), "other_backend",
                           "remote_state uses backend %r, not \"s3\"" % (backend_name,))
            return
        config = by_name.get("config")
        if isinstance(config, hcl.Block):
            container, config_items = config.body, config.body.items
        elif isinstance(config, hcl.Item) and config.value.kind == "object":
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
        except hcl.TemplateDirective as exc:
            self.scan.note(self.line(exc.offset), "template",
                           "generate %r renders a template directive; its backend is left as is" % block.labels)
            return
        except hcl.HclSyntaxError as exc:
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
    lines = scan.lines = hcl.LineIndex(text)
    try:
        parsed = hcl.parse(text, hcl1=kind.startswith("tfvars"), lines=lines)
    except hcl.TemplateDirective as exc:
        scan.note(lines.line_of(exc.offset), "template", "a template, not configuration: %s" % exc.message)
        return scan
    except hcl.HclSyntaxError as exc:
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
    lines = scan.lines = hcl.LineIndex(text)
    try:
        root = hjson.parse(text)
    except hcl.HclSyntaxError as exc:
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


# Set to a file path, each backend file read from disk and parsed (scan_file, scan_paths, backend_rewrite) is
# appended to it, one path a line: a test counts a run's parses with it.
PARSE_LOG_VARIABLE = "TFSTATE_PARSE_LOG"


def note_parse(path):
    """Append ``path`` to the parse log when TFSTATE_PARSE_LOG names one (a no-op otherwise)."""
    log = os.environ.get(PARSE_LOG_VARIABLE)
    if not log:
        return
    handle = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(handle, (os.path.abspath(path) + "\n").encode("utf-8", "surrogateescape"))
    finally:
        os.close(handle)


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
