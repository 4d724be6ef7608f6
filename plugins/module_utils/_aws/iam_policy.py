# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The least-privilege IAM policy for a Terraform S3 backend with ``use_lockfile``. No Ansible imports.

State keys get Get/Put, their ``.tflock`` keys Get/Put/Delete, the bucket ListBucket (Terraform
lists workspaces), a KMS key Encrypt/Decrypt/GenerateDataKey. Nothing for DynamoDB, and no
DeleteObject on a state key unless deleting workspaces is allowed.

Workspaces are granted by name (exact keys), or all of them with a wildcard guarded by a Deny, because
IAM's ``*`` matches ``/`` and ``env:/*/network/...`` alone would also match another root's
``env:/prod/team-b/network/...``.
"""

import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.state_bucket import bucket_arn
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    DEFAULT_WORKSPACE_KEY_PREFIX,
    LEDGER_PREFIX,
    lock_key,
)


# Characters IAM reads as wildcards or policy variables in a Resource; a key holding one would widen the grant.
_IAM_SPECIAL = ("*", "?", "${")
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]


class PolicyError(ValueError):
    """The policy cannot be scoped as asked; the message says why and what to do."""


def _check_literal(what, value):
    for special in _IAM_SPECIAL:
        if special in value:
            raise PolicyError("%s %r holds %r, which IAM reads as a wildcard or variable: the policy would grant more "
                              "than this state" % (what, value, special))


def check_workspace_name(name):
    """Terraform's rule (``terraform workspace new``): URL-safe, no path separator."""
    if not name or "/" in name or name != name.strip() or any(c in name for c in "*?$%#&+ "):
        raise PolicyError("workspace name %r is not one Terraform allows (URL-safe characters, no path "
                          "separator)" % name)


def state_object_patterns(keys, workspaces=False, workspace_key_prefix=None, workspace_names=None):
    """Key patterns (IAM wildcards) of the state objects of ``keys``, workspaces included if asked.

    ``workspace_names`` gives exact keys (no wildcard); ``workspaces=True`` the pattern
    ``<prefix>/*/<key>``, whose ``*`` also matches ``/`` (see cross_root_patterns()).
    """
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    patterns = []
    for key in keys:
        patterns.append(key)
        if workspace_names:
            patterns.extend("%s/%s/%s" % (prefix, name, key) for name in workspace_names if name != "default")
        elif workspaces:
            patterns.append("%s/*/%s" % (prefix, key))
    return patterns


def cross_root_patterns(keys, workspace_key_prefix=None):
    """The keys ``<prefix>/*/<key>`` matches that are not a workspace of ``key``: ``<prefix>/*/*/<key>``.

    IAM's ``*`` matches ``/``, so ``env:/*/network/terraform.tfstate`` also matches another root's
    ``env:/prod/team-b/network/terraform.tfstate``. Terraform refuses workspace names with a ``/``, so
    a key shaped ``<prefix>/<a>/<b>/<key>`` is never a workspace state of ``key``: denying that shape
    keeps every workspace of ``key`` and nothing else.
    """
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    return ["%s/*/*/%s" % (prefix, key) for key in keys]


def _iam_match(pattern, value):
    """IAM's Resource matching: ``*`` any run of characters (``/`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.match("^%s$" % regex, value, re.DOTALL) is not None


def _deny_conflicts(keys, prefix, denied):
    """Keys of this policy that its own deny would cut off (a default state, or a workspace state seen
    through a sample workspace name), as ``[(denied pattern, key)]``."""
    sample = "\x00workspace"
    conflicts = []
    for key in keys:
        for candidate in (key, "%s/%s/%s" % (prefix, sample, key)):
            for pattern in denied:
                if _iam_match(pattern, candidate) or _iam_match(pattern, lock_key(candidate)):
                    conflicts.append((pattern, key))
    return conflicts


def backend_policy(bucket, keys, region="us-east-1", workspaces=False, workspace_key_prefix=None,
                   kms_key_arn=None, allow_workspace_delete=False, workspace_names=None):
    """The IAM policy document (a dict) that lets Terraform use these state keys with use_lockfile.

    Workspaces: ``workspace_names`` grants exactly those workspaces' keys. ``workspaces=True`` grants
    every workspace with ``<prefix>/*/<key>`` and adds a Deny of ``<prefix>/*/*/<key>`` (and its lock),
    so the wildcard cannot reach another root's workspace state (see cross_root_patterns()). The deny
    is refused (PolicyError) when it would cut off one of the policy's own keys.
    """
    if not keys:
        raise PolicyError("at least one state key is needed to scope the policy")
    if workspaces and workspace_names:
        raise PolicyError("give workspaces (every workspace) or workspace_names (those only), not both")
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    for key in keys:
        _check_literal("state key", key)
    _check_literal("workspace_key_prefix", prefix)
    for name in workspace_names or []:
        check_workspace_name(name)
    arn = bucket_arn(bucket, region)
    states = state_object_patterns(keys, workspaces, workspace_key_prefix, workspace_names)
    statements = [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
        {"Sid": "ReadWriteState", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": ["%s/%s" % (arn, key) for key in states]},
        {"Sid": "LockFiles", "Effect": "Allow", "Action": list(OBJECT_ACTIONS),
         "Resource": ["%s/%s" % (arn, lock_key(key)) for key in states]},
    ]
    workspace_states = [key for key in states if key not in keys]
    if workspace_states and allow_workspace_delete:
        statements.append({"Sid": "DeleteWorkspaceState", "Effect": "Allow", "Action": "s3:DeleteObject",
                           "Resource": ["%s/%s" % (arn, key) for key in workspace_states]})
    if workspaces:
        denied = cross_root_patterns(keys, workspace_key_prefix)
        denied = denied + [lock_key(pattern) for pattern in denied]
        conflicts = _deny_conflicts(keys, prefix, denied)
        if conflicts:
            raise PolicyError(
                "with workspaces=true the policy denies %s so that its wildcard cannot reach other roots' "
                "workspace states, but that would cut off state key %s of this same policy: list the workspaces "
                "with workspace_names instead" % (conflicts[0][0], conflicts[0][1]))
        statements.append({"Sid": "NoOtherRootsWorkspaces", "Effect": "Deny", "Action": list(OBJECT_ACTIONS),
                           "Resource": ["%s/%s" % (arn, key) for key in denied]})
    if kms_key_arn:
        statements.append({"Sid": "StateKmsKey", "Effect": "Allow",
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": kms_key_arn})
    return {"Version": "2012-10-17", "Statement": statements}


# ---------------------------------------------------------------------------
# The operator's own policy: what the collection's jobs (and the terraform they run) need.

RECORD_SUFFIX = ".tfstate-s3-backend.json"
OPERATOR_JOBS = ("bootstrap", "migrate", "rollback", "retire", "locks", "unlock")
# Per job: actions on the state buckets, on every object, on lock objects, on migration records,
# and on the DynamoDB lock tables. No job deletes or overwrites a state object: terraform only
# reads states during these jobs (init, plan), and the collection never writes one.
_JOB_ACTIONS = {
    # The bootstrap role: state_bucket reads every managed setting, creates the bucket and converges it (the
    # role's options decide which of the writes run); its verification runs terraform init and plan, which read
    # the (absent) state and take and release the plan's .tflock. No DynamoDB: bootstrap locks with use_lockfile.
    "bootstrap": {
        "bucket": ["s3:CreateBucket", "s3:ListBucket", "s3:GetBucketLocation",
                   "s3:GetBucketVersioning", "s3:PutBucketVersioning",
                   "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
                   "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
                   "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                   "s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration",
                   "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                   "s3:GetBucketLogging", "s3:PutBucketLogging",
                   "s3:GetBucketTagging", "s3:PutBucketTagging"],
        "objects": ["s3:GetObject"],
        "locks": ["s3:PutObject", "s3:DeleteObject"],
        "records": [],
        "tables": [],
    },
    "migrate": {
        # GetBucketLocation: the preflight stops a root whose backend names another region than its bucket's.
        "bucket": ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketLocation"],
        "objects": ["s3:GetObject"],
        "locks": ["s3:PutObject", "s3:DeleteObject"],
        "records": ["s3:PutObject"],
        "ledger": ["s3:PutObject"],
        "tables": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
    },
    # The migrate phases with target dynamodb: migrate's rights, plus DescribeTable (the table's key schema, its
    # creation when missing with create_table); the digests are PutItem/DeleteItem on the -md5 items.
    "rollback": {
        "bucket": ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketLocation"],
        "objects": ["s3:GetObject"],
        "locks": ["s3:PutObject", "s3:DeleteObject"],
        "records": ["s3:PutObject"],
        "ledger": ["s3:PutObject"],
        "tables": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem",
                   "dynamodb:DeleteItem"],
    },
    "retire": {
        "bucket": ["s3:ListBucket", "s3:ListBucketVersions"],
        "objects": ["s3:GetObject", "s3:GetObjectVersion"],
        "locks": [],
        "records": ["s3:PutObject"],
        "tables": ["dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:CreateBackup", "dynamodb:DescribeBackup",
                   "dynamodb:DeleteTable"],
    },
    "locks": {
        "bucket": ["s3:ListBucket"],
        "objects": [],
        "locks": ["s3:GetObject"],
        "records": [],
        "tables": ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:BatchGetItem"],
    },
    "unlock": {
        "bucket": ["s3:ListBucket"],
        "objects": [],
        "locks": ["s3:GetObject", "s3:DeleteObject"],
        "records": [],
        "tables": ["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem"],
    },
}


def table_arn(table, region="us-east-1", account="*"):
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return "arn:%s:dynamodb:%s:%s:table/%s" % (partition, region, account or "*", table)


def operator_actions(job, enable_versioning=False, create_table=False):
    """``{scope: [actions]}`` one job needs (scopes: bucket, objects, locks, records, ledger, tables)."""
    if job not in _JOB_ACTIONS:
        raise PolicyError("unknown job %r: one of %s" % (job, ", ".join(OPERATOR_JOBS)))
    actions = {scope: list(names) for scope, names in _JOB_ACTIONS[job].items()}
    actions.setdefault("ledger", [])
    if enable_versioning and job == "migrate":
        actions["bucket"].append("s3:PutBucketVersioning")
    if create_table and job == "rollback":
        actions["tables"].append("dynamodb:CreateTable")
    return actions


def operator_policy(job, buckets, lock_tables=(), region="us-east-1", account="*", enable_versioning=False,
                    create_table=False, kms_key_arns=()):
    """The IAM policy document (a dict) an operator credential needs to run ``job`` on these buckets and tables.

    ``job``: bootstrap, migrate, rollback, retire, locks (report) or unlock. The policy covers the collection's
    AWS calls and those of the terraform it runs in the roots (init, plan, the lock proofs); it never
    allows deleting or writing a state object. ``enable_versioning`` adds ``s3:PutBucketVersioning``
    (``migrate_enable_versioning``); ``create_table`` adds ``dynamodb:CreateTable`` (a rollback to a
    table that was deleted); ``kms_key_arns`` the KMS keys of encrypted states.
    """
    if not buckets:
        raise PolicyError("at least one state bucket is needed to scope the policy")
    for name in list(buckets) + list(lock_tables or ()):
        _check_literal("bucket or table name", name)
    actions = operator_actions(job, enable_versioning, create_table)
    arns = [bucket_arn(bucket, region) for bucket in buckets]
    statements = [{"Sid": "StateBuckets", "Effect": "Allow", "Action": actions["bucket"], "Resource": arns}]
    if actions["objects"]:
        statements.append({"Sid": "ReadObjects", "Effect": "Allow", "Action": actions["objects"],
                           "Resource": ["%s/*" % arn for arn in arns]})
    if actions["locks"]:
        statements.append({"Sid": "LockObjects", "Effect": "Allow", "Action": actions["locks"],
                           "Resource": ["%s/*.tflock" % arn for arn in arns]})
    if actions["records"]:
        statements.append({"Sid": "MigrationRecords", "Effect": "Allow", "Action": actions["records"],
                           "Resource": ["%s/*%s" % (arn, RECORD_SUFFIX) for arn in arns]})
    if actions["ledger"]:
        # The fleet's ledger (one object per root and stage, _fleet/ledger.py); its reads are ReadObjects'.
        statements.append({"Sid": "Ledger", "Effect": "Allow", "Action": actions["ledger"],
                           "Resource": ["%s/%s*.json" % (arn, LEDGER_PREFIX) for arn in arns]})
    if lock_tables and actions["tables"]:
        statements.append({"Sid": "LockTables", "Effect": "Allow", "Action": actions["tables"],
                           "Resource": [table_arn(table, region, account) for table in lock_tables]})
    if kms_key_arns:
        statements.append({"Sid": "StateKmsKeys", "Effect": "Allow",
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": list(kms_key_arns)})
    return {"Version": "2012-10-17", "Statement": statements}
