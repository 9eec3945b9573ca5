"""Web pages: joining in every registration mode, the waitlist status page, invite links, and
the admin's registration desk."""

from __future__ import annotations

import re

import pytest

from fediverse.services import invites, registration
from fediverse.services.actors import NewUser, create_user
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, signed_in, text_of


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    return await net.add_instance("a.test")


def _application(name: str, **extra: str) -> dict[str, str]:
    return {"username": name, "email": f"{name}@example.org", "password": PASSWORD, **extra}


async def test_the_waitlist_shows_each_applicant_their_place(net: FakeNet, site: Instance) -> None:
    await registration.set_mode(site.ctx, "approval")
    async with browser(net, site) as first, browser(net, site) as second:
        form = await first.get("/join")
        assert "Why would you like to join?" in form.text
        applied = await first.submit(
            "/join", "/join", _application("ada", reason="I build hospital data systems.")
        )
        assert applied.status_code == 303
        status_url = applied.headers["Location"]
        assert status_url.startswith("/join/status/")
        waiting = await first.get(status_url)
        assert "You are on the waitlist" in waiting.text
        assert re.search(r'class="place-number">1<', waiting.text)
        other = await second.submit("/join", "/join", _application("grace", reason="Hello."))
        second_status = await second.get(other.headers["Location"])
        assert re.search(r'class="place-number">2<', second_status.text)
        assert "1 person is ahead of you" in text_of(second_status.text)

        # Not yet approved: no account to sign in to.
        refused = await first.submit(
            "/sign-in", "/sign-in", {"username": "ada", "password": PASSWORD}
        )
        assert refused.status_code == 401

        await registration.approve(site.ctx, "ada")
        approved = await first.get(status_url)
        assert "Welcome aboard!" in approved.text
        await first.sign_in("ada")
        assert "You are next in line" in text_of((await second.get(other.headers["Location"])).text)


async def test_a_refused_application_keeps_what_was_typed(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="taken", password=PASSWORD))
    async with browser(net, site) as person:
        answer = await person.submit(
            "/join", "/join", _application("taken", reason="I would like to take part.")
        )
        assert answer.status_code == 409
        assert "already taken" in text_of(answer.text)
        assert 'value="taken@example.org"' in answer.text
        assert "I would like to take part." in answer.text


async def test_open_mode_signs_up_and_signs_in_at_once(net: FakeNet, site: Instance) -> None:
    await registration.set_mode(site.ctx, "open")
    async with browser(net, site) as person:
        form = await person.get("/join")
        assert "Why would you like to join?" not in form.text
        answer = await person.submit("/join", "/join", _application("ada"))
        assert answer.headers["Location"] == "/settings/profile?welcome=1"
        welcome = await person.get(answer.headers["Location"])
        assert welcome.status_code == 200
        assert "Welcome to" in welcome.text


async def test_invite_links_admit_their_holders_until_used_up(net: FakeNet, site: Instance) -> None:
    await registration.set_mode(site.ctx, "invite")
    # Members may invite only when the admin allows it (the default is moderators and admins).
    await invites.set_policy(site.ctx, who="members")
    async with browser(net, site) as stranger:
        page = await stranger.get("/join")
        assert "Joining is by invitation" in page.text
        assert 'name="password"' not in page.text
    async with signed_in(net, site, "alice") as alice:
        made = await alice.submit("/invites", "/invites", {"max_uses": "1", "expires_in": "7"})
        assert made.status_code == 200
        link = re.search(r'id="invite-link" class="copy-field" value="([^"]+)"', made.text)
        assert link is not None
    path = link.group(1).removeprefix(site.base_url)
    assert path.startswith("/join?invite=")
    async with browser(net, site) as invited:
        form = await invited.get(path)
        assert "You have an invite" in form.text
        answer = await invited.submit(path, "/join", {
            **_application("bea"), "invite": path.split("=", 1)[1],
        })  # fmt: skip
        assert answer.headers["Location"] == "/settings/profile?welcome=1"
    async with browser(net, site) as late:
        again = await late.get(path)
        assert "has been used up" in text_of(again.text)
        assert 'name="invite"' not in again.text


async def test_closed_mode_says_so(net: FakeNet, site: Instance) -> None:
    await registration.set_mode(site.ctx, "closed")
    async with browser(net, site) as person:
        page = await person.get("/join")
        assert "Registrations are closed" in page.text
        assert 'name="password"' not in page.text
        landing = await person.get("/")
        assert "Registrations are closed" in landing.text


async def test_the_registration_desk_is_for_admins(net: FakeNet, site: Instance) -> None:
    await registration.set_mode(site.ctx, "approval")
    async with browser(net, site) as applicant:
        await applicant.submit("/join", "/join", _application("ada", reason="Data engineer."))
    async with signed_in(net, site, "member") as member:
        assert (await member.get("/admin/registrations")).status_code == 403
    await create_user(site.ctx, NewUser(username="admin_ann", password=PASSWORD, is_admin=True))
    async with signed_in(net, site, "admin_ann", create=False) as admin:
        desk = await admin.get("/admin/registrations")
        assert "Data engineer." in desk.text
        approved = await admin.submit(
            "/admin/registrations", "/admin/registrations/approve", {"username": "ada"}
        )
        assert approved.status_code == 303
        assert "Nobody is waiting." in (await admin.get("/admin/registrations")).text
        await admin.submit("/admin/registrations", "/admin/registrations/mode", {"mode": "open"})
    assert await registration.get_mode(site.ctx) == "open"
    async with browser(net, site) as ada:
        await ada.sign_in("ada")
