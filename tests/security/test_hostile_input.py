"""Hostile strings in form fields come back escaped, and the database holds them as typed.

Property-based: hypothesis sends markup, quotes, scripts, odd Unicode and control characters
into free-text fields of several forms (profile, delivery address, incident message).
"""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings
from markupsafe import escape
from hypothesis import strategies as st

from app.db.tables import DeliveryAddress, Message, User
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import field_error, post_form, sign_in

PAYLOADS = st.sampled_from([
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE app_user; --",
    "{{ 7*7 }}", "{% raw %}", "javascript:alert(1)", "&lt;b&gt;", "</textarea><script>x()</script>",
])
# Each value starts with a mark found nowhere else, so that finding it raw in a page means it went
# out unescaped (a lone '"' or '<' is in every page anyway: hypothesis found that out).
MARK = "Zq9"
HOSTILE = st.one_of(
    PAYLOADS,
    st.builds(lambda a, b: a + b, PAYLOADS, st.text(min_size=1, max_size=20)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
).map(lambda text: MARK + text)
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _assert_escaped(page: str, typed: str) -> None:
    if any(ch in typed for ch in "<>\""):
        assert typed not in page, f"unescaped in the page: {typed!r}"


@EXAMPLES
@given(value=HOSTILE)
async def test_profile_names_are_escaped_and_stored_verbatim(client, value):
    if not await User.exists().where(User.username == "acme_admin"):
        await make_customer("acme")
        await sign_in(client, "acme_admin")
    response = await post_form(client, "/settings/profile", {
        "first_name": value, "last_name": "Martin", "email": "acme_admin@example.com", "username": "acme_admin"})
    stored = (await User.objects().where(User.username == "acme_admin").first()).first_name
    if response.status_code == 303:
        assert stored == value.strip()
        page = (await client.get("/settings/profile")).text
        _assert_escaped(page, stored)
        assert str(escape(stored)) in page  # Jinja's own escaping of the stored value
    else:
        assert response.status_code == 422
        assert field_error(response.text, "first_name"), response.text[:300]
        _assert_escaped(response.text, value)


@EXAMPLES
@given(value=HOSTILE)
async def test_address_fields_are_escaped_and_stored_verbatim(client, value):
    if not await User.exists().where(User.username == "acme_admin"):
        await make_customer("acme")
        await sign_in(client, "acme_admin")
    before = await DeliveryAddress.count()
    response = await post_form(client, "/settings/addresses", {
        "label": value, "recipient_name": value, "street": "1 rue", "city": "Lyon", "postal_code": "69001",
        "country": "France", "email": "a@b.fr", "phone": "0102030405"})
    if response.status_code == 303:
        rows = await DeliveryAddress.objects().order_by(DeliveryAddress.id, ascending=False).limit(1)
        assert rows[0].label == value.strip()
        _assert_escaped((await client.get("/settings/addresses")).text, rows[0].label)
    else:
        assert response.status_code == 422 and await DeliveryAddress.count() == before
        _assert_escaped(response.text, value)


@EXAMPLES
@given(value=HOSTILE)
async def test_messages_are_escaped_for_the_reseller_and_stored_verbatim(client, new_client, value):
    if not await User.exists().where(User.username == "acme_admin"):
        reseller_id = await make_reseller("R1", agent="agent_r1")
        await make_contract(reseller_id, "1001", "NAS0001")
        await make_customer("acme", serial="NAS0001")
        await sign_in(client, "acme_admin")
        await declare(client, "1001")
    number = (await Message.raw("SELECT number FROM incident WHERE number IS NOT NULL LIMIT 1"))[0]["number"]
    response = await post_form(client, f"/incidents/{number}/messages", {"body": value})
    if response.status_code == 303:
        stored = (await Message.objects().order_by(Message.id, ascending=False).first()).body
        assert stored == value.strip()
        agent = new_client()
        await sign_in(agent, "agent_r1")
        _assert_escaped((await agent.get(f"/reseller/incidents/{number}/messages")).text, stored)
    else:
        assert response.status_code == 422
        _assert_escaped(response.text, value)


async def test_nul_bytes_never_reach_postgresql(client):
    """PostgreSQL text cannot hold NUL: searches drop it, forms refuse it beside the field."""
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    refused = await post_form(client, "/login", {"username": "acme\x00admin", "password": "x"})
    assert refused.status_code == 422
    await sign_in(client, "acme_admin")
    assert (await client.get("/contracts", params={"q": "10\x0001"})).status_code == 200
    assert (await client.get("/incidents", params={"status": "\x00"})).status_code == 200
    activation = await post_form(client, "/contracts/activate", {"serial": "NAS\x000001"})
    assert activation.status_code in (303, 422)
    address = await post_form(client, "/settings/addresses", {
        "label": "Dépôt\x00", "street": "1 rue", "city": "Lyon", "postal_code": "69001", "country": "France",
        "email": "a@b.fr", "phone": "0102030405"})
    assert address.status_code == 422
    assert field_error(address.text, "label") == "Ce champ contient des caractères non autorisés."
    agent = await sign_in(client, "agent_r1")
    assert agent.status_code == 303
    assert (await client.get("/reseller/incidents", params={"q": "\x00"})).status_code == 200
