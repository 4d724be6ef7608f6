# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration record: a small JSON object next to a root's state, never the state itself.

``s3://<bucket>/<state key>.tfstate-s3-backend.json`` says which lock mode the migration left,
which DynamoDB table it replaced and when the cut-over happened (docs/fleet-roles.md).
No Ansible imports.
"""

import json

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url

RECORD_SUFFIX = ".tfstate-s3-backend.json"
RECORD_FIELDS = ("mode", "dynamodb_table", "cutover_time", "root", "collection_version")
# Who wrote the record, for the fleet view (a report built from every root's record).
PROVENANCE_FIELDS = ("host", "bucket", "key", "workspaces", "run_id", "job_id", "recorded_time")


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
    if not isinstance(data, dict):
        return None
    record = {field: data.get(field) for field in RECORD_FIELDS}
    record.update((field, data[field]) for field in PROVENANCE_FIELDS if data.get(field) is not None)
    if isinstance(data.get("pending"), dict):
        record["pending"] = data["pending"]
    return record


def pending_record(current, mode, dynamodb_table, root, version, provenance, pending):
    """The record written when a cut-over starts: the current mode, plus ``pending`` (target, run, time).

    A later run that finds ``pending`` knows a cut-over did not finish, and which table its
    maintenance lock may still hold, even when the files no longer name that table. The record
    written at the end of the cut-over (wanted_record) has no ``pending``.
    """
    record = wanted_record(current, (current or {}).get("mode") or mode, dynamodb_table,
                           (current or {}).get("cutover_time"), root, version, provenance)
    record["dynamodb_table"] = record.get("dynamodb_table") or dynamodb_table
    record["pending"] = pending
    return record


def wanted_record(current, mode, dynamodb_table, cutover_time, root, version, provenance=None):
    """The record to write: the cut-over time and table of an unchanged mode are kept.

    ``provenance`` (PROVENANCE_FIELDS: which host, run and job wrote it) replaces the current
    one when given, and is kept from the current record otherwise. ``root`` is written without
    credentials (see redact.redact_url): every state reader can read the record.
    """
    if current and current.get("mode") == mode:
        cutover_time = current.get("cutover_time") or cutover_time
        dynamodb_table = dynamodb_table or current.get("dynamodb_table")
    record = {"mode": mode, "dynamodb_table": dynamodb_table, "cutover_time": cutover_time, "root": redact_url(root),
              "collection_version": version}
    source = provenance if provenance is not None else (current or {})
    record.update((field, source[field]) for field in PROVENANCE_FIELDS if source.get(field) is not None)
    return record


def write_record(s3, bucket, state_object_key, record, encrypt=False, kms_key_id=None):
    key = record_key(state_object_key)
    extra = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    elif encrypt:
        extra = {"ServerSideEncryption": "AES256"}
    call(s3, "put_object", resource="%s/%s" % (bucket, key), Bucket=bucket, Key=key,
         Body=json.dumps(record, sort_keys=True, indent=2).encode("utf-8"), ContentType="application/json", **extra)


def list_records(s3, bucket):
    """``{state object key: record}`` of every migration record in ``bucket``: one listing, a GET per record."""
    records = {}
    for page in paginate(s3, "list_objects_v2", resource=bucket, Bucket=bucket):
        for summary in page.get("Contents") or []:
            if summary["Key"].endswith(RECORD_SUFFIX):
                state_object_key = summary["Key"][:-len(RECORD_SUFFIX)]
                record = read_record(s3, bucket, state_object_key)
                if record is not None:
                    records[state_object_key] = record
    return records
