"""The README's "Migrating a fleet" section, run as written against moto with real terraform.

The inventory and the commands are read from README.md. The only adaptations are the ones any
test bed needs: HOME is a scratch directory (so ``~/src/...`` and the ``platform-prod`` profile
live there), and every ansible-playbook line gets the moto endpoint and the terraform binary as
extra variables (and the retire line names this test's table). What the commands did is checked through the files, S3 and DynamoDB.
"""

import json
import os
import re
import subprocess

import yaml

from tests.testbed.collection import ROOT, ansible_env
from tests.testbed.terraform import TerraformRoot


def _section():
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("## Migrating a fleet", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    inventory = [body for kind, body in blocks if kind == "yaml"][0]
    commands = [line for kind, body in blocks if kind == "sh" for line in body.splitlines() if line.strip()]
    return inventory, commands


def test_the_fleet_quick_start_runs_as_written(tmp_path, moto_server, s3, dynamodb, state_bucket, lock_table,
                                               terraform_bin):
    inventory_text, commands = _section()
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[platform-prod]\naws_access_key_id = testing\n"
                                               "aws_secret_access_key = testing\n")
    (home / ".aws" / "config").write_text("[profile platform-prod]\nregion = us-east-1\n")
    inventory = yaml.safe_load(inventory_text)
    roots = {}
    for name, host in inventory["all"]["hosts"].items():
        path = os.path.expanduser(host["tfstate_root"].replace("~", str(home), 1))
        root = TerraformRoot(path, moto_server.url, binary=terraform_bin)
        root.write_main()
        if host.get("tfstate_init_args"):
            root.write("backend.tf", 'terraform {\n  backend "s3" {}\n}\n')
            root.write("prod.tfbackend", 'bucket         = "%s"\nkey            = "%s/terraform.tfstate"\n'
                       'region         = "us-east-1"\ndynamodb_table = "%s"\n' % (state_bucket, name, lock_table))
            root.init("-backend-config=prod.tfbackend")
        else:
            root.write_backend(bucket=state_bucket, key="%s/terraform.tfstate" % name, dynamodb_table=lock_table)
            root.init()
        roots[name] = root
    (tmp_path / "roots.yml").write_text(inventory_text)
    env = ansible_env({"HOME": str(home), "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
                       "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
                       "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    testbed = " -e tfstate_aws_endpoint_url=%s -e tfstate_terraform_bin=%s" % (moto_server.url, terraform_bin)

    outputs = []
    for line in commands:
        # The README's table name is a placeholder, like its paths: this test's table stands in for it.
        command = line.split("  #", 1)[0].strip().replace("retire_table=terraform-locks", "retire_table=" + lock_table)
        if command.startswith("ansible-playbook"):
            command += testbed
        done = subprocess.run(["bash", "-c", command], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=900, check=False)
        outputs.append((command, done))
        if "tfstate.s3_backend.retire" in command:
            # Here the table is refused (app is rolled back to it): the run fails saying so, with the next step.
            assert done.returncode == 2 and "refused localhost: " in done.stdout and "next: " in done.stdout, (
                command, done.stdout[-4000:], done.stderr[-2000:])
            continue
        assert done.returncode == 0, (command, done.stdout[-4000:], done.stderr[-2000:])

    reports = tmp_path / "tfstate-reports"
    preview = json.load(open(str(reports / "migrate-preview.json")))
    assert sorted(row["status"] for row in preview["results"]) == ["would_migrate", "would_migrate"]
    # The fleet view (the ledger), last written by the rollback: app rolled back and pinned, network lockfile.
    fleet = json.load(open(str(reports / "migrate-fleet.json")))
    assert dict((row["host"], row["status"]) for row in fleet["results"]) == {"app": "pinned", "network": "lockfile"}
    assert "| network | lockfile |" in [done.stdout for command, done in outputs if command.startswith("cat")][0]
    # Rolled back: app locks with DynamoDB again (its partial configuration), network stays on lockfile.
    app = open(os.path.join(roots["app"].path, "prod.tfbackend")).read()
    assert "dynamodb_table" in app and "use_lockfile" not in app
    network = open(os.path.join(roots["network"].path, "backend.tf")).read()
    assert "use_lockfile = true" in network and "dynamodb_table" not in network
    # Retire refused: app uses the table again, and the grace period is not over. The table is still there.
    retire = json.load(open(str(reports / "retire-report.json")))["results"][0]
    assert retire["status"] == "refused" and "app" in retire["reason"], retire
    assert dynamodb.describe_table(TableName=lock_table)["Table"]["TableName"] == lock_table
    roots["network"].plan()
