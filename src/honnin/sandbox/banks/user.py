"""An automated bank customer: logs in and answers the consent page over plain HTTP.

Broker tests and benchmarks that run without a browser use it to complete the
authorization-code flow (RFC 6749 §4.1.1-4.1.2) at a sandbox bank. It reads the HTML
forms the bank serves, as a browser would, so it exercises the same pages a person sees
(and, unchanged, the oidc-provider interop bank's forms too).

The steps are written once as a generator of HTTP requests; :func:`complete_authorization`
(async, ``httpx.AsyncClient``) and :func:`complete_authorization_sync` drive it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from honnin.sandbox.banks.agent import AgentError, AgentResponse, CookieJar, UserAgent
from honnin.sandbox.banks.customers import SANDBOX_PASSWORD
from honnin.sandbox.banks.errors import SandboxBankError

Decision = Literal["allow", "deny"]
MAX_REDIRECTS = 10


class AutomatedUserError(SandboxBankError):
    """The automated customer could not get through the bank's pages."""

    code = "sandbox_user_failed"
    status = 502


@dataclass(slots=True)
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # names of visible text inputs
    buttons: dict[str, list[str]] = field(default_factory=dict)


# The pages are machine-made and small; a tag scanner is an order of magnitude cheaper
# than html.parser, which matters when a benchmark drives hundreds of flows a second.
_TAG = re.compile(
    r"<(/?)(form|input|button)\b([^>]*)>|\bid=\"(error-code|error-description|login-error)\"[^>]*>([^<]*)",
    re.IGNORECASE,
)
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _attributes(text: str) -> dict[str, str]:
    return {
        match.group(1).lower(): html.unescape(next(g for g in match.groups()[1:] if g is not None))
        for match in _ATTRIBUTE.finditer(text)
    }


def parse_forms(page: str) -> tuple[list[HtmlForm], str]:
    """The forms of a page (hidden fields, text inputs, submit buttons) and any error text."""
    forms: list[HtmlForm] = []
    errors: list[str] = []
    inside = False
    for match in _TAG.finditer(page):
        closing, tag, raw, _, error_text = match.groups()
        if tag is None:
            if error_text and error_text.strip():
                errors.append(html.unescape(error_text.strip()))
            continue
        tag = tag.lower()
        if tag == "form":
            inside = not closing
            if inside:
                attributes = _attributes(raw)
                forms.append(
                    HtmlForm(
                        action=attributes.get("action", ""),
                        method=attributes.get("method", "get").lower(),
                    )
                )
            continue
        if not inside or closing:
            continue
        form = forms[-1]
        attributes = _attributes(raw)
        name = attributes.get("name", "")
        if not name:
            continue
        kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
        if kind == "hidden":
            form.fields[name] = attributes.get("value", "")
        elif kind in {"text", "password", "email"}:
            form.inputs.append(name)
        elif kind == "submit":
            form.buttons.setdefault(name, []).append(attributes.get("value", ""))
    return forms, " ".join(errors)


@dataclass(frozen=True, slots=True)
class Step:
    """One HTTP request the user agent makes next."""

    method: str
    url: str
    data: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """What came back: status, absolute URL, Location (absolute) and body text."""

    status: int
    url: str
    location: str | None
    text: str


def _is_authorization_response(url: str) -> bool:
    query = parse_qs(urlsplit(url).query)
    return "code" in query or "error" in query


def _pick_form(forms: list[HtmlForm], *, wants: str) -> HtmlForm | None:
    for form in forms:
        if form.method != "post":
            continue
        if wants == "login" and "password" in form.inputs:
            return form
        if wants == "consent" and not form.inputs and form.buttons:
            return form
    return None


def _consent_choice(form: HtmlForm, decision: Decision) -> dict[str, str]:
    for name, values in form.buttons.items():
        for value in values:
            lowered = value.lower()
            if decision == "allow" and lowered in {"allow", "yes", "consent", "approve"}:
                return {name: value}
            if decision == "deny" and lowered in {"deny", "no", "abort", "cancel", "reject"}:
                return {name: value}
    msg = f"the consent page has no '{decision}' button"
    raise AutomatedUserError(msg)


def authorization_steps(
    authorization_url: str,
    *,
    username: str,
    password: str,
    decision: Decision,
) -> Generator[Step, Page, str]:
    """The user agent's requests from ``authorization_url`` to the client's redirect URI.

    Redirects are followed until a page with a login form is reached (so the flow may
    start at the client, e.g. Honnin's inquiry URL). Returns the authorization response
    URL (``code``/``state``/``iss`` or ``error``) without requesting it.
    """
    page = yield Step("GET", authorization_url)
    logged_in = False
    for _ in range(MAX_REDIRECTS * 2):
        if page.location is not None:
            if _is_authorization_response(page.location):
                return page.location
            page = yield Step("GET", page.location)
            continue
        forms, error_text = parse_forms(page.text)
        if page.status >= 400 and not forms:
            msg = f"the bank answered {page.status}: {error_text or 'no details'}"
            raise AutomatedUserError(msg)
        login = _pick_form(forms, wants="login")
        if login is not None:
            if logged_in:
                raise AutomatedUserError(f"login rejected: {error_text or page.status}")
            data = dict(login.fields)
            login_name = next((n for n in login.inputs if n != "password"), "username")
            data[login_name] = username
            data["password"] = password
            logged_in = True
            page = yield Step("POST", urljoin(page.url, login.action or page.url), data)
            continue
        consent = _pick_form(forms, wants="consent")
        if consent is not None:
            data = dict(consent.fields) | _consent_choice(consent, decision)
            page = yield Step("POST", urljoin(page.url, consent.action or page.url), data)
            continue
        msg = f"unexpected page (status {page.status}): {error_text or 'no form found'}"
        raise AutomatedUserError(msg)
    raise AutomatedUserError("too many pages or redirects")


def _page(response: httpx.Response) -> Page:
    location = response.headers.get("location") if response.is_redirect else None
    url = str(response.url)
    return Page(
        status=response.status_code,
        url=url,
        location=urljoin(url, location) if location else None,
        text=response.text if not location else "",
    )


async def complete_authorization(
    authorization_url: str,
    *,
    username: str,
    password: str = SANDBOX_PASSWORD,
    decision: Decision = "allow",
    http: httpx.AsyncClient | UserAgent | None = None,
) -> str:
    """Log in and decide at the bank; return the client redirect URL the bank chose.

    By default a lean :class:`UserAgent` with a fresh cookie jar (a private browser
    window) is used; pass one ``UserAgent`` to share keep-alive connections between
    many concurrent flows (benchmarks), or an ``httpx.AsyncClient`` (e.g. with an
    ``ASGITransport``, or for ``https://``).
    """
    steps = authorization_steps(
        authorization_url, username=username, password=password, decision=decision
    )
    if isinstance(http, httpx.AsyncClient) or (
        http is None and not authorization_url.startswith("http://")
    ):
        return await _drive_httpx(steps, http)
    agent = http or UserAgent()
    jar = CookieJar()
    try:
        step = next(steps)
        while True:
            response = await agent.request(step.method, step.url, data=step.data, cookies=jar)
            step = steps.send(_agent_page(step.url, response))
    except StopIteration as done:
        return str(done.value)
    except AgentError as exc:
        raise AutomatedUserError(f"HTTP error at the bank: {exc.safe_message}") from exc
    finally:
        if http is None:
            await agent.aclose()


def _agent_page(url: str, response: AgentResponse) -> Page:
    location = response.header("location") if 300 <= response.status < 400 else None
    return Page(
        status=response.status,
        url=url,
        location=urljoin(url, location) if location else None,
        text=response.text if not location else "",
    )


async def _drive_httpx(steps: Generator[Step, Page, str], http: httpx.AsyncClient | None) -> str:
    client = http or httpx.AsyncClient(timeout=10.0)
    try:
        step = next(steps)
        while True:
            response = await client.request(step.method, step.url, data=step.data)
            step = steps.send(_page(response))
    except StopIteration as done:
        return str(done.value)
    except httpx.HTTPError as exc:
        raise AutomatedUserError(f"HTTP error at the bank: {type(exc).__name__}") from exc
    finally:
        if http is None:
            await client.aclose()


def complete_authorization_sync(
    authorization_url: str,
    *,
    username: str,
    password: str = SANDBOX_PASSWORD,
    decision: Decision = "allow",
    http: httpx.Client | None = None,
) -> str:
    """Blocking twin of :func:`complete_authorization`."""
    owned = http is None
    client = http or httpx.Client(timeout=10.0)
    steps = authorization_steps(
        authorization_url, username=username, password=password, decision=decision
    )
    try:
        step = next(steps)
        while True:
            response = client.request(step.method, step.url, data=step.data)
            step = steps.send(_page(response))
    except StopIteration as done:
        return str(done.value)
    except httpx.HTTPError as exc:
        raise AutomatedUserError(f"HTTP error at the bank: {type(exc).__name__}") from exc
    finally:
        if owned:
            client.close()
