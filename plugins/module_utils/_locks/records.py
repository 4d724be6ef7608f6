# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lock records: one dict per lock found, the same shape for S3 ``.tflock`` objects and DynamoDB lock
items, and the DynamoDB reads behind them. Pure logic, no Ansible imports: functions take boto3
clients and plain values, so the modules, the phases and other module_utils share them."""


from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import (
    LOCK_FIELDS,
    CorruptLock,
    lock_age_seconds,
    parse_lock,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    DIGEST_SUFFIX,
    lock_table_key,
    lock_key,
    s3_uri,
    state_path,
)


# BatchGetItem accepts at most 100 keys per request.
BATCH_GET_LIMIT = 100
# Bounded re-asks for keys DynamoDB left unprocessed (throttling); botocore retries each call too.
UNPROCESSED_ROUNDS = 8


def plain_item(item):
    """A DynamoDB item in the low-level wire format (``{"LockID": {"S": "..."}}``) as plain values."""
    return {name: next(iter(typed.values())) for name, typed in item.items()}


def is_digest_item(item):
    """True for a ``<bucket>/<key>-md5`` digest item, False for a lock item."""
    return item.get("LockID", "").endswith(DIGEST_SUFFIX)


def read_lock_items(client, table, table_keys):
    """Read the items with the given LockIDs (consistent reads).

    Returns ``{LockID: plain item}``; LockIDs without an item are absent from the result.
    Works for lock items and ``-md5`` digest items alike.
    """
    wanted = sorted(set(table_keys))
    found = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request = {table: {
            "Keys": [{"LockID": {"S": key}} for key in wanted[start:start + BATCH_GET_LIMIT]],
            "ConsistentRead": True,
        }}
        for dummy in range(UNPROCESSED_ROUNDS):
            answer = call(client, "batch_get_item", resource="DynamoDB table %s" % table, RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                item = plain_item(item)
                found[item["LockID"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise AwsError("DynamoDB kept leaving keys unprocessed after %d rounds" % UNPROCESSED_ROUNDS,
                           operation="BatchGetItem", resource="DynamoDB table %s" % table, code="UnprocessedKeys")
    return found


def scan_table(client, table, table_key_prefix=None):
    """All items of a lock table (lock and digest items), as plain dicts sorted by LockID.

    ``table_key_prefix`` keeps only LockIDs starting with it, for example ``"<bucket>/"``.
    """
    kwargs = {"TableName": table, "ConsistentRead": True}
    if table_key_prefix:
        kwargs["FilterExpression"] = "begins_with(LockID, :prefix)"
        kwargs["ExpressionAttributeValues"] = {":prefix": {"S": table_key_prefix}}
    items = []
    for page in paginate(client, "scan", resource="DynamoDB table %s" % table, **kwargs):
        items.extend(plain_item(item) for item in page.get("Items", []))
    return sorted(items, key=lambda item: item.get("LockID", ""))


def scan_lock_items(client, table, table_key_prefix=None):
    """The lock items (not the ``-md5`` digest items) of a lock table, sorted by LockID."""
    return [item for item in scan_table(client, table, table_key_prefix) if not is_digest_item(item)]


# ---------------------------------------------------------------------------
# Lock records: one dict per lock found, the same shape for both stores.

STORE_S3 = "s3"
STORE_DYNAMODB = "dynamodb"


def s3_resource(bucket, key):
    """How errors and messages name a lock object."""
    return s3_uri(bucket, key)


def item_resource(table, table_key):
    """How errors and messages name a DynamoDB lock item."""
    return "DynamoDB table %s item %s" % (table, table_key)


def normalise_etag(etag):
    """ETags compare without their quotes (users paste them either way)."""
    return (etag or "").strip().strip('"')


def lock_record(store, bucket, state_object_key, body, table=None, workspace=None, etag=None,
                version_id=None, last_modified=None, size=None, stale_after=None, now=None):
    """Describe one lock; a corrupt or empty body gives ``corrupt: true`` and a reason.

    ``body`` None means the body was not read (``corrupt`` is then None). ``age_seconds`` comes
    from the lock's ``Created``, else from the object's LastModified (``age_source`` says which).
    """
    now = now or clock.now()
    record = {
        "store": store,
        "bucket": bucket,
        "table": table,
        # One name per key: the .tflock object's key in the bucket, or the lock item's key (LockID) in the table.
        "lock_key": lock_key(state_object_key) if store == STORE_S3 else None,
        "table_key": lock_table_key(bucket, state_object_key) if store != STORE_S3 else None,
        "state_key": state_object_key,
        "state_path": state_path(bucket, state_object_key),
        "workspace": workspace,
        "etag": etag,
        "version_id": version_id,
        "last_modified": last_modified.isoformat() if last_modified else None,
        "size": size,
        "corrupt": None,
        "reason": None,
    }
    lock = {field: None for field in LOCK_FIELDS}
    if body is not None:
        try:
            lock = parse_lock(body)
            record["corrupt"] = False
        except CorruptLock as exc:
            record["corrupt"] = True
            record["reason"] = str(exc)
    for field in LOCK_FIELDS:
        record[field.lower()] = lock[field]
    age = lock_age_seconds(lock, now) if lock["Created"] else None
    record["age_source"] = "created" if age is not None else None
    if age is None and last_modified is not None:
        age = max(0.0, (now - last_modified).total_seconds())
        record["age_source"] = "last_modified"
    record["age_seconds"] = None if age is None else int(age)
    record["stale"] = None if age is None or stale_after is None else age > stale_after
    return record
