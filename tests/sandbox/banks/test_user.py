"""The automated customer's form reader and its failure reporting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.sandbox.banks import AutomatedUserError, complete_authorization_sync
from honnin.sandbox.banks.user import parse_forms

LOGIN = """<form method="post" action="/interaction/a&amp;b/login" id="login-form">
  <input type="hidden" name="csrf" value="x&amp;y&quot;z">
  <input type="text" id="username" name="username" required>
  <input type="password" id="password" name="password" required>
  <button type="submit" id="login" class="primary">ログイン</button>
</form>
<p class="error" id="login-error" role="alert">Wrong user name</p>"""

CONSENT = """<FORM METHOD='POST' action=/c><input type=hidden name=csrf value=t>
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button></FORM>
<form method="get" action="/elsewhere"><input name="q"></form>"""


def test_login_form_fields_and_error_text() -> None:
    forms, error = parse_forms(LOGIN)
    assert len(forms) == 1
    form = forms[0]
    assert form.action == "/interaction/a&b/login"
    assert form.method == "post"
    assert form.fields == {"csrf": 'x&y"z'}
    assert form.inputs == ["username", "password"]
    assert error == "Wrong user name"


def test_consent_buttons_and_loose_html() -> None:
    forms, _ = parse_forms(CONSENT)
    assert [f.method for f in forms] == ["post", "get"]
    assert forms[0].fields == {"csrf": "t"}
    assert forms[0].buttons == {"decision": ["allow", "deny"]}
    assert forms[1].inputs == ["q"]


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_reader(text: str) -> None:
    forms, error = parse_forms(text)
    assert isinstance(error, str)
    assert all(form.method for form in forms)


def test_error_page_becomes_a_clear_error(make_flow: Any) -> None:
    flow = make_flow("sakura_oidc")
    direct = f"{flow.base_url}/authorize?client_id=honnin-test&response_type=code"
    with pytest.raises(AutomatedUserError, match="400"):
        complete_authorization_sync(direct, username="sato")
