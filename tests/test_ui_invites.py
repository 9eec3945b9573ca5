"""The invites page and the admin's invite policy, as a browser sees them: a member makes no
invite unless the admin allows it, a hand-made POST gets no more than the form offers, invites
are listed (an admin sees everyone's) and revoked. The storage rules behind them are tested on
both engines in test_invites.py; these run on SQLite only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fediverse.services import invites, registration, roles
from fediverse.services.actors import NewUser, create_user
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, csrf_of, signed_in, text_of


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """Override the two-engine fixture: these test pages, not storage."""
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await registration.set_mode(instance.ctx, "approval")
    return instance


def _link_of(page: str) -> str:
    match = re.search(r'id="invite-link" class="copy-field" value="([^"]+)"', page)
    assert match, "no invite link on the page"
    return match.group(1)


async def test_by_default_a_member_cannot_mint_invites(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "mia") as mia:
        page = await mia.get("/invites")
        assert page.status_code == 200
        assert "Moderators and admins can invite people here" in text_of(page.text)
        assert 'action="/invites"' not in page.text
        # The form is not shown; a hand-made POST with a valid token is refused all the same.
        token = csrf_of(page.text)
        forged = await mia.client.post(
            "/invites", data={"csrf_token": token, "max_uses": "unlimited", "expires_in": "never"}
        )
        assert forged.status_code == 403
        assert "Moderators and admins can invite people here" in text_of(forged.text)
    assert await invites.list_invites(site.ctx) == []


async def test_a_member_allowed_to_invite_gets_only_the_offered_choices(
    net: FakeNet, site: Instance
) -> None:
    await invites.set_policy(site.ctx, who="members", per_member=2)
    async with signed_in(net, site, "mia") as mia:
        page = await mia.get("/invites")
        assert 'value="unlimited"' not in page.text and 'value="never"' not in page.text
        assert "Members can have 2 usable invite links at a time; you have 0." in text_of(page.text)
        for uses, expiry in (("unlimited", "7"), ("1", "never"), ("1000", "7"), ("1", "3650")):
            refused = await mia.submit(
                "/invites", "/invites", {"max_uses": uses, "expires_in": expiry}
            )
            assert refused.status_code == 422, (uses, expiry)
            assert "Choose how" in text_of(refused.text)
        assert await invites.list_invites(site.ctx) == []

        made = await mia.submit("/invites", "/invites", {"max_uses": "5", "expires_in": "30"})
        assert made.status_code == 200
        link = _link_of(made.text)
        await mia.submit("/invites", "/invites", {"max_uses": "1", "expires_in": "1"})
        over = await mia.submit("/invites", "/invites", {"max_uses": "1", "expires_in": "1"})
        assert over.status_code == 403
        assert "already have 2 usable invite links" in text_of(over.text)
        listed = text_of((await mia.get("/invites")).text)
        assert "Your invites (2)" in listed and "used by 0 of 5" in listed
    async with browser(net, site) as invited:
        form = await invited.get(link.removeprefix(site.base_url))
        assert "You have an invite" in form.text


async def test_invites_are_listed_and_revoked(net: FakeNet, site: Instance) -> None:
    await invites.set_policy(site.ctx, who="members")
    await create_user(site.ctx, NewUser(username="ann", password=PASSWORD, is_admin=True))
    async with signed_in(net, site, "mia") as mia, signed_in(net, site, "max") as other:
        made = await mia.submit("/invites", "/invites", {"max_uses": "1", "expires_in": "7"})
        path = _link_of(made.text).removeprefix(site.base_url)
        [invite] = await invites.list_invites(site.ctx)
        # Another member sees nothing of it and cannot revoke it.
        assert "Your invites (0)" in text_of((await other.get("/invites")).text)
        refused = await other.submit("/invites", f"/invites/{invite.id}/revoke")
        assert refused.status_code == 404
        # The admin sees everyone's, with who made them.
        async with signed_in(net, site, "ann", create=False) as ann:
            everything = text_of((await ann.get("/invites")).text)
            assert "Every invite (1)" in everything and "by @mia" in everything
        page = await mia.get("/invites")
        assert f'action="/invites/{invite.id}/revoke"' in page.text
        revoked = await mia.submit("/invites", f"/invites/{invite.id}/revoke")
        assert revoked.status_code == 303
        after = text_of((await mia.get(revoked.headers["Location"])).text)
        assert "The invite was revoked" in after and "Revoked" in after
    async with browser(net, site) as late:
        gone = await late.get(path)
        assert "This invite link was withdrawn" in text_of(gone.text)
        assert 'name="invite"' not in gone.text


async def test_the_admin_sets_who_may_invite(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="ann", password=PASSWORD, is_admin=True))
    async with signed_in(net, site, "ann", create=False) as ann:
        assert (await ann.get("/admin")).headers["Location"] == "/admin/registrations"
        desk = await ann.get("/admin/registrations")
        assert 'id="who-moderators" name="who" value="moderators" checked' in desk.text
        assert 'name="per_member" type="number" min="0" max="100" value="3"' in desk.text
        saved = await ann.submit(
            "/admin/registrations",
            "/admin/registrations/invites",
            {"who": "members", "per_member": "5"},
        )
        assert saved.status_code == 303
        for bad in ({"who": "anyone", "per_member": "5"}, {"who": "members", "per_member": "x"},
                    {"who": "members", "per_member": "500"}):  # fmt: skip
            refused = await ann.submit("/admin/registrations", "/admin/registrations/invites", bad)
            assert refused.status_code == 422, bad
    assert await invites.get_policy(site.ctx) == invites.InvitePolicy("members", 5)
    await roles.set_role(site.ctx, "ann", "moderator")
    async with signed_in(net, site, "ann", create=False) as moderator:
        assert (await moderator.get("/admin/registrations")).status_code == 403
