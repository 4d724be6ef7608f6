"""Helpers for the tests that run the fleet roles (migrate, rollback) on several roots."""

import re

import yaml


def root_hosts(roots):
    """``{name: {"tfstate_root": path}}`` for ``{name: TerraformRoot}``."""
    return {name: {"tfstate_root": root.path} for name, root in roots.items()}


def fleet_inventory(tmp_path, endpoint_url, terraform_bin, hosts, **role_vars):
    """An inventory file (``tmp_path/inventory.yml``) of ``hosts`` against the moto server at ``endpoint_url``.

    Reports go to ``tmp_path/reports``; ``role_vars`` are added to (or replace) the group's variables.
    """
    data = {"all": {"hosts": hosts, "vars": dict({
        "tfstate_aws_endpoint_url": endpoint_url,
        "tfstate_terraform_bin": terraform_bin,
        "migrate_report_dir": str(tmp_path / "reports"),
    }, **role_vars)}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def play_recap(stdout):
    """``{host: {ok, changed, failed, ...}}`` from ansible-playbook's PLAY RECAP."""
    recap = {}
    for line in stdout.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match:
            recap[match.group(1)] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return recap
