"""The bell without a stream: badge, side panel, notifications page, opening and reading."""

from __future__ import annotations

from app.db.tables import Incident, Notification
from app.notifications.services import notify
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import post_form, sign_in, text_of


async def _customer_with_notifications(client, count: int = 2):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    customer = await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_admin")
    number = await declare(client, "1001")
    incident = await Incident.objects().where(Incident.number == number).first()
    ids = []
    for index in range(count):
        ids += await notify([customer.admin_id, customer.basic_id], kind="new_status" if index else "new_message",
                            title=f"[Nouveau statut] Incident n. {number}" if index else
                            f"[Nouveau message] Incident n. {number}",
                            body="Cet incident a été résolu." if index else "Bonjour", incident_id=incident.id)
    return customer, number, ids


async def test_badge_counts_unread_notifications_on_every_page(client):
    await _customer_with_notifications(client)
    page = (await client.get("/contracts")).text
    assert '<span class="bell-count" aria-hidden="true">2</span>' in page
    assert "2 notifications non lues" in text_of(page)
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert "2 notifications non lues" in text_of(badge.text)


async def test_panel_lists_newest_first_with_title_sentence_and_time(client):
    _, number, _ = await _customer_with_notifications(client)
    panel = await client.get("/notifications/panel", headers={"HX-Request": "true", "HX-Target": "notification-panel"})
    text = text_of(panel.text)
    assert panel.text.lstrip().startswith('<aside id="notification-panel"')
    assert text.index("[Nouveau statut]") < text.index("[Nouveau message]")
    assert f"[Nouveau statut] Incident n. {number} Cet incident a été résolu." in text
    assert "Tout marquer comme lu" in text


async def test_opening_a_notification_marks_it_read_and_lands_on_the_right_tab(client):
    customer, number, ids = await _customer_with_notifications(client)
    message_note, status_note = ids[0], ids[2]  # the admin's rows (the basic user has the others)
    response = await post_form(client, f"/notifications/{message_note}/open")
    assert response.headers["location"] == f"/incidents/{number}/messages"
    response = await post_form(client, f"/notifications/{status_note}/open")
    assert response.headers["location"] == f"/incidents/{number}"
    unread = await Notification.count().where(
        (Notification.recipient == customer.admin_id) & Notification.read_at.is_null())
    assert unread == 0
    assert await Notification.count().where(
        (Notification.recipient == customer.basic_id) & Notification.read_at.is_null()) == 2


async def test_someone_elses_notification_is_404(client):
    customer, _, ids = await _customer_with_notifications(client)
    basic_row = ids[1]
    assert (await post_form(client, f"/notifications/{basic_row}/open")).status_code == 404
    assert (await Notification.objects().where(Notification.id == basic_row).first()).read_at is None


async def test_mark_everything_read_and_the_page_without_javascript(client):
    customer, _, _ = await _customer_with_notifications(client, count=3)
    page = text_of((await client.get("/notifications")).text)
    assert page.count("non lue") >= 3 and "Tout marquer comme lu" in page
    response = await post_form(client, "/notifications/read")
    assert response.headers["location"] == "/notifications"
    assert await Notification.count().where(
        (Notification.recipient == customer.admin_id) & Notification.read_at.is_null()) == 0
    page = (await client.get("/contracts")).text
    assert "bell-count" not in page and "Aucune notification non lue" in text_of(page)


async def test_stream_without_a_session_answers_204(client):
    response = await client.get("/notifications/stream")
    assert response.status_code == 204


async def test_one_notice_reaches_thousands_of_users_in_one_statement():
    """Past ~3,600 recipients a row of bound parameters per recipient hits asyncpg's 32,767."""
    customer = await make_customer("acme")
    await Notification.raw(
        """INSERT INTO app_user (company, role, first_name, last_name, email, username)
           SELECT {}, 'basic', 'Prénom', 'Nom ' || n, 'u' || n || '@example.com', 'user_' || n
           FROM generate_series(1, 5000) AS n""",
        customer.company_id,
    )
    users = [row["id"] for row in await Notification.raw("SELECT id FROM app_user ORDER BY id")]
    ids = await notify([*users, users[0]], kind="announcement", title="Maintenance samedi")
    assert len(ids) == len(users) == 5002  # one each, the repeated recipient once
    rows = await Notification.raw(
        "SELECT recipient, title, read_at FROM notification ORDER BY id")
    assert [row["recipient"] for row in rows] == users  # in the order given
    assert {(row["title"], row["read_at"]) for row in rows} == {("Maintenance samedi", None)}


async def test_the_stream_renders_each_notice_once_and_exactly_as_the_template(app):
    from dataclasses import replace
    from datetime import datetime, timezone

    from app.notifications.controllers import _stream_renderer
    from app.notifications.services import NotificationView

    engine = app.template_engine
    item, badge = engine.get_template("notifications/_item.html"), engine.get_template("notifications/_badge.html")
    renderer = _stream_renderer(app)
    when = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    base = NotificationView(id=1, kind="new_message", title='Réponse <b>"urgente"</b> & 888', body="Corps 1",
                            created_at=when, read_at=None, incident_number="26112701", contract_number="1001")
    planted = replace(base, title=f"{renderer.csrf_stand_in} {renderer.id_stand_in}", body=str(renderer.id_stand_in))
    for view, csrf in ((base, "tok-A"), (replace(base, id=987654), "tok-B"), (replace(base, read_at=when), "x'\"<"),
                       (planted, "tok-C")):
        assert renderer.item(view, csrf) == item.render(n=view, csrf=csrf)
    for count in (0, 1, 2, 99, 100, 1234):
        assert renderer.badge(count) == badge.render(count=count)
    renderer._item_shape.cache_clear()
    for number in range(1, 1001):  # a broadcast: a thousand rows of one notice
        renderer.item(replace(base, id=number), f"token-{number}")
    assert renderer._item_shape.cache_info().misses == 1
