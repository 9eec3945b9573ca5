"""Every admin action refuses everyone else, at the POST itself and not only on the page.

Each POST is sent directly, with a valid CSRF token (so the refusal is the admin check, not the
CSRF check), by a signed-in member, a moderator and an anonymous visitor: 403, and nothing
changes. These test HTTP rules, not storage, so they run on SQLite only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fediverse.services import invites, registration, roles
from fediverse.services.actors import NewUser, create_user
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, Browser, browser, csrf_of, signed_in

# Every POST of the admin pages, with fields that would change something if they were obeyed.
ADMIN_POSTS = [
    ("/admin/registrations/mode", {"mode": "open"}),
    ("/admin/registrations/approve", {"username": "ada"}),
    ("/admin/registrations/reject", {"username": "ada"}),
    ("/admin/registrations/invites", {"who": "members", "per_member": "50"}),
]


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """Override the two-engine fixture: nothing here depends on the engine."""
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await registration.set_mode(instance.ctx, "approval")
    await registration.apply(
        instance.ctx,
        registration.Application(username="ada", email="ada@example.org", password=PASSWORD),
    )
    return instance


async def _state(site: Instance) -> tuple[str, list[str], invites.InvitePolicy]:
    """Return what the admin actions change: the mode, who waits, and who may invite."""
    pending = [request.username for request in await registration.list_pending(site.ctx)]
    return await registration.get_mode(site.ctx), pending, await invites.get_policy(site.ctx)


async def _refused_everywhere(site: Instance, person: Browser, token: str) -> None:
    before = await _state(site)
    assert before == ("approval", ["ada"], invites.InvitePolicy())
    for action, fields in ADMIN_POSTS:
        answer = await person.client.post(action, data={"csrf_token": token, **fields})
        assert answer.status_code == 403, (action, answer.status_code, answer.text)
        assert "Only admins" in answer.text
        assert await _state(site) == before, action


@pytest.mark.parametrize("role", ["member", "moderator"])
async def test_a_member_or_moderator_is_refused_every_admin_post(
    net: FakeNet, site: Instance, role: str
) -> None:
    await create_user(site.ctx, NewUser(username="member", password=PASSWORD))
    await roles.set_role(site.ctx, "member", role)
    async with signed_in(net, site, "member", create=False) as member:
        token = csrf_of((await member.get("/settings/profile")).text)
        await _refused_everywhere(site, member, token)


async def test_an_anonymous_visitor_is_refused_every_admin_post(
    net: FakeNet, site: Instance
) -> None:
    async with browser(net, site) as visitor:
        # The sign-in form's token and cookie: a valid pair for someone not signed in.
        token = csrf_of((await visitor.get("/sign-in")).text)
        await _refused_everywhere(site, visitor, token)


async def test_the_same_posts_work_for_an_admin(net: FakeNet, site: Instance) -> None:
    """The control: the fields above do change things when an admin sends them."""
    await create_user(site.ctx, NewUser(username="root_ann", password=PASSWORD, is_admin=True))
    async with signed_in(net, site, "root_ann", create=False) as admin:
        token = csrf_of((await admin.get("/admin/registrations")).text)
        for action, fields in ADMIN_POSTS[:2] + ADMIN_POSTS[3:]:
            answer = await admin.client.post(action, data={"csrf_token": token, **fields})
            assert answer.status_code == 303, (action, answer.text)
    assert await _state(site) == ("open", [], invites.InvitePolicy("members", 50))
