"""Digits of other scripts in numbers read from a URL (found in issue 26's review):
``str.isdigit()`` takes "²" (then int() fails: a 500) and "١٢" (read as 12). Every
number read from a path or a query takes the ASCII digits 0-9 only."""

import pytest

from backoffice.core.text import plain_digits
from tests.serving.conftest import key_client, predict

pytestmark = pytest.mark.django_db

ODD = ["²", "١٢", "\uff11", "1²", "⁹"]  # \uff11: a fullwidth one


def test_plain_digits_are_the_ascii_ones_only():
    assert plain_digits("0123456789")
    assert not any(plain_digits(text) for text in [*ODD, "", "-1", "1.0", " 1"])


@pytest.mark.parametrize("odd", ODD)
def test_a_version_in_other_digits_is_a_400_everywhere(odd, xgb):
    trained, _ = xgb
    client = key_client("predict", "trades:read", name=f"odd-{ord(odd[0])}")
    body = {"inputs": trained.probe[:1].tolist()}
    answer = predict(client, "edge-xgb", body, f"?version={odd}")
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["field"] == "version"
    v2 = client.post(
        f"/v2/models/edge-xgb/versions/{odd}/infer",
        {"inputs": [{"name": "input-0", "shape": [1, 1], "datatype": "FP64", "data": [1.0]}]},
        format="json",
    )
    assert v2.status_code in (400, 404), v2.content
    assert "error" in v2.json()
    days = client.get(f"/api/v1/models/edge-xgb/versions/1/performance?days={odd}")
    assert days.status_code in (400, 403), days.content
