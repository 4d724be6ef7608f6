"""migrate_enable_object_lock: the cut-over enables Object Lock on the state bucket, seen through the S3 API.

Real terraform against the faithful moto server (AWS enables Object Lock on a non-empty versioned bucket;
plain moto refuses). The root is migrated and proven as without it: Object Lock is not needed by
use_lockfile and is irreversible, so it is only asked for explicitly.
"""

import os

import boto3

from tests.testbed.aws import client as client_of
from tests.system.test_migrate_outcomes import ENV, PLAYBOOK
from tests.testbed.collection import run_playbook
from tests.testbed.fleet import fleet_inventory, root_hosts
from tests.testbed.terraform import TerraformRoot


def test_object_lock_is_enabled_on_the_bucket_during_the_cut_over(
        tmp_path, moto_aws_faithful, terraform_bin, bucket_name):
    s3 = client_of(moto_aws_faithful, "s3")
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    table = bucket_name + "-locks"
    boto3.client("dynamodb", endpoint_url=moto_aws_faithful.url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    root = TerraformRoot(tmp_path / "locked", moto_aws_faithful.url, binary=terraform_bin)
    root.write_main()
    root.write_backend(bucket=bucket_name, key="locked/terraform.tfstate", dynamodb_table=table)
    root.init()
    root.apply()  # the bucket holds the state: not empty
    inventory = fleet_inventory(tmp_path, moto_aws_faithful.url, terraform_bin, root_hosts({"locked": root}),
                                migrate_backup_dir=str(tmp_path / "backups"), migrate_enable_object_lock=True)

    result = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)

    assert result.returncode == 0, result.stdout[-4000:]
    assert "migrated 1" in result.stdout
    configuration = s3.get_object_lock_configuration(Bucket=bucket_name)["ObjectLockConfiguration"]
    assert configuration["ObjectLockEnabled"] == "Enabled"
    text = open(os.path.join(root.path, "backend.tf")).read()
    assert "use_lockfile" in text and "dynamodb_table" in text
    assert root.run("plan", "-input=false", "-no-color", "-lock-timeout=10s").returncode == 0
