"""How much an operator reads: the whole output of a healthy run at default verbosity, measured.

Real terraform against moto. A 4-root migrate prints at most 60 lines and a 5-root rollback at most 80,
each ending with its summary then the recap, so the run's outcome fits on one screen.
"""

import os

from tests.system.test_migrate_outcomes import ENV, PLAYBOOK
from tests.testbed.collection import ROOT, run_playbook
from tests.testbed.fleet import fleet_inventory, play_recap, root_hosts

ROLLBACK = os.path.join(ROOT, "playbooks", "rollback.yml")


def _roots(tf_root, names, bucket, table):
    roots = {}
    for name in names:
        roots[name] = tf_root(name)
        roots[name].write_backend(bucket=bucket, key="%s/terraform.tfstate" % name, dynamodb_table=table)
        roots[name].init()
    return roots


def _printed(result):
    lines = result.stdout.rstrip("\n").splitlines()
    print("\n".join(lines))
    return lines


def test_a_4_root_migrate_and_a_5_root_rollback_fit_on_a_screen(
        tmp_path, moto_server, tf_root, state_bucket, lock_table, terraform_bin):
    roots = _roots(tf_root, ("one", "two", "three", "four", "five"), state_bucket, lock_table)
    inventory = fleet_inventory(tmp_path, moto_server.url, terraform_bin, root_hosts(roots),
                                migrate_backup_dir=str(tmp_path / "backups"),
                                rollback_report_dir=str(tmp_path / "reports"))

    migrate = run_playbook(PLAYBOOK, inventory=inventory, env=ENV, args=["--limit", "one,two,three,four"])
    assert migrate.returncode == 0, migrate.stdout[-4000:]
    lines = _printed(migrate)
    assert len(lines) <= 60, len(lines)
    assert lines.index(next(line for line in lines if line.startswith("PLAY RECAP"))) > \
        max(index for index, line in enumerate(lines) if "Summary]" in line)
    assert "migrated 4" in migrate.stdout and set(play_recap(migrate.stdout)) == {"one", "two", "three", "four"}

    rollback = run_playbook(ROLLBACK, inventory=inventory, env=ENV, extra_vars={"rollback_reason": "INC-1: test"})
    assert rollback.returncode == 0, rollback.stdout[-4000:]
    lines = _printed(rollback)
    assert len(lines) <= 80, len(lines)
    assert "rolled_back 4" in rollback.stdout, rollback.stdout[-3000:]
    for name, root in roots.items():
        text = open(os.path.join(root.path, "backend.tf")).read()
        assert "dynamodb_table" in text and "use_lockfile" not in text, (name, text)
