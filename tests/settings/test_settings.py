"""Paramètres (SPEC §3.10): profile and password, company, users and roles, delivery addresses."""

from __future__ import annotations

from app.db.tables import Company, DeliveryAddress, User, UserSession, UserToken
from tests.factories import make_customer
from tests.support import (
    DEFAULT_PASSWORD,
    body_of,
    field_error,
    field_value,
    link_in,
    outbox,
    post_form,
    sign_in,
    text_of,
)

PROFILE = {"first_name": "Alice", "last_name": "Martin", "email": "acme_admin@example.com",
           "phone": "06 12 34 56 78", "username": "acme_admin"}


async def test_tabs_have_their_own_urls_and_fragments(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    assert (await client.get("/settings")).headers["location"] == "/settings/profile"
    for tab, words in {"profile": ("Prénom", "Identifiant", "Enregistrer les modifications"),
                       "company": ("Nom / Raison sociale", "Ville"),
                       "users": ("Nom", "Prénom", "Type", "Identifiant", "acme_basic", "Basique", "Administrateur"),
                       "addresses": ("Intitulé", "Adresse principale", "0123456789")}.items():
        page = await client.get(f"/settings/{tab}")
        assert page.status_code == 200
        for word in words:
            assert word in text_of(page.text), (tab, word)
        if tab == "company":
            assert field_value(page.text, "name") == "Société acme"
        fragment = await client.get(f"/settings/{tab}", headers={"HX-Request": "true", "HX-Target": "settings-tab"})
        assert fragment.text.lstrip().startswith('<div id="settings-tab"')


async def test_profile_is_saved_in_place_with_a_confirmation(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    response = await client.post("/settings/profile", data={**PROFILE, "_csrf_token": client.cookies["csrftoken"]},
                                 headers={"HX-Request": "true", "HX-Target": "settings-tab"})
    assert response.status_code == 200
    assert "Vos informations sont enregistrées." in text_of(response.text)
    user = await User.objects().where(User.id == customer.admin_id).first()
    assert (user.first_name, user.last_name, user.phone) == ("Alice", "Martin", "06 12 34 56 78")
    plain = await post_form(client, "/settings/profile", PROFILE)
    assert plain.headers["location"] == "/settings/profile?saved=profile"


async def test_profile_refusals_keep_values(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    response = await post_form(client, "/settings/profile", {**PROFILE, "first_name": "", "username": "acme_basic"})
    assert response.status_code == 422
    assert field_error(response.text, "first_name") == "Ce champ est obligatoire."
    assert "déjà utilisé" in field_error(response.text, "username")
    assert 'value="Martin"' in response.text


async def test_changing_the_email_asks_for_the_current_password(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    refused = await post_form(client, "/settings/profile", {**PROFILE, "email": "new@acme.example"})
    assert refused.status_code == 422
    assert "mot de passe actuel" in field_error(refused.text, "confirm_password")
    assert (await User.objects().where(User.id == customer.admin_id).first()).email == "acme_admin@example.com"
    accepted = await post_form(client, "/settings/profile", {**PROFILE, "email": "new@acme.example",
                                                             "confirm_password": DEFAULT_PASSWORD})
    assert accepted.status_code == 303
    assert (await User.objects().where(User.id == customer.admin_id).first()).email == "new@acme.example"


async def test_password_change_ends_the_other_sessions_only(client, new_client):
    customer = await make_customer("acme")
    other = new_client()
    await sign_in(other, "acme_admin")
    await sign_in(client, "acme_admin")
    refused = await post_form(client, "/settings/password", {"current_password": "wrong one here",
                                                             "password": "short", "password_confirm": "short"})
    assert refused.status_code == 422
    assert field_error(refused.text, "current_password") == "Mot de passe actuel incorrect."
    assert "au moins 12 caractères" in field_error(refused.text, "password")
    mismatch = await post_form(client, "/settings/password", {"current_password": DEFAULT_PASSWORD,
                                                              "password": "a brand new passphrase",
                                                              "password_confirm": "another passphrase"})
    assert field_error(mismatch.text, "password_confirm") == "Les deux mots de passe ne sont pas identiques."
    response = await post_form(client, "/settings/password", {"current_password": DEFAULT_PASSWORD,
                                                              "password": "a brand new passphrase",
                                                              "password_confirm": "a brand new passphrase"})
    assert response.status_code == 303
    assert (await client.get("/settings/profile")).status_code == 200  # this session stays
    assert (await other.get("/contracts")).status_code == 303  # the other one was ended
    assert await UserSession.count().where(UserSession.user == customer.admin_id) == 1
    assert (await sign_in(new_client(), "acme_admin", "a brand new passphrase")).status_code == 303


async def test_a_password_change_is_told_to_the_user_by_email(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    refused = await post_form(client, "/settings/password", {"current_password": "wrong one here",
                                                             "password": "a brand new passphrase",
                                                             "password_confirm": "a brand new passphrase"})
    assert refused.status_code == 422 and outbox() == []
    changed = await post_form(client, "/settings/password", {"current_password": DEFAULT_PASSWORD,
                                                             "password": "a brand new passphrase",
                                                             "password_confirm": "a brand new passphrase"})
    assert changed.status_code == 303
    [notice] = outbox()
    assert (notice["To"], notice["Subject"]) == ("acme_admin@example.com", "Votre mot de passe a été changé")
    body = body_of(notice)
    assert "Le mot de passe de l'identifiant « acme_admin » vient d'être changé depuis Paramètres > Profil" in body
    assert "Si vous n'êtes pas à l'origine de ce changement" in body
    assert "http://testserver/password/forgot" in body
    assert "a brand new passphrase" not in body and DEFAULT_PASSWORD not in body


async def test_an_email_change_is_told_to_the_old_address(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    assert (await post_form(client, "/settings/profile", PROFILE)).status_code == 303  # same address
    assert outbox() == []
    changed = await post_form(client, "/settings/profile", {**PROFILE, "email": "alice@acme.example",
                                                            "confirm_password": DEFAULT_PASSWORD})
    assert changed.status_code == 303
    [notice] = outbox()
    assert (notice["To"], notice["Subject"]) == ("acme_admin@example.com", "Votre adresse e-mail a été changée")
    body = body_of(notice)
    assert "Bonjour Alice," in body
    assert "L'adresse e-mail de l'identifiant « acme_admin » vient d'être changée en alice@acme.example." in body
    assert "prévenez sans attendre un administrateur" in body
    assert DEFAULT_PASSWORD not in body


async def test_an_administrator_changing_a_users_email_tells_the_old_address(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    edited = await post_form(client, f"/settings/users/{customer.basic_id}", {
        "first_name": "Basic", "last_name": "acme", "role": "basic", "email": "basic@acme.example",
        "username": "acme_basic"})
    assert edited.status_code == 303
    [notice] = outbox()
    assert (notice["To"], notice["Subject"]) == ("acme_basic@example.com", "Votre adresse e-mail a été changée")
    assert ("vient d'être changée par un administrateur de votre société en basic@acme.example."
            in body_of(notice))
    # an invitation still pending: its mistyped address is corrected without writing to it
    await post_form(client, "/settings/users", {"first_name": "Bob", "last_name": "D", "role": "basic",
                                                "email": "bob@acme.exmaple", "username": "bob"})
    bob = await User.objects().where(User.username == "bob").first()
    assert len(outbox()) == 2
    fixed = await post_form(client, f"/settings/users/{bob.id}", {
        "first_name": "Bob", "last_name": "D", "role": "basic", "email": "bob@acme.example", "username": "bob"})
    assert fixed.status_code == 303
    assert [m["To"] for m in outbox()] == ["acme_basic@example.com", "bob@acme.exmaple"]


async def test_company_is_edited_by_an_administrator(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    values = {"name": "ACME SAS", "email": "contact@acme.example", "phone": "04 00 00 00 00", "street": "2 rue Neuve",
              "complement": "", "city": "Lyon", "postal_code": "69002", "country": "France"}
    assert (await post_form(client, "/settings/company", values)).status_code == 303
    company = await Company.objects().where(Company.id == customer.company_id).first()
    assert (company.name, company.street) == ("ACME SAS", "2 rue Neuve")
    refused = await post_form(client, "/settings/company", {**values, "email": "nope", "postal_code": ""})
    assert field_error(refused.text, "email").startswith("Adresse e-mail invalide")
    assert field_error(refused.text, "postal_code") == "Ce champ est obligatoire."
    assert 'value="ACME SAS"' in refused.text


async def test_new_user_is_invited_by_email_and_chooses_a_password(client, new_client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    response = await post_form(client, "/settings/users", {
        "first_name": "Bob", "last_name": "Durand", "role": "basic", "email": "bob@acme.example",
        "phone": "", "username": "bob.durand"})
    assert response.status_code == 303
    bob = await User.objects().where(User.username == "bob.durand").first()
    assert (bob.role, bob.company, bob.password_hash) == ("basic", customer.company_id, None)
    listing = text_of((await client.get("/settings/users")).text)
    assert "Durand Bob Basique bob.durand" in listing and "Invitation envoyée" in listing
    message = outbox()[-1]
    assert message["To"] == "bob@acme.example"
    link = link_in(message)
    token = await UserToken.objects().where(UserToken.user == bob.id).first()
    assert token.kind == "invitation"
    assert (token.expires_at - token.created_at).total_seconds() == 72 * 3600
    invited = new_client()
    path = link.split("testserver", 1)[1]
    page = await invited.get(path)
    assert "Bienvenue : choisissez votre mot de passe" in text_of(page.text)
    chosen = await post_form(invited, path, {"password": "bob's own passphrase", "password_confirm": "bob's own passphrase"})
    assert chosen.status_code == 303
    assert (await sign_in(invited, "bob.durand", "bob's own passphrase")).status_code == 303
    assert len(outbox()) == 1  # a first password is no change to warn of
    assert (await post_form(new_client(), path, {"password": "another passphrase!", "password_confirm": "another passphrase!"})).status_code == 410


async def test_new_user_refusals(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    response = await post_form(client, "/settings/users", {"first_name": "", "last_name": "X", "role": "owner",
                                                           "email": "x", "username": "ACME_BASIC"})
    assert response.status_code == 422
    assert field_error(response.text, "first_name") == "Ce champ est obligatoire."
    assert field_error(response.text, "role") == "Choisissez Administrateur ou Basique."
    assert field_error(response.text, "email").startswith("Adresse e-mail invalide")
    assert "déjà utilisé" in field_error(response.text, "username")
    assert await User.count() == 2 and outbox() == []


async def test_resend_invitation_invalidates_the_first_link(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    await post_form(client, "/settings/users", {"first_name": "Bob", "last_name": "D", "role": "basic",
                                                "email": "bob@acme.example", "username": "bob"})
    bob = await User.objects().where(User.username == "bob").first()
    first = link_in(outbox()[-1])
    assert (await post_form(client, f"/settings/users/{bob.id}/invitation")).status_code == 303
    second = link_in(outbox()[-1])
    assert first != second
    assert (await client.get(first.split("testserver", 1)[1])).status_code == 410
    assert (await client.get(second.split("testserver", 1)[1])).status_code == 200


async def test_edit_user_and_change_type(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    form = (await client.get(f"/settings/users/{customer.basic_id}")).text
    assert 'value="acme_basic"' in form
    response = await post_form(client, f"/settings/users/{customer.basic_id}", {
        "first_name": "Basic", "last_name": "acme", "role": "admin", "email": "acme_basic@example.com",
        "username": "acme_basic"})
    assert response.status_code == 303
    assert (await User.objects().where(User.id == customer.basic_id).first()).role == "admin"


async def test_last_active_administrator_can_be_neither_demoted_nor_deactivated(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    demote = await post_form(client, f"/settings/users/{customer.admin_id}", {
        "first_name": "Admin", "last_name": "acme", "role": "basic", "email": "acme_admin@example.com",
        "username": "acme_admin"})
    assert demote.status_code == 422
    assert field_error(demote.text, "role") == "Votre société doit garder au moins un administrateur actif."
    deactivate = await post_form(client, f"/settings/users/{customer.admin_id}/deactivate")
    assert deactivate.status_code == 422
    assert "au moins un administrateur actif" in text_of(deactivate.text)
    admin = await User.objects().where(User.id == customer.admin_id).first()
    assert (admin.role, admin.is_active) == ("admin", True)


async def test_deactivated_user_session_stops_working_at_once(client, new_client):
    customer = await make_customer("acme")
    basic = new_client()
    await sign_in(basic, "acme_basic")
    assert (await basic.get("/contracts")).status_code == 200
    await sign_in(client, "acme_admin")
    assert (await post_form(client, f"/settings/users/{customer.basic_id}/deactivate")).status_code == 303
    assert (await basic.get("/contracts")).status_code == 303
    assert (await sign_in(new_client(), "acme_basic")).status_code == 422
    assert "Désactivé" in text_of((await client.get("/settings/users")).text)
    assert (await post_form(client, f"/settings/users/{customer.basic_id}/reactivate")).status_code == 303
    assert (await sign_in(new_client(), "acme_basic")).status_code == 303


async def test_addresses_create_edit_default_and_archive(client):
    customer = await make_customer("acme")
    await sign_in(client, "acme_admin")
    values = {"label": "Agence Paris", "recipient_name": "IT", "street": "5 rue de Rivoli", "complement": "",
              "city": "Paris", "postal_code": "75001", "country": "France", "email": "it@acme.example",
              "phone": "01 02 03 04 05"}
    assert (await post_form(client, "/settings/addresses", values)).status_code == 303
    paris = await DeliveryAddress.objects().where(DeliveryAddress.label == "Agence Paris").first()
    assert paris.is_default is False
    refused = await post_form(client, "/settings/addresses", {**values, "street": "", "phone": "abc"})
    assert field_error(refused.text, "street") == "Ce champ est obligatoire."
    assert field_error(refused.text, "phone").startswith("Numéro de téléphone invalide")
    assert await DeliveryAddress.count() == 2
    assert (await post_form(client, f"/settings/addresses/{paris.id}", {**values, "city": "Paris 1er"})).status_code == 303
    main = await DeliveryAddress.objects().where(DeliveryAddress.label == "Adresse principale").first()
    refused = await post_form(client, f"/settings/addresses/{main.id}/archive")
    assert refused.status_code == 422 and "autre adresse par défaut" in text_of(refused.text)
    assert (await post_form(client, f"/settings/addresses/{paris.id}/default")).status_code == 303
    assert (await post_form(client, f"/settings/addresses/{main.id}/archive")).status_code == 303
    rows = {a.label: a for a in await DeliveryAddress.objects().where(DeliveryAddress.company == customer.company_id)}
    assert rows["Agence Paris"].is_default and rows["Agence Paris"].city == "Paris 1er"
    assert rows["Adresse principale"].archived_at is not None


async def test_another_companys_user_and_address_are_404(client):
    await make_customer("acme")
    rival = await make_customer("rival")
    await sign_in(client, "acme_admin")
    address = await DeliveryAddress.objects().where(DeliveryAddress.company == rival.company_id).first()
    assert (await client.get(f"/settings/users/{rival.admin_id}")).status_code == 404
    assert (await post_form(client, f"/settings/users/{rival.admin_id}/deactivate")).status_code == 404
    assert (await client.get(f"/settings/addresses/{address.id}")).status_code == 404
    assert (await post_form(client, f"/settings/addresses/{address.id}/archive")).status_code == 404
    assert "rival" not in text_of((await client.get("/settings/users")).text)
    assert (await User.objects().where(User.id == rival.admin_id).first()).is_active


async def test_basic_user_sees_no_write_control_anywhere(client):
    from tests.factories import make_contract, make_reseller

    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_basic")
    pages = [(await client.get(url)).text for url in (
        "/contracts", "/contracts/1001", "/settings/company", "/settings/users", "/settings/addresses")]
    joined = " ".join(text_of(page) for page in pages)
    for control in ("Activer mon contrat", "Déclarer un incident", "Nouvel utilisateur", "Nouvelle adresse",
                    "Modifier", "Archiver", "Enregistrer les modifications"):
        assert control not in joined, control
    profile = text_of((await client.get("/settings/profile")).text)
    assert "Enregistrer les modifications" in profile and "Changer le mot de passe" in profile
