# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 backend's settings and what they mean for locking: the arguments Terraform and OpenTofu
accept, the settings that name the lock table, and a backend's lock mode (``settings_lock_mode``).
Pure Python, no Ansible imports."""

import os
import re


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


# Set to a file path, each backend file read from disk and parsed (scan_file, scan_paths, rewrite) is
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
