"""Joining: registration modes, the waitlist with its place in line, invite links."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fediverse.errors import Conflict, Forbidden, NotFound, Unprocessable
from fediverse.services import invites, registration
from fediverse.services.actors import change_password
from fediverse.services.passwords import verify_password
from fediverse.store.tables import Actor, Invite, User
from fediverse.store.types import utcnow
from tests.fakenet import FakeNet, Instance


def application(name: str, **extra: str) -> registration.Application:
    return registration.Application(
        username=name, email=f"{name}@example.org", password="a long password", **extra
    )


async def user_exists(instance: Instance, name: str) -> bool:
    async with instance.ctx.sessions() as session:
        return await session.scalar(select(Actor.id).where(Actor.username == name)) is not None


async def test_waitlist_shows_place_and_status_until_approved(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    assert await registration.get_mode(ctx) == "approval"  # the default
    first = await registration.apply(ctx, application("dana", reason="I organise meetups"))
    second = await registration.apply(ctx, application("eli"))
    assert (first.status, first.position, second.position) == ("pending", 1, 2)
    assert first.status_token and not await user_exists(local_instance, "dana")

    await registration.approve(ctx, "dana")
    assert (await registration.status_of(ctx, first.status_token)).state == "approved"
    now_first = await registration.status_of(ctx, second.status_token or "")
    assert (now_first.state, now_first.position) == ("pending", 1)
    async with ctx.sessions() as session:
        user = await session.scalar(
            select(User).join(Actor, Actor.id == User.actor_id).where(Actor.username == "dana")
        )
    assert user is not None and await verify_password(user.password_hash or "", "a long password")
    await registration.reject(ctx, "eli")
    assert (await registration.status_of(ctx, second.status_token or "")).state == "rejected"
    assert not await user_exists(local_instance, "eli")
    with pytest.raises(NotFound):
        await registration.status_of(ctx, "not-a-token")
    with pytest.raises(NotFound, match="registrations list"):
        await registration.approve(ctx, "eli")


async def test_modes(net: FakeNet, local_instance: Instance) -> None:
    ctx = local_instance.ctx
    await registration.set_mode(ctx, "open")
    assert (await registration.apply(ctx, application("fay"))).status == "created"
    assert await user_exists(local_instance, "fay")
    await registration.set_mode(ctx, "invite")
    with pytest.raises(Forbidden, match="invite-only"):
        await registration.apply(ctx, application("gus"))
    await registration.set_mode(ctx, "closed")
    with pytest.raises(Forbidden, match="closed"):
        await registration.apply(ctx, application("gus"))
    with pytest.raises(Unprocessable, match="mode must be"):
        await registration.set_mode(ctx, "sometimes")


async def test_bad_applications_are_refused_and_store_nothing(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    with pytest.raises(Conflict, match="taken"):
        await registration.apply(ctx, application("alice"))
    with pytest.raises(Unprocessable, match="password"):
        await registration.apply(ctx, registration.Application("hal", "h@x.org", "short"))
    with pytest.raises(Unprocessable, match="email"):
        await registration.apply(ctx, registration.Application("hal", "nope", "long password"))
    with pytest.raises(Unprocessable, match="reserved"):
        await registration.apply(ctx, application("admin"))
    await registration.apply(ctx, application("ivy"))
    with pytest.raises(Conflict, match="already waiting"):
        await registration.apply(ctx, application("ivy"))
    assert len(await registration.list_pending(ctx)) == 1


async def test_invites_expire_and_run_out(net: FakeNet, local_instance: Instance) -> None:
    ctx = local_instance.ctx
    await registration.set_mode(ctx, "invite")
    code = await invites.create_invite(ctx, "alice", max_uses=2)
    results = await asyncio.gather(
        *(
            registration.apply(ctx, application(name, invite_code=code))
            for name in ("jo", "kim", "lee")
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, registration.Applied)) == 2
    assert any(isinstance(r, Forbidden) and "used up" in r.message for r in results)
    expired = await invites.create_invite(ctx, None, max_uses=None)
    async with ctx.sessions() as session:
        await session.execute(update(Invite).values(expires_at=utcnow() - timedelta(days=1)))
        await session.commit()
    with pytest.raises(Forbidden, match="expired"):
        await registration.apply(ctx, application("max", invite_code=expired))
    with pytest.raises(NotFound, match="not valid"):
        await invites.check_invite(ctx, "made-up")


async def test_change_password(net: FakeNet, local_instance: Instance) -> None:
    ctx = local_instance.ctx
    await registration.set_mode(ctx, "open")
    await registration.apply(ctx, application("ned"))
    with pytest.raises(Forbidden, match="current password"):
        await change_password(ctx, "ned", "wrong password", "another long one")
    with pytest.raises(Unprocessable):
        await change_password(ctx, "ned", "a long password", "short")
    await change_password(ctx, "ned", "a long password", "another long one")
    async with ctx.sessions() as session:
        hashed = await session.scalar(
            select(User.password_hash)
            .join(Actor, Actor.id == User.actor_id)
            .where(Actor.username == "ned")
        )
    assert await verify_password(hashed or "", "another long one")


async def test_changing_the_password_signs_out_other_sessions(
    net: FakeNet, local_instance: Instance
) -> None:
    from fediverse.services import auth

    ctx = local_instance.ctx
    await registration.set_mode(ctx, "open")
    await registration.apply(ctx, application("ola"))
    laptop = await auth.sign_in(ctx, "ola", "a long password", address="192.0.2.1")
    phone = await auth.sign_in(ctx, "ola", "a long password", address="192.0.2.2")
    current = await auth.session_for(ctx, laptop.cookie_value)
    assert current is not None and await auth.session_for(ctx, phone.cookie_value) is not None
    await change_password(
        ctx, "ola", "a long password", "a brand new password", keep_session_id=current.session_id
    )
    assert await auth.session_for(ctx, laptop.cookie_value) is not None
    assert await auth.session_for(ctx, phone.cookie_value) is None


async def test_changing_the_password_revokes_every_api_token(
    net: FakeNet, local_instance: Instance
) -> None:
    from fediverse.services import oauth, oauth_codes

    ctx = local_instance.ctx
    await registration.set_mode(ctx, "open")
    await registration.apply(ctx, application("ola"))
    script = (await oauth.create_token(ctx, "ola", "read")).access_token
    app_made = await oauth.register_app(
        ctx, name="Phone", redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read", website=None
    )
    request = await oauth.check_authorization(
        ctx, client_id=app_made.app.client_id, redirect_uri=None, response_type="code",
        scope="read", state=None, code_challenge=None, code_challenge_method=None,
    )  # fmt: skip
    user_id = (await oauth.authenticate(ctx, script)).user_id  # type: ignore[union-attr]
    code = await oauth_codes.create_code(ctx, request, user_id)
    phone = await oauth_codes.exchange_code(
        ctx, app_made.app, code=code, redirect_uri=None, code_verifier=None
    )
    others = (await oauth.create_token(ctx, "alice", "read")).access_token
    assert await oauth.authenticate(ctx, phone.access_token) is not None

    changed = await change_password(ctx, "ola", "a long password", "a brand new password")
    assert await oauth.authenticate(ctx, script) is None
    assert await oauth.authenticate(ctx, phone.access_token) is None
    # Only this account's tokens.
    assert await oauth.authenticate(ctx, others) is not None
    assert changed.tokens_revoked == 2
    # Changing it again has nothing left to revoke.
    again = await change_password(ctx, "ola", "a brand new password", "yet another password")
    assert again.tokens_revoked == 0
