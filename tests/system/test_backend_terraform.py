"""Real terraform accepts what backend_hcl writes, and then locks the way the mode says.

Samples per form are taken from the shared corpus (their text as published, with the bucket,
table and region swapped for moto's): plain blocks, partial configurations given with
``-backend-config``, and JSON. Each root is initialised and applied with DynamoDB locking,
switched to ``dual`` and then ``lockfile`` by the module (walking the root directory), and
after each switch ``terraform init -reconfigure`` and ``plan`` must pass. During a slow apply
the stores are read: a ``.tflock`` object in both modes, a DynamoDB lock item only in dual.
"""

import os

import pytest

from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import CORPUS_DIR, run_module
from tests.testbed.terraform import wait_for

CORPUS_FILES = os.path.join(CORPUS_DIR, "files")

# name -> files written into the root: {root file name: (corpus file, {corpus text: replacement key})},
# the -backend-config arguments, and the state key the backend ends up with.
SAMPLES = {
    "block_aligned_comments": dict(
        files={"backend.tf": ("001__01sri__statelockterraform__backend.tf",
                              {"siribucket123": "bucket", "terraform-lock-table": "table"})},
        init_args=[], state_key="path/to/my/terraform.tfstate"),
    "block_workspace_prefix": dict(
        files={"state.tf": ("012__kawaljeet0702__terraform-code__services__personalize__state.tf",
                            {'"xxx"': "quoted_bucket", "state-lock-dynamo-table": "table"})},
        init_args=[], state_key="dev.tfstate"),
    "partial_tfbackend": dict(
        files={"backend.tf": ("030__mattvanstone__aws-terraform-circleci-pipeline__backend.tf", {}),
               "dev.tfbackend": ("028__mattvanstone__aws-terraform-circleci-pipeline__dev.tfbackend",
                                 {"pipeline-example-dev-state-bucket": "bucket",
                                  "pipeline-example-dev-state-table": "table"})},
        init_args=["-backend-config=dev.tfbackend"], state_key="terraform.tfstate"),
    "partial_hcl_crlf": dict(
        files={"backend.tf": ("066__aalimsee__aws-eks-devops-capstone__infra__backend.tf", {}),
               "backend.hcl": ("034__RaduLupan__terraform-samples-aws__backend.hcl",
                               {"terraform-state-dev-us-east-2-fkaymsvstthc": "bucket",
                                "terraform-locks-dev-us-east-2": "table", "us-east-2": "region"})},
        init_args=["-backend-config=backend.hcl", "-backend-config=key=partial/terraform.tfstate"],
        state_key="partial/terraform.tfstate"),
    "json_flat": dict(
        files={"backend.tf.json": ("052__ORCID__orcid-terraform-atmos-poc-public__components__terraform__vpc__"
                                   "backend.tf.json",
                                   {"orcid-terraform-state-devatmos": "bucket",
                                    "terraform_state_lock_dynamo_devatmos": "table", "us-east-2": "region"})},
        init_args=[], state_key="terraform.tfstate"),
}

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("corpus_dir"),
]


def place(root, sample, values):
    """Write the sample's corpus files into the root with moto's names; returns their paths."""
    written = []
    for name, (corpus_file, swaps) in sample["files"].items():
        with open(os.path.join(CORPUS_FILES, corpus_file), "rb") as handle:
            data = handle.read()
        for old, key in swaps.items():
            assert old.encode() in data, (corpus_file, old)
            data = data.replace(old.encode(), values[key].encode())
        path = os.path.join(root.path, name)
        with open(path, "wb") as handle:
            handle.write(data)
        written.append(path)
    return written


def lock_item(dynamodb, table, table_key):
    return dynamodb.get_item(TableName=table, Key={"LockID": {"S": table_key}}, ConsistentRead=True).get("Item")


def lock_object(s3, bucket, key):
    return s3.list_objects_v2(Bucket=bucket, Prefix=key + ".tflock").get("KeyCount", 0) > 0


def locks_seen_during_apply(root, s3, dynamodb, bucket, table, state_key, expect_dynamodb):
    """Start a slow apply; report which stores hold its lock while it runs."""
    lock_id = "%s/%s" % (bucket, state_key)
    proc = root.start_apply(sleep_seconds=8)
    try:
        wait_for(lambda: lock_object(s3, bucket, state_key), timeout=60, what="the .tflock object")
        if expect_dynamodb:
            wait_for(lambda: lock_item(dynamodb, table, lock_id), timeout=30, what="the DynamoDB lock item")
        in_dynamodb = lock_item(dynamodb, table, lock_id) is not None
        still_locked = lock_object(s3, bucket, state_key)  # the DynamoDB read happened while the lock was held
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert still_locked
    assert not lock_object(s3, bucket, state_key) and lock_item(dynamodb, table, lock_id) is None
    return in_dynamodb


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_terraform_follows_the_rewritten_backend(name, tf_root, s3, dynamodb, bucket_name):
    sample = SAMPLES[name]
    table = bucket_name + "-locks"
    s3.create_bucket(Bucket=bucket_name)
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
    )
    root = tf_root(name)
    values = {"bucket": bucket_name, "quoted_bucket": '"%s"' % bucket_name, "table": table, "region": "us-east-1"}
    written = place(root, sample, values)
    found = run_module(backend_info, dict(path=[root.path]))
    assert sorted(set(b["lock_mode"] for b in found["backends"] if b["settings"].get("dynamodb_table"))) == \
        ["dynamodb"]

    root.init(*sample["init_args"])
    root.apply()
    digest_id = "%s/%s-md5" % (bucket_name, sample["state_key"])
    assert lock_item(dynamodb, table, digest_id), "terraform wrote no digest: not locking with DynamoDB"

    dual = run_module(backend_hcl, dict(path=[root.path], lock_mode="dual"))
    assert dual["changed"] is True and [c["lock_mode_after"] for c in dual["changes"]] == ["dual"]
    root.init(*sample["init_args"], reconfigure=True)
    root.plan()
    assert locks_seen_during_apply(root, s3, dynamodb, bucket_name, table, sample["state_key"],
                                   expect_dynamodb=True) is True

    lockfile = run_module(backend_hcl, dict(path=[root.path], lock_mode="lockfile"))
    assert lockfile["changed"] is True and [c["lock_mode_after"] for c in lockfile["changes"]] == ["lockfile"]
    after = run_module(backend_info, dict(path=written))["backends"]
    assert not [b for b in after if "dynamodb_table" in b["settings"]]
    root.init(*sample["init_args"], reconfigure=True)
    root.plan()
    assert locks_seen_during_apply(root, s3, dynamodb, bucket_name, table, sample["state_key"],
                                   expect_dynamodb=False) is False
