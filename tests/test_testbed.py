"""The test bed itself: moto answers, and real terraform locks state through it."""

import json


def test_terraform_lockfile_against_moto(tf_root, s3, bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    root = tf_root()
    root.write_backend(bucket=bucket_name, key="bed/terraform.tfstate", use_lockfile=True)
    root.init()
    root.apply()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name).get("Contents", [])]
    assert keys == ["bed/terraform.tfstate"]
    state = json.loads(s3.get_object(Bucket=bucket_name, Key="bed/terraform.tfstate")["Body"].read())
    assert state["resources"][0]["type"] == "terraform_data"
