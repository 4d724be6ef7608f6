"""Terragrunt roots in a migrate run, seen through the files, S3, DynamoDB, the reports and the recap.

Without tfstate_terragrunt_bin a Terragrunt root is ``unsupported``: nothing of it changes, the
report shows the diff its terragrunt.hcl needs and the re-init command, the run does not fail (unless
migrate_fail_on_unsupported), and a healthy root of the same run migrates. With it, the root migrates
like a plain one. The terragrunt used is tests/testbed/terragrunt.py, a stand-in that renders the
backend from remote_state and runs the real terraform; the real terragrunt cannot be installed here.
"""

import json
import os
import re


from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory, play_recap
from tests.testbed.terraform import MAIN_TF, TerraformRoot, kill_process_group, wait_for

PLAYBOOK = os.path.join(ROOT, "playbooks", "migrate.yml")
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}

TERRAGRUNT_HCL = """\
%(terraform)sremote_state {
  backend = "s3"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    bucket         = "%(bucket)s"
    key            = "%(key)s"
    region         = "us-east-1"
    encrypt        = true
    dynamodb_table = "%(table)s"
  }
}
"""


class TerragruntRoot(TerraformRoot):
    """A Terragrunt root (terragrunt.hcl with remote_state), run through the terragrunt stand-in."""

    def __init__(self, path, endpoint_url, terraform, terragrunt, bucket, key, table, source=False):
        super().__init__(path, endpoint_url, binary=terraform)
        self.terragrunt = terragrunt
        self.env = dict(self.env, TG_TF_PATH=terraform, TG_NON_INTERACTIVE="true")
        module = ""
        if source:
            # terraform { source }: terragrunt runs terraform in a copy under .terragrunt-cache.
            os.makedirs(os.path.join(self.path, "module"))
            with open(os.path.join(self.path, "module", "main.tf"), "w") as handle:
                handle.write(MAIN_TF)
            module = 'terraform {\n  source = "./module"\n}\n\n'
        else:
            self.write_main()
        self.hcl = self.write("terragrunt.hcl", TERRAGRUNT_HCL % {
            "terraform": module, "bucket": bucket, "key": key, "table": table})

    def command(self, *args):
        return [self.terragrunt] + list(args)

    def text(self):
        with open(self.hcl) as handle:
            return handle.read()


def _inventory(tmp_path, moto_server, terraform_bin, hosts, **extra):
    return fleet_inventory(tmp_path, moto_server.url, terraform_bin, hosts, **dict({
        "migrate_backup_dir": str(tmp_path / "backups"), "migrate_target": "lockfile"}, **extra))


def _rows(tmp_path, name):
    with open(str(tmp_path / "reports" / name)) as handle:
        document = json.load(handle)
    return document, dict((row["host"], row) for row in document["results"])


def _keys(s3, bucket):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_terragrunt_root_without_a_binary_is_unsupported_and_the_healthy_root_migrates(
        tmp_path, moto_server, tf_root, s3, dynamodb, state_bucket, lock_table, terraform_bin, terragrunt_standin):
    healthy = tf_root("healthy")
    healthy.write_backend(bucket=state_bucket, key="healthy/terraform.tfstate", dynamodb_table=lock_table)
    healthy.init()
    grunt = TerragruntRoot(tmp_path / "grunt", moto_server.url, terraform_bin, terragrunt_standin, state_bucket,
                           "grunt/terraform.tfstate", lock_table)
    grunt.init()
    grunt.apply(serial="1")
    before = grunt.text()
    keys_before = [key for key in _keys(s3, state_bucket) if key.startswith("grunt/")]
    assert keys_before == ["grunt/terraform.tfstate"]
    inventory = _inventory(tmp_path, moto_server, terraform_bin,
                           {"healthy": {"tfstate_root": healthy.path}, "grunt": {"tfstate_root": grunt.path}})
    command = "cd %s && terragrunt init -reconfigure" % grunt.path

    preview = run_playbook(PLAYBOOK, inventory=inventory, check=True, diff=True, env=ENV)
    assert preview.returncode == 0, preview.stdout[-4000:]
    document, rows = _rows(tmp_path, "migrate-preview.json")
    assert {host: row["status"] for host, row in rows.items()} == {"healthy": "would_migrate", "grunt": "unsupported"}
    row = rows["grunt"]
    assert row["unsupported"] == "terragrunt" and row["reason"].startswith("terragrunt: %s:" % grunt.hcl)
    assert row["reinit_command"] == command and command in row["next_step"]
    assert "-    dynamodb_table" in row["files_diff"] and "+    use_lockfile" in row["files_diff"]
    assert row["files_diff"].startswith("--- %s (before)" % grunt.hcl)
    assert row["fails_root"] is False
    assert [(b["host"], b["status"]) for b in document["blockers"]] == [("grunt", "unsupported")]
    markdown = open(str(tmp_path / "reports" / "migrate-preview.md")).read()
    assert "### grunt" in markdown and command in markdown and "+    use_lockfile" in markdown
    assert grunt.text() == before

    real = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert real.returncode == 0, real.stdout[-4000:]
    assert play_recap(real.stdout)["grunt"]["failed"] == 0
    printed = (real.stdout + real.stderr).replace("\n", " ")
    assert re.search(r"\[WARNING\]: grunt: terragrunt: .*%s" % re.escape(command), printed), real.stderr[-4000:]
    document, rows = _rows(tmp_path, "migrate-report.json")
    assert rows["healthy"]["status"] == "migrated" and rows["grunt"]["status"] == "unsupported"
    assert rows["grunt"]["files_changed"] == [] and "+    use_lockfile" in rows["grunt"]["files_diff"]
    assert document["counts"]["status"] == {"migrated": 1, "unsupported": 1}
    assert [b["host"] for b in document["blockers"]] == ["grunt"]
    # Nothing of the Terragrunt root changed: its file, its objects in S3 (no record, no lock), its init.
    assert grunt.text() == before
    assert [key for key in _keys(s3, state_bucket) if key.startswith("grunt/")] == keys_before
    assert "healthy/terraform.tfstate.tfstate-s3-backend.json" in _keys(s3, state_bucket)
    assert rows["grunt"]["initialised_lock_mode_after"] == "dynamodb"
    assert not [item for item in dynamodb.scan(TableName=lock_table)["Items"] if "Info" in item]  # no lock left

    # Asked to, the run fails the unsupported root as itself.
    strict = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["-e", "migrate_fail_on_unsupported=true"])
    assert strict.returncode == 2, strict.stdout[-4000:]
    recap = play_recap(strict.stdout)
    assert recap["grunt"]["failed"] == 1 and recap["healthy"]["failed"] == 0, recap
    assert grunt.text() == before


def test_terragrunt_root_with_a_binary_migrates_like_a_plain_root(
        tmp_path, moto_server, s3, dynamodb, state_bucket, lock_table, terraform_bin, terragrunt_standin):
    grunt = TerragruntRoot(tmp_path / "grunt", moto_server.url, terraform_bin, terragrunt_standin, state_bucket,
                           "grunt/terraform.tfstate", lock_table, source=True)
    grunt.init()
    grunt.apply(serial="1")
    inventory = _inventory(tmp_path, moto_server, terraform_bin, {"grunt": {"tfstate_root": grunt.path}},
                           tfstate_terragrunt_bin=terragrunt_standin)

    preview = run_playbook(PLAYBOOK, inventory=inventory, check=True, diff=True, env=ENV)
    assert preview.returncode == 0, preview.stdout[-4000:]
    _document, rows = _rows(tmp_path, "migrate-preview.json")
    assert rows["grunt"]["status"] == "would_migrate" and "+    use_lockfile" in rows["grunt"]["files_diff"]
    assert "use_lockfile" not in grunt.text()

    real = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert real.returncode == 0, real.stdout[-4000:]
    _document, rows = _rows(tmp_path, "migrate-report.json")
    row = rows["grunt"]
    assert row["status"] == "migrated", row
    # The lock proof ran through terragrunt: a plan refused by the .tflock object while frozen, then a plan.
    assert row["verification"]["locked_plan_refused"] is True and row["verification"]["plan_ok"] is True
    assert row["lock_mode_after"] == "lockfile" and row["initialised_lock_mode_after"] == "lockfile"
    text = grunt.text()
    assert "use_lockfile = true" in text and "dynamodb_table" not in text
    # terraform ran in terragrunt's cache, where the backend it was given now locks with the lockfile only.
    [cache_init] = [os.path.join(folder, name) for folder, _dirs, names in os.walk(os.path.join(
        grunt.path, ".terragrunt-cache")) for name in names if name == "terraform.tfstate"
        and folder.endswith(".terraform")]
    with open(cache_init) as handle:
        config = json.load(handle)["backend"]["config"]
    assert config["use_lockfile"] is True and not config.get("dynamodb_table")
    assert "grunt/terraform.tfstate.tfstate-s3-backend.json" in _keys(s3, state_bucket)
    record = json.loads(s3.get_object(Bucket=state_bucket,
                                      Key="grunt/terraform.tfstate.tfstate-s3-backend.json")["Body"].read())
    assert record["mode"] == "lockfile"

    # terragrunt apply now locks through <key>.tflock in S3 and no longer through DynamoDB.
    slow = grunt.start_apply(sleep_seconds=30, serial="2")
    try:
        wait_for(lambda: s3.list_objects_v2(Bucket=state_bucket, Prefix="grunt/terraform.tfstate.tflock")
                 .get("KeyCount"), timeout=90, what="the .tflock object of terragrunt's apply")
        held = json.loads(s3.get_object(Bucket=state_bucket, Key="grunt/terraform.tfstate.tflock")["Body"].read())
        assert held["Operation"] == "OperationTypeApply"
        assert not [item for item in dynamodb.scan(TableName=lock_table)["Items"] if "Info" in item]
    finally:
        kill_process_group(slow)
    grunt.run("force-unlock", "-force", held["ID"])

    again = run_playbook(PLAYBOOK, inventory=inventory, env=ENV)
    assert again.returncode == 0, again.stdout[-4000:]
    assert _rows(tmp_path, "migrate-report.json")[1]["grunt"]["status"] == "unchanged"
    assert grunt.text() == text
