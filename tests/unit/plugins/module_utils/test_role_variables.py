"""Extra variables with a role prefix that no role reads: named, with the closest known one."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import role_variables as rv

KNOWN = ["migrate_target", "migrate_report_dir", "tfstate_aws_profile", "retire_table"]


def test_a_typo_names_the_closest_known_variable():
    assert rv.unknown_variables(["migrate_targt", "migrate_target"], KNOWN) == [("migrate_targt", "migrate_target")]
    [warning] = rv.unknown_variable_warnings({"migrate_targt": "lockfile"}, KNOWN)
    assert "migrate_targt" in warning and "did you mean migrate_target?" in warning


def test_only_the_roles_prefixes_count_and_a_name_far_from_all_says_so():
    assert rv.unknown_variables(["ansible_check_mode", "my_var", "retire_table"], KNOWN) == []
    [(name, close)] = rv.unknown_variables(["bootstrap_xyzzy_quux"], KNOWN)
    assert name == "bootstrap_xyzzy_quux" and close is None
    assert "no role" in rv.unknown_variable_warnings(["bootstrap_xyzzy_quux"], KNOWN)[0]


def test_names_in_text_finds_prefixed_names():
    text = "hosts: \"{{ tfstate_hosts | default('all') }}\"\n# tfstate_serial runs batches; retire_table"
    assert rv.names_in_text(text) == {"tfstate_hosts", "tfstate_serial", "retire_table"}
