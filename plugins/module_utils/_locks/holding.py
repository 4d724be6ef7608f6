# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking and releasing one state's lock the way Terraform does, deleting only a lock that did not
change hands (conditional deletes), and the probe that a bucket refuses a second conditional write.
No Ansible imports."""

import time

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, call
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import CONTENT_TYPE, dump_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    lock_table_key,
    lock_key,
    state_path,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import (
    dynamodb_item_record,
    read_dynamodb_lock,
    read_s3_lock,
    s3_read_record,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import (
    STORE_DYNAMODB,
    STORE_S3,
    item_resource,
    lock_record,
    normalise_etag,
    s3_resource,
)

_sleep = time.sleep  # replaced in unit tests


# ---------------------------------------------------------------------------
# Taking and releasing one state's lock, the way Terraform does, but never deleting a lock
# that changed hands: deletes are conditional on what was read.

# AWS answers 409 ConditionalRequestConflict when conditional writes on one key race; retry them.
CONFLICT_CODE = "ConditionalRequestConflict"
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_SECONDS = 0.2

KEPT_OTHER_ID = "held under another lock ID"
KEPT_NOT_STALE = "not older than stale_after"
KEPT_NO_AGE = "age unknown (no readable Created), so not provably stale"
KEPT_CORRUPT = "corrupt lock body: released only with force and, in S3, its etag"
KEPT_NO_CRITERION = "a readable lock is released only by lock_id or stale_after"
KEPT_CHANGED = "changed between read and delete: the conditional delete refused it"


def retry_conflicts(action):
    """Run ``action()``; retry a bounded number of times, with backoff, on 409 ConditionalRequestConflict."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return action()
        except AwsError as exc:
            if exc.code != CONFLICT_CODE or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            _sleep(CONFLICT_BACKOFF_SECONDS * (2 ** attempt))
    return None  # not reached: the last attempt returns or raises


class LockTarget:
    """One state's lock places: the ``.tflock`` object, and the DynamoDB item when a table is given."""

    def __init__(self, bucket, state_object_key, dynamodb_table=None, encrypt=False, kms_key_id=None,
                 workspace=None):
        self.bucket = bucket
        self.state_key = state_object_key
        self.table = dynamodb_table or None
        self.encrypt = encrypt
        self.kms_key_id = kms_key_id or None
        self.workspace = workspace

    @property
    def lock_key(self):
        return lock_key(self.state_key)

    @property
    def table_key(self):
        return lock_table_key(self.bucket, self.state_key)

    @property
    def path(self):
        return state_path(self.bucket, self.state_key)

    @property
    def s3_resource(self):
        return s3_resource(self.bucket, self.lock_key)

    @property
    def item_resource(self):
        return item_resource(self.table, self.table_key)

    def encryption_args(self):
        """PutObject encryption arguments as Terraform derives them from the backend settings."""
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        if self.encrypt:
            return {"ServerSideEncryption": "AES256"}
        return {}


def read_target_locks(s3, dynamodb, target, stale_after=None, now=None):
    """The target's current lock records: ``{"s3": record or None, "dynamodb": record or None}``."""
    found = {STORE_S3: None, STORE_DYNAMODB: None}
    read = read_s3_lock(s3, target.bucket, target.lock_key)
    if read is not None:
        found[STORE_S3] = s3_read_record(target.bucket, target.state_key, read, target.workspace, stale_after, now)
    if target.table:
        item = read_dynamodb_lock(dynamodb, target.table, target.table_key)
        if item is not None:
            record = dynamodb_item_record(target.table, item, workspace=target.workspace,
                                          stale_after=stale_after, now=now)
            record["_info"] = item.get("Info")  # the exact value the conditional delete compares
            found[STORE_DYNAMODB] = record
    return found


def put_s3_lock(client, target, body):
    """Terraform's acquire: PutObject with If-None-Match: *. Returns the new ETag, None when held."""
    def put():
        return call(client, "put_object", resource=target.s3_resource, ignore_codes=("PreconditionFailed",),
                    Bucket=target.bucket, Key=target.lock_key, Body=body.encode("utf-8"), IfNoneMatch="*",
                    ContentType=CONTENT_TYPE, ChecksumAlgorithm="SHA256", **target.encryption_args())
    answer = retry_conflicts(put)
    return None if answer is None else answer.get("ETag")


def put_dynamodb_lock(client, target, body):
    """Terraform's DynamoDB acquire: PutItem if no item has the LockID. False when held."""
    answer = call(client, "put_item", resource=target.item_resource,
                  ignore_codes=("ConditionalCheckFailedException",), TableName=target.table,
                  Item={"LockID": {"S": target.table_key}, "Info": {"S": body}},
                  ConditionExpression="attribute_not_exists(LockID)")
    return answer is not None


def delete_s3_lock(client, target, etag):
    """DeleteObject only if the object still has ``etag``. False when it changed or is gone."""
    def delete():
        return call(client, "delete_object", resource=target.s3_resource,
                    ignore_codes=("PreconditionFailed", "NoSuchKey"),
                    Bucket=target.bucket, Key=target.lock_key, IfMatch=etag)
    return retry_conflicts(delete) is not None


def delete_dynamodb_lock(client, target, info):
    """DeleteItem only if ``Info`` is still exactly what was read. False when it changed or is gone."""
    if info is None:
        condition = {"ConditionExpression": "attribute_exists(LockID) AND attribute_not_exists(Info)"}
    else:
        condition = {"ConditionExpression": "Info = :info", "ExpressionAttributeValues": {":info": {"S": info}}}
    answer = call(client, "delete_item", resource=target.item_resource,
                  ignore_codes=("ConditionalCheckFailedException",), TableName=target.table,
                  Key={"LockID": {"S": target.table_key}}, **condition)
    return answer is not None


def prove_delete_item(client, target):
    """A DeleteItem of the lock item whose condition can never hold: it deletes nothing, but IAM checks
    ``dynamodb:DeleteItem`` first (AwsError AccessDenied without it)."""
    call(client, "delete_item", resource=target.item_resource, ignore_codes=("ConditionalCheckFailedException",),
         TableName=target.table, Key={"LockID": {"S": target.table_key}},
         ConditionExpression="attribute_exists(LockID) AND attribute_not_exists(LockID)")


def public(record):
    """A record without its internal fields (kept for the conditional delete)."""
    return None if record is None else {k: v for k, v in record.items() if not k.startswith("_")}


def take_s3_lock(s3, target, body, now=None):
    """PutObject If-None-Match: *. Returns ``(None, new ETag)`` when taken, ``(holder record, None)`` when held.

    A lock released between our refused PUT and our GET is simply tried again (bounded).
    """
    for dummy in range(CONFLICT_ATTEMPTS):
        etag = put_s3_lock(s3, target, body)
        if etag is not None:
            return None, etag
        read = read_s3_lock(s3, target.bucket, target.lock_key)
        if read is not None:
            return s3_read_record(target.bucket, target.state_key, read, target.workspace, now=now), None
    raise AwsError("the lock kept appearing and disappearing", operation="PutObject",
                   resource=target.s3_resource, code="LockContention")


def take_dynamodb_lock(dynamodb, target, body, now=None):
    """Conditional PutItem. Returns None when taken, the holder's record when held."""
    for dummy in range(CONFLICT_ATTEMPTS):
        if put_dynamodb_lock(dynamodb, target, body):
            return None
        item = read_dynamodb_lock(dynamodb, target.table, target.table_key)
        if item is not None:
            return dynamodb_item_record(target.table, item, workspace=target.workspace, now=now)
    raise AwsError("the lock item kept appearing and disappearing", operation="PutItem",
                   resource=target.item_resource, code="LockContention")


def acquire(s3, dynamodb, target, lock, check_mode=False, now=None):
    """Take ``target``'s lock as Terraform does: the ``.tflock`` object first, then the DynamoDB item.

    ``lock`` is a lock dict (see lock_info.new_lock). A lock already held under ``lock["ID"]``
    counts as ours (no change), so a rerun with the same ID is idempotent. If the DynamoDB item
    is held by someone else, the ``.tflock`` we just wrote is released again, as Terraform does.

    Returns ``{"changed", "acquired", "lock": record, "held_by": [records]}``.
    """
    body = dump_lock(lock)

    def ours(record):
        return record["id"] == lock["ID"]

    result = {"changed": False, "acquired": False, "lock": None, "held_by": []}
    new_record = lock_record(STORE_S3, target.bucket, target.state_key, body, workspace=target.workspace, now=now)
    if check_mode:
        current = read_target_locks(s3, dynamodb, target, now=now)
        wanted = [current[STORE_S3]] + ([current[STORE_DYNAMODB]] if target.table else [])
        result["held_by"] = [public(record) for record in wanted if record is not None and not ours(record)]
        if not result["held_by"]:
            result["acquired"] = True
            result["changed"] = any(record is None for record in wanted)
            result["lock"] = public(current[STORE_S3]) or new_record
        return result

    s3_holder, taken_etag = take_s3_lock(s3, target, body, now=now)
    if s3_holder is not None and not ours(s3_holder):
        result["held_by"].append(s3_holder)
        return result
    if target.table:
        try:
            table_holder = take_dynamodb_lock(dynamodb, target, body, now=now)
        except AwsError:
            # Table missing, access denied...: do not leave a half-taken lock behind.
            if taken_etag is not None:
                delete_s3_lock(s3, target, taken_etag)
            raise
        if table_holder is not None and not ours(table_holder):
            if taken_etag is not None:
                delete_s3_lock(s3, target, taken_etag)
            result["held_by"].append(table_holder)
            return result
        result["changed"] = table_holder is None
    result["changed"] = result["changed"] or taken_etag is not None
    result["acquired"] = True
    if s3_holder is not None:
        result["lock"] = s3_holder
    else:
        new_record["etag"] = taken_etag
        result["lock"] = new_record
    return result


def release_decision(record, lock_id=None, stale_after=None, force=False, etag=None):
    """Why a lock record must be kept, or None when the request allows releasing it."""
    if record["corrupt"]:
        if not force:
            return KEPT_CORRUPT
        if record["store"] == STORE_S3 and normalise_etag(etag) != normalise_etag(record["etag"]):
            return KEPT_CORRUPT
        return None
    if lock_id is None and stale_after is None:
        return KEPT_NO_CRITERION
    if lock_id is not None and record["id"] != lock_id:
        return KEPT_OTHER_ID
    if stale_after is not None:
        if record["age_source"] != "created":
            return KEPT_NO_AGE
        if not record["stale"]:
            return KEPT_NOT_STALE
    return None


def release(s3, dynamodb, target, lock_id=None, stale_after=None, force=False, etag=None, check_mode=False,
            now=None):
    """Release ``target``'s lock in each store where the request allows it.

    Each lock is re-read, checked (ID, age, corrupt body) and deleted conditionally on what was
    read (S3: If-Match on the ETag; DynamoDB: ``Info`` unchanged), so a lock that changed hands
    in between is kept. Returns ``{"changed", "released": [records], "kept": [records]}``; kept
    records carry ``kept_reason``.
    """
    result = {"changed": False, "released": [], "kept": []}
    found = read_target_locks(s3, dynamodb, target, stale_after=stale_after, now=now)
    decisions = {store: release_decision(found[store], lock_id, stale_after, force, etag)
                 for store in (STORE_S3, STORE_DYNAMODB) if found[store] is not None}
    if not check_mode and decisions.get(STORE_S3, KEPT_CHANGED) is None and decisions.get(STORE_DYNAMODB,
                                                                                          KEPT_CHANGED) is None:
        # Both locks go: prove dynamodb:DeleteItem first, so that a missing right releases neither.
        prove_delete_item(dynamodb, target)
    for store in (STORE_S3, STORE_DYNAMODB):
        record = found[store]
        if record is None:
            continue
        reason = decisions[store]
        if reason is None and not check_mode:
            if store == STORE_S3:
                deleted = delete_s3_lock(s3, target, record["etag"])
            else:
                deleted = delete_dynamodb_lock(dynamodb, target, record["_info"])
            reason = None if deleted else KEPT_CHANGED
        record = public(record)
        if reason is None:
            result["released"].append(record)
            result["changed"] = True
        else:
            record["kept_reason"] = reason
            result["kept"].append(record)
    return result


# ---------------------------------------------------------------------------
# Whether a bucket honours conditional writes, which use_lockfile needs, proven on a key of our own.

PROBE_SUFFIX = ".tfstate-s3-backend-probe"


def is_own_object(s3, target, body):
    """Whether ``target``'s lock object holds exactly ``body``: our own write whose answer was lost."""
    read = read_s3_lock(s3, target.bucket, target.lock_key)
    return read is not None and read["body"] == body.encode("utf-8")


def probe_conditional_writes(s3, target, lock, tag=None):
    """Whether ``target``'s bucket refuses a second PutObject with If-None-Match: * on one key.

    The probe object sits next to the state's lock, under ``<state key>.tfstate-s3-backend-probe.tflock``
    (no state has that lock key), written with the backend's encryption as Terraform writes its lock.
    ``tag`` (e.g. a run's freeze lock ID) makes it ``<state key>.tfstate-s3-backend-probe-<tag>.tflock``, so
    two runs probing one root at once do not delete each other's probe.
    It is written twice and always deleted; a probe an interrupted run left behind is deleted first.
    Returns True when the second write was refused, False when the bucket accepted it.

    The first write is retry-safe: when it landed but its answer was lost, the SDK's retry is refused
    (412); the object is then read back, and when it holds this probe's body (the lock's unique ID)
    it is ours and the probe goes on.
    """
    probe = LockTarget(target.bucket, target.state_key + PROBE_SUFFIX + ("-%s" % tag if tag else ""), encrypt=target.encrypt,
                       kms_key_id=target.kms_key_id)

    def delete_probe():
        call(s3, "delete_object", resource=probe.s3_resource, ignore_codes=("NoSuchKey",),
             Bucket=probe.bucket, Key=probe.lock_key)

    body = dump_lock(dict(lock, Path=probe.path))
    delete_probe()
    try:
        if put_s3_lock(s3, probe, body) is None and not is_own_object(s3, probe, body):
            raise AwsError("another probe object appeared while probing", operation="PutObject",
                           resource=probe.s3_resource, code="ProbeContention")
        return put_s3_lock(s3, probe, body) is None
    finally:
        delete_probe()
