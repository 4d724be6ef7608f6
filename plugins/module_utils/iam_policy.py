# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The least-privilege IAM policy for a Terraform S3 backend with ``use_lockfile``. No Ansible imports.

State keys get Get/Put, their ``.tflock`` keys Get/Put/Delete, the bucket ListBucket (Terraform
lists workspaces), a KMS key Encrypt/Decrypt/GenerateDataKey. Nothing for DynamoDB, and no
DeleteObject on a state key unless deleting workspaces is allowed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_bucket import bucket_arn
from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_keys import (
    DEFAULT_WORKSPACE_KEY_PREFIX,
    lock_key,
)


def state_object_patterns(keys, workspaces=False, workspace_key_prefix=None):
    """Key patterns (IAM wildcards) of the state objects of ``keys``, workspaces included if asked."""
    prefix = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
    patterns = []
    for key in keys:
        patterns.append(key)
        if workspaces:
            patterns.append("%s/*/%s" % (prefix, key))
    return patterns


def backend_policy(bucket, keys, region="us-east-1", workspaces=False, workspace_key_prefix=None,
                   kms_key_arn=None, allow_workspace_delete=False):
    """The IAM policy document (a dict) that lets Terraform use these state keys with use_lockfile."""
    if not keys:
        raise ValueError("at least one state key is needed to scope the policy")
    arn = bucket_arn(bucket, region)
    states = state_object_patterns(keys, workspaces, workspace_key_prefix)
    statements = [
        {"Sid": "ListStateBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn},
        {"Sid": "ReadWriteState", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": ["%s/%s" % (arn, key) for key in states]},
        {"Sid": "LockFiles", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": ["%s/%s" % (arn, lock_key(key)) for key in states]},
    ]
    if workspaces and allow_workspace_delete:
        workspace_states = [key for key in states if key not in keys]
        statements.append({"Sid": "DeleteWorkspaceState", "Effect": "Allow", "Action": "s3:DeleteObject",
                           "Resource": ["%s/%s" % (arn, key) for key in workspace_states]})
    if kms_key_arn:
        statements.append({"Sid": "StateKmsKey", "Effect": "Allow",
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                           "Resource": kms_key_arn})
    return {"Version": "2012-10-17", "Statement": statements}
