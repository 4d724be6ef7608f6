import datetime

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import lock_table as lt

TERRAFORM_TABLE = {
    "TableName": "locks", "TableStatus": "ACTIVE", "TableArn": "arn:aws:dynamodb:us-east-1:1:table/locks",
    "KeySchema": [{"AttributeName": "LockID", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "LockID", "AttributeType": "S"}],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}, "DeletionProtectionEnabled": True,
}
INFO = ('{"ID":"1b2c","Operation":"OperationTypeApply","Info":"","Who":"ci@runner","Version":"1.11.4",'
        '"Created":"2026-11-27T10:00:00Z","Path":"b/app.tfstate"}')


def test_key_schema_problem():
    assert lt.key_schema_problem(TERRAFORM_TABLE) is None
    numeric = dict(TERRAFORM_TABLE, AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "N"}])
    assert "LockID (HASH, N)" in lt.key_schema_problem(numeric)
    with_sort_key = dict(TERRAFORM_TABLE, KeySchema=TERRAFORM_TABLE["KeySchema"] + [
        {"AttributeName": "Rev", "KeyType": "RANGE"}])
    assert "no sort key" in lt.key_schema_problem(with_sort_key)


def test_table_summary():
    summary = lt.table_summary("locks", TERRAFORM_TABLE)
    assert summary == {"name": "locks", "exists": True, "status": "ACTIVE", "arn": TERRAFORM_TABLE["TableArn"],
                       "billing_mode": "PAY_PER_REQUEST", "deletion_protection": True, "key_schema_problem": None}
    provisioned = dict(TERRAFORM_TABLE)
    del provisioned["BillingModeSummary"]
    assert lt.table_summary("locks", provisioned)["billing_mode"] == "PROVISIONED"
    assert lt.table_summary("locks", None)["exists"] is False


def test_group_by_state_joins_lock_and_digest_of_a_state():
    now = datetime.datetime(2026, 11, 27, 10, 1, tzinfo=datetime.timezone.utc)
    items = [{"LockID": "b/app.tfstate", "Info": INFO}, {"LockID": "b/app.tfstate-md5", "Digest": "aa"},
             {"LockID": "a/x.tfstate-md5", "Digest": "bb"}, {"LockID": "junk"}]
    states, unrecognised = lt.group_by_state("locks", items, now=now)
    assert [state["state_path"] for state in states] == ["a/x.tfstate", "b/app.tfstate"]
    assert states[0]["lock"] is None and states[0]["digest"] == "bb"
    assert states[1]["lock"]["id"] == "1b2c" and states[1]["lock"]["age_seconds"] == 60
    assert states[1]["digest"] == "aa"
    assert unrecognised == ["junk"]


def test_describe_blockers_names_every_reason():
    blockers = [
        {"reason": "lock item", "lock_table_key": "b/app.tfstate", "id": "1b2c", "operation": "OperationTypeApply",
         "who": "ci@runner", "created": "2026-11-27T10:00:00Z"},
        {"reason": "digest matches a state version written after the cut-over", "digest_table_key": "b/k-md5",
         "state_path": "b/k", "version_id": "v2", "last_modified": "2026-11-27T11:00:00+00:00"},
        {"reason": "digest items without cutover_time", "count": 2, "lock_table_keys": ["b/k-md5", "b/j-md5"]},
    ]
    message = lt.describe_blockers("locks", blockers)
    assert message.startswith("table locks not deleted: ")
    assert "lock item b/app.tfstate is held (ID 1b2c" in message
    assert "b/k-md5 matches b/k version v2" in message
    assert "2 digest items exist and no cutover_time" in message


def test_default_backup_name():
    moment = datetime.datetime(2026, 11, 27, 10, 0, 5, tzinfo=datetime.timezone.utc)
    assert lt.default_backup_name("locks", moment) == "locks-before-delete-20261127T100005Z"
