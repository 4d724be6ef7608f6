# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration record: a small JSON object next to a root's state, never the state itself.

``s3://<bucket>/<state key>.tfstate-s3-backend.json`` says which lock mode the migration left,
which DynamoDB table it replaced and when the cut-over happened (docs/fleet-roles.md).
No Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import call
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url

RECORD_SUFFIX = ".tfstate-s3-backend.json"
RECORD_FIELDS = ("mode", "dynamodb_table", "cutover_time", "root", "collection_version")


def record_key(state_object_key):
    return state_object_key + RECORD_SUFFIX


def read_record(s3, bucket, state_object_key):
    """The record dict, or None when there is none."""
    key = record_key(state_object_key)
    answer = call(s3, "get_object", resource="%s/%s" % (bucket, key), ignore_codes=("NoSuchKey", "404"),
                  Bucket=bucket, Key=key)
    if answer is None:
        return None
    try:
        data = json.loads(answer["Body"].read().decode("utf-8"))
    except ValueError:
        return None
    return dict((field, data.get(field)) for field in RECORD_FIELDS) if isinstance(data, dict) else None


def wanted_record(current, mode, dynamodb_table, cutover_time, root, version):
    """The record to write: the cut-over time and table of an unchanged mode are kept.

    ``root`` is written without credentials (see redact.redact_url): every state reader can read the record.
    """
    if current and current.get("mode") == mode:
        cutover_time = current.get("cutover_time") or cutover_time
        dynamodb_table = dynamodb_table or current.get("dynamodb_table")
    return {"mode": mode, "dynamodb_table": dynamodb_table, "cutover_time": cutover_time, "root": redact_url(root),
            "collection_version": version}


def write_record(s3, bucket, state_object_key, record, encrypt=False, kms_key_id=None):
    key = record_key(state_object_key)
    extra = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    elif encrypt:
        extra = {"ServerSideEncryption": "AES256"}
    call(s3, "put_object", resource="%s/%s" % (bucket, key), Bucket=bucket, Key=key,
         Body=json.dumps(record, sort_keys=True, indent=2).encode("utf-8"), ContentType="application/json", **extra)
