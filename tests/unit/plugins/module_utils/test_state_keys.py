from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import state_keys as sk


def test_default_workspace_uses_the_key():
    assert sk.state_key("a/terraform.tfstate") == "a/terraform.tfstate"
    assert sk.state_key("a/terraform.tfstate", "default", "custom") == "a/terraform.tfstate"


def test_other_workspaces_use_the_prefix():
    assert sk.state_key("k.tfstate", "staging") == "env:/staging/k.tfstate"
    assert sk.state_key("k.tfstate", "staging", "teams/x") == "teams/x/staging/k.tfstate"


def test_lock_and_dynamodb_ids():
    key = sk.state_key("k.tfstate", "dev")
    assert sk.lock_key(key) == "env:/dev/k.tfstate.tflock"
    assert sk.state_key_of_lock("env:/dev/k.tfstate.tflock") == key
    assert sk.state_key_of_lock("k.tfstate") is None
    assert sk.lock_table_key("b", key) == "b/env:/dev/k.tfstate"
    assert sk.digest_table_key("b", key) == "b/env:/dev/k.tfstate-md5"
    assert sk.parse_table_key("b/env:/dev/k.tfstate-md5") == ("b", key, True)
    assert sk.parse_table_key("b/k.tfstate") == ("b", "k.tfstate", False)
    assert sk.parse_table_key("nobucket") is None


def test_workspace_of():
    assert sk.workspace_of("k.tfstate", "k.tfstate") == "default"
    assert sk.workspace_of("env:/dev/k.tfstate", "k.tfstate") == "dev"
    assert sk.workspace_of("p/dev/k.tfstate", "k.tfstate", "p") == "dev"
    assert sk.workspace_of("other.tfstate", "k.tfstate") is None
