"""Invite links under the admin's policy: who may make them, the choices they may have, the
per-member cap (also under concurrent requests), revocation, and roles. Counting usable links
and racing for them are storage semantics, so these run on both engines."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from fediverse.errors import Forbidden, NotFound, Unprocessable
from fediverse.services import auth, invites, registration, roles
from fediverse.services.actors import NewUser, create_user
from fediverse.services.auth import SignedIn
from fediverse.store.engine import create_engine
from fediverse.store.tables import Actor, Invite, User
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance

PASSWORD = "a long password"


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    for name, role in (("mia", "member"), ("mo", "moderator"), ("ann", "admin")):
        await create_user(instance.ctx, NewUser(username=name))
        await roles.set_role(instance.ctx, name, role)
    return instance


async def person(site: Instance, name: str) -> SignedIn:
    """Return someone as a session would describe them (role and all, read from the store);
    sessions themselves are tested elsewhere, and passwords would only cost time here."""
    async with site.ctx.sessions() as session:
        user, actor = (
            await session.execute(
                select(User, Actor)
                .join(Actor, Actor.id == User.actor_id)
                .where(Actor.username == name)
            )
        ).one()
    return SignedIn(
        session_id=0, user_id=user.id, actor_id=actor.id, username=name,
        is_admin=user.is_admin, csrf_token="", role=user.role,
    )  # fmt: skip


def application(name: str, code: str) -> registration.Application:
    return registration.Application(
        username=name, email=f"{name}@example.org", password=PASSWORD, invite_code=code
    )


async def test_who_may_invite_is_the_admins_choice(site: Instance) -> None:
    ctx = site.ctx
    mia, mo, ann = [await person(site, name) for name in ("mia", "mo", "ann")]
    # The default: moderators and admins.
    assert await invites.get_policy(ctx) == invites.InvitePolicy("moderators", 3)
    with pytest.raises(Forbidden, match="Moderators and admins can invite"):
        await invites.invite_as(ctx, mia, uses="1", expires="7")
    assert await invites.invite_as(ctx, mo, uses="1", expires="7")
    assert await invites.invite_as(ctx, ann, uses="unlimited", expires="never")

    await invites.set_policy(ctx, who="admins")
    with pytest.raises(Forbidden, match="Only admins"):
        await invites.invite_as(ctx, mo, uses="1", expires="7")
    await invites.set_policy(ctx, who="members", per_member=2)
    code = await invites.invite_as(ctx, mia, uses="5", expires="30")
    await registration.set_mode(ctx, "approval")
    assert (await registration.apply(ctx, application("newcomer", code))).status == "created"

    with pytest.raises(Unprocessable, match="one of admins, moderators, members"):
        await invites.set_policy(ctx, who="everyone")
    with pytest.raises(Unprocessable, match="from 0 to 100"):
        await invites.set_policy(ctx, per_member=101)
    assert await invites.get_policy(ctx) == invites.InvitePolicy("members", 2)


BAD_MEMBER_CHOICES = [("999", "7"), ("0", "7"), ("-1", "7"), ("", "7"), ("1", "365"), ("1", "0"),
                      ("1", ""), ("unlimited", "7"), ("1", "never"), ("1.0", "7")]  # fmt: skip


async def test_a_member_gets_only_the_choices_the_form_offers(site: Instance) -> None:
    ctx = site.ctx
    await invites.set_policy(ctx, who="members")
    mia = await person(site, "mia")
    for uses, expires in BAD_MEMBER_CHOICES:
        with pytest.raises(Unprocessable, match="Choose how"):
            await invites.invite_as(ctx, mia, uses=uses, expires=expires)
    assert await invites.list_invites(ctx) == []


async def test_the_offered_choices_depend_on_the_role(site: Instance) -> None:
    assert invites.choices_for("member") == (["1", "5", "25"], ["1", "7", "30"])
    staff = (["1", "5", "25", "unlimited"], ["1", "7", "30", "never"])
    assert invites.choices_for("moderator") == invites.choices_for("admin") == staff
    mo = await person(site, "mo")
    with pytest.raises(Unprocessable):
        await invites.invite_as(site.ctx, mo, uses="100", expires="7")
    await invites.invite_as(site.ctx, mo, uses="unlimited", expires="never")
    [made] = await invites.list_invites(site.ctx)
    assert (made.max_uses, made.expires_at, made.created_by) == (None, None, "mo")


async def test_a_member_holds_at_most_the_cap_of_usable_links(site: Instance) -> None:
    ctx = site.ctx
    await invites.set_policy(ctx, who="members", per_member=2)
    mia, mo = await person(site, "mia"), await person(site, "mo")
    first = await invites.invite_as(ctx, mia, uses="1", expires="7")
    await invites.invite_as(ctx, mia, uses="1", expires="7")
    with pytest.raises(Forbidden, match="already have 2 usable invite links"):
        await invites.invite_as(ctx, mia, uses="1", expires="7")
    # A link that was used up, or revoked, no longer counts.
    await registration.set_mode(ctx, "invite")
    await registration.apply(ctx, application("jo", first))
    third = await invites.invite_as(ctx, mia, uses="1", expires="7")
    [newest, *_] = await invites.list_invites(ctx, created_by_id=mia.user_id)
    await invites.revoke_invite(ctx, newest.id, by=mia)
    await invites.invite_as(ctx, mia, uses="1", expires="7")
    with pytest.raises(Forbidden, match="already have 2"):
        await invites.invite_as(ctx, mia, uses="1", expires="7")
    # Moderators have no cap; a cap of 0 stops members altogether.
    await invites.set_policy(ctx, per_member=0)
    with pytest.raises(Forbidden, match="Members may hold no invite links"):
        await invites.invite_as(ctx, mia, uses="1", expires="7")
    for _ in range(3):
        await invites.invite_as(ctx, mo, uses="1", expires="7")
    with pytest.raises(Forbidden, match="withdrawn"):
        await invites.check_invite(ctx, third)


async def test_the_cap_holds_when_requests_race(site: Instance) -> None:
    ctx = site.ctx
    await invites.set_policy(ctx, who="members", per_member=2)
    mia = await person(site, "mia")
    results = await asyncio.gather(
        *(invites.invite_as(ctx, mia, uses="1", expires="7") for _ in range(6)),
        return_exceptions=True,
    )
    made = [result for result in results if isinstance(result, str)]
    refused = [result for result in results if isinstance(result, Forbidden)]
    assert (len(made), len(refused)) == (2, 4), results
    assert len(await invites.list_invites(ctx, created_by_id=mia.user_id)) == 2


async def test_a_revoked_invite_admits_nobody_and_only_its_maker_or_an_admin_revokes(
    site: Instance,
) -> None:
    ctx = site.ctx
    await registration.set_mode(ctx, "invite")
    mo, ann = await person(site, "mo"), await person(site, "ann")
    await create_user(ctx, NewUser(username="max"))
    await roles.set_role(ctx, "max", "moderator")
    other_mod = await person(site, "max")
    code = await invites.invite_as(ctx, mo, uses="25", expires="30")
    second = await invites.invite_as(ctx, mo, uses="25", expires="30")
    [later, earlier] = await invites.list_invites(ctx)
    with pytest.raises(NotFound, match="of yours"):
        await invites.revoke_invite(ctx, earlier.id, by=other_mod)
    await invites.revoke_invite(ctx, earlier.id, by=mo)
    await invites.revoke_invite(ctx, later.id, by=ann)
    await invites.revoke_invite(ctx, later.id, by=ann)  # again: nothing changes
    for name, used in (("jo", code), ("kim", second)):
        with pytest.raises(Forbidden, match="withdrawn"):
            await registration.apply(ctx, application(name, used))
    listed = await invites.list_invites(ctx)
    assert [invite.state for invite in listed] == ["revoked", "revoked"]
    assert [invite.uses for invite in listed] == [0, 0]
    with pytest.raises(NotFound):
        await invites.revoke_invite(ctx, 12345, by=None)
    # Each sees their own; an admin sees all.
    assert len(await invites.list_for(ctx, other_mod)) == 0
    assert len(await invites.list_for(ctx, mo)) == 2
    assert len(await invites.list_for(ctx, ann)) == 2


async def test_roles_keep_is_admin_in_step(site: Instance) -> None:
    ctx = site.ctx
    await create_user(ctx, NewUser(username="sam", password=PASSWORD))
    await roles.set_role(ctx, "sam", "admin")
    await roles.set_role(ctx, "ann", "moderator")
    async with ctx.sessions() as session:
        rows = (await session.execute(select(User.role, User.is_admin))).all()
    assert all(is_admin == (role == "admin") for role, is_admin in rows), rows
    # A session carries the role, and is_admin with it.
    grant = await auth.sign_in(ctx, "sam", PASSWORD, address="192.0.2.1")
    sam = await auth.session_for(ctx, grant.cookie_value)
    assert sam is not None and (sam.role, sam.is_admin) == ("admin", True)
    await roles.set_role(ctx, "sam", "member")
    sam = await auth.session_for(ctx, grant.cookie_value)
    assert sam is not None and (sam.role, sam.is_admin) == ("member", False)
    with pytest.raises(Unprocessable, match="member, moderator, admin"):
        await roles.set_role(ctx, "mia", "owner")
    with pytest.raises(NotFound):
        await roles.set_role(ctx, "nobody", "member")
    _, admin = await create_user(ctx, NewUser(username="boss", is_admin=True))
    assert admin.role == "admin"


async def test_the_migration_makes_existing_admins_admins(database: Database) -> None:
    """Upgrading from 0006 gives every `is_admin` user the admin role and the rest member."""
    from alembic import command

    from fediverse.store import migrate

    engine = create_engine(migrate_settings(database))
    try:
        async with engine.begin() as conn:
            if database.schema:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
            await conn.run_sync(lambda sync: command.upgrade(migrate._alembic_config(sync), "0006"))
            for number, is_admin in ((1, True), (2, False)):
                await conn.execute(
                    text(
                        "INSERT INTO actors (id, uri, kind, local, username, username_key, "
                        "domain, display_name, summary_html, inbox_url, "
                        "manually_approves_followers, discoverable, published_at, updated_at) "
                        "VALUES (:id, :uri, 'Person', true, :name, :name, 'a.test', '', '', "
                        ":uri, false, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "uri": f"https://a.test/users/u{number}", "name": f"u{number}"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO users (id, actor_id, is_admin, approved, created_at) "
                        "VALUES (:id, :id, :is_admin, true, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "is_admin": is_admin},
                )
        await migrate.upgrade(engine, schema=database.schema)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(User.id, User.role).order_by(User.id))).all()
        assert [tuple(row) for row in rows] == [(1, "admin"), (2, "member")]
        async with engine.connect() as conn:
            assert (await conn.execute(select(Invite.revoked_at))).all() == []
    finally:
        await engine.dispose()


def migrate_settings(database: Database):  # type: ignore[no-untyped-def]
    from fediverse.config import DatabaseSettings

    return DatabaseSettings(url=database.url, schema=database.schema)
