import datetime

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks import lock_info as li

TERRAFORM_BODY = ('{"ID":"2f1d0bb5-8c9c-6f54-6f7e-1d1b8f0e2d7a","Operation":"OperationTypeApply","Info":"",'
                  '"Who":"ci@runner","Version":"1.11.4","Created":"2026-11-27T10:27:34.131593493Z",'
                  '"Path":"bucket/prod/terraform.tfstate"}')


def test_parses_terraform_lock_json():
    lock = li.parse_lock(TERRAFORM_BODY.encode())
    assert lock["Operation"] == "OperationTypeApply"
    assert lock["Path"] == "bucket/prod/terraform.tfstate"
    now = datetime.datetime(2026, 11, 27, 10, 28, 34, 131593, tzinfo=datetime.timezone.utc)
    assert li.lock_age_seconds(lock, now) == pytest.approx(60.0)


@pytest.mark.parametrize("body", [b"", b"   ", b"not json", b"[]", b'{"Who":"x"}', b"\xff\xfe"])
def test_corrupt_bodies_raise(body):
    with pytest.raises(li.CorruptLock):
        li.parse_lock(body)


def test_new_lock_round_trips():
    lock = li.new_lock("b/k", "maintenance", info="freeze")
    again = li.parse_lock(li.dump_lock(lock))
    assert again == lock
    assert li.lock_age_seconds(again) < 5
