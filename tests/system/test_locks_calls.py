"""locks against the moto server: how many calls a search costs (the decisions: tests/unit/plugins/module_utils/test_locks.py)."""

import collections

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import finding as locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import dump_lock, new_lock


def count_calls(client):
    counts = collections.Counter()
    client.meta.events.register("before-call.*.*", lambda model, **kwargs: counts.update([model.name]))
    return counts


def test_one_listing_per_bucket_and_gets_only_for_lock_objects(s3, dynamodb, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    keys = ["net/terraform.tfstate", "env:/staging/net/terraform.tfstate", "app/terraform.tfstate"]
    for key in keys:
        s3.put_object(Bucket=bucket_name, Key=key, Body=b"{}")
        s3.put_object(Bucket=bucket_name, Key=key + ".tflock", Body=dump_lock(new_lock(bucket_name + "/" + key, "plan")))
    table = bucket_name + "-t"
    dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": bucket_name + "/net/terraform.tfstate"},
                                             "Info": {"S": dump_lock(new_lock("x", "plan"))}})
    dynamodb.put_item(TableName=table, Item={"LockID": {"S": bucket_name + "/net/terraform.tfstate-md5"},
                                             "Digest": {"S": "0" * 32}})
    s3_calls, dynamodb_calls = count_calls(s3), count_calls(dynamodb)
    clients = {"s3": s3, "dynamodb": dynamodb}
    requests = [
        {"bucket": bucket_name, "key": "net/terraform.tfstate", "dynamodb_table": table},
        {"bucket": bucket_name, "key": "app/terraform.tfstate", "workspaces": ["default"]},
        {"bucket": bucket_name, "prefix": "app/"},
    ]
    found = locks.find_locks(lambda service, region: clients[service], requests)
    assert sorted((r["store"], r["lock_key"] or "", r["table_key"] or "", r["workspace"]) for r in found) == [
        ("dynamodb", "", bucket_name + "/net/terraform.tfstate", "default"),
        ("s3", "app/terraform.tfstate.tflock", "", "default"),
        ("s3", "env:/staging/net/terraform.tfstate.tflock", "", "staging"),
        ("s3", "net/terraform.tfstate.tflock", "", "default"),
    ]
    assert dict(s3_calls) == {"ListObjectsV2": 1, "GetObject": 3}
    assert dict(dynamodb_calls) == {"Scan": 1}

    s3_calls.clear()
    dynamodb_calls.clear()
    named = locks.find_locks(lambda service, region: clients[service],
                             [{"bucket": bucket_name, "key": "net/terraform.tfstate", "workspaces": ["default"],
                               "dynamodb_table": table}])
    assert [(r["store"], r["state_key"]) for r in named] == [("s3", "net/terraform.tfstate"), ("dynamodb", "net/terraform.tfstate")]
    assert dict(s3_calls) == {"ListObjectsV2": 1, "GetObject": 1}
    assert dict(dynamodb_calls) == {"BatchGetItem": 1}
