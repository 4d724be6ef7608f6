"""migration_record writes and returns the root without the credentials a repository URL carries."""

import json

from ansible_collections.tfstate.s3_backend.plugins.modules import migration_record
from tests.testbed.collection import run_module, run_playbook

KEY = "net/terraform.tfstate"
TOKEN = "glpat-Zq8Secret0Token"
ROOT_URL = "https://oauth2:%s@gitlab.example.com/platform/network.git//envs/prod" % TOKEN


def record_object(s3, bucket):
    return s3.get_object(Bucket=bucket, Key=KEY + ".tfstate-s3-backend.json")["Body"].read().decode()


def test_root_is_recorded_and_returned_without_its_token(state_bucket, s3, aws_params):
    args = dict(aws_params, bucket=state_bucket, key=KEY, mode="dual", dynamodb_table="locks", root=ROOT_URL)
    checked = run_module(migration_record, args, check_mode=True, diff=True)
    assert checked["changed"] and "Contents" not in s3.list_objects_v2(Bucket=state_bucket)

    result = run_module(migration_record, args, diff=True)
    assert result["changed"], result
    written = record_object(s3, state_bucket)
    assert TOKEN not in written and "oauth2" not in written
    assert json.loads(written)["root"] == "https://gitlab.example.com/platform/network.git//envs/prod"
    # Nothing printed holds the token: not the record, not the diff, not the invocation's arguments.
    assert TOKEN not in json.dumps(result) and TOKEN not in json.dumps(checked)
    assert result["record"]["root"] == json.loads(written)["root"]


def test_a_token_written_by_an_older_version_is_scrubbed_on_the_next_write(state_bucket, s3, aws_params):
    old = {"mode": "dual", "dynamodb_table": "locks", "cutover_time": "2026-11-01T10:00:00Z", "root": ROOT_URL,
           "collection_version": "0.1.0"}
    s3.put_object(Bucket=state_bucket, Key=KEY + ".tfstate-s3-backend.json", Body=json.dumps(old).encode())
    read = run_module(migration_record, dict(aws_params, bucket=state_bucket, key=KEY))
    assert not read["changed"] and TOKEN not in json.dumps(read)
    again = run_module(migration_record, dict(aws_params, bucket=state_bucket, key=KEY, mode="dual",
                                              root=ROOT_URL))
    assert again["changed"], again
    written = json.loads(record_object(s3, state_bucket))
    assert TOKEN not in json.dumps(written)
    assert written["cutover_time"] == "2026-11-01T10:00:00Z" and written["dynamodb_table"] == "locks"


def test_the_token_is_not_printed_at_vvv(state_bucket, s3, moto_server, tmp_path):
    playbook = tmp_path / "record.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - tfstate.s3_backend.migration_record:
        bucket: %s
        key: %s
        mode: lockfile
        root: "%s"
        endpoint_url: %s
        region: us-east-1
      register: written
    - ansible.builtin.debug:
        var: written
""" % (state_bucket, KEY, ROOT_URL, moto_server.url))
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = run_playbook(str(playbook), args=["-vvv"], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gitlab.example.com/platform/network.git" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr
    assert TOKEN not in record_object(s3, state_bucket)
