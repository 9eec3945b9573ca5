"""Local actors: people, groups and the instance actor, each with its own RSA key pair."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.keys import generate_rsa_keypair, load_private_key
from fediverse.activitypub.signatures import SigningKey
from fediverse.errors import Conflict, Forbidden, NotFound, Unprocessable
from fediverse.services import oauth
from fediverse.services.context import Context
from fediverse.services.names import check_local_name
from fediverse.services.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from fediverse.services.roles import role_columns
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, GroupRole, User, WebSession
from fediverse.uris import INSTANCE_ACTOR_NAME


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str | None = None
    email: str | None = None
    is_admin: bool = False
    display_name: str = ""
    # An already hashed password (an approved waitlist application keeps the one it chose).
    password_hash: str | None = None


async def _new_local_actor(ctx: Context, kind: str, name: str, display_name: str) -> Actor:
    """Build (not yet add) a local actor row with fresh keys and all its collection IRIs."""
    # RSA key generation takes ~50 ms of CPU: keep the event loop free while it runs.
    keys = await asyncio.to_thread(generate_rsa_keypair)
    uri = ctx.uris.actor(kind, name)
    return Actor(
        uri=uri,
        kind=kind,
        local=True,
        username=name,
        username_key=name.lower(),
        domain=ctx.domain.lower(),
        display_name=display_name,
        summary_html="",
        url=ctx.uris.profile_page(kind, name) if kind != "Application" else None,
        inbox_url=ctx.uris.actor_collection(uri, "inbox"),
        outbox_url=ctx.uris.actor_collection(uri, "outbox"),
        shared_inbox_url=ctx.uris.shared_inbox(),
        followers_url=ctx.uris.actor_collection(uri, "followers"),
        following_url=ctx.uris.actor_collection(uri, "following"),
        featured_url=ctx.uris.actor_collection(uri, "featured"),
        # The instance actor signs fetches for the whole server; it must never need approval.
        manually_approves_followers=kind == "Application",
        discoverable=kind != "Application",
        public_key_id=ctx.uris.key_id(uri),
        public_key_pem=keys.public_pem,
        private_key_pem=keys.private_pem,
    )


def signing_key_of(actor: Actor) -> SigningKey:
    """Return the key a local actor signs with."""
    if actor.private_key_pem is None or actor.public_key_id is None:
        raise ValueError(f"{actor.uri} has no private key: it is not a local actor")
    return SigningKey(
        key_id=actor.public_key_id, private_key=load_private_key(actor.private_key_pem)
    )


async def ensure_instance_actor(ctx: Context) -> Actor:
    """Return the instance's Application actor, creating it the first time (idempotent).

    Also loads its key into the context: every fetch we make is signed with it.
    """
    actor = await _load_or_create_instance_actor(ctx)
    ctx.instance_key = signing_key_of(actor)
    return actor


async def _load_or_create_instance_actor(ctx: Context) -> Actor:
    async with ctx.sessions() as session:
        existing = await actor_queries.get_by_uri(session, ctx.uris.instance_actor())
        if existing is not None:
            return existing
        actor = await _new_local_actor(ctx, "Application", INSTANCE_ACTOR_NAME, ctx.domain)
        session.add(actor)
        try:
            await session.commit()
        except IntegrityError:
            # Another process created it at the same moment; theirs is as good as ours.
            await session.rollback()
            found = await actor_queries.get_by_uri(session, ctx.uris.instance_actor())
            assert found is not None
            return found
        return actor


async def create_user(ctx: Context, new: NewUser) -> tuple[Actor, User]:
    """Create a local person who can sign in; raise Conflict if the name or email is taken."""
    check_local_name(new.username)
    if new.password is not None and len(new.password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    email = new.email.strip().lower() if new.email else None
    if email is not None and ("@" not in email or len(email) > 320):
        raise Unprocessable(f"{new.email!r} is not an email address.")
    password_hash = await hash_password(new.password) if new.password else new.password_hash
    async with ctx.sessions() as session:
        if await actor_queries.name_taken(session, new.username):
            raise Conflict(f"The name {new.username!r} is already taken on this instance.")
        actor = await _new_local_actor(ctx, "Person", new.username, new.display_name)
        session.add(actor)
        await session.flush()
        user = User(
            actor_id=actor.id,
            email=email,
            password_hash=password_hash,
            **role_columns("admin" if new.is_admin else "member"),
        )
        session.add(user)
        await _commit_or_conflict(session, new.username, email)
        return actor, user


async def create_group(
    ctx: Context, name: str, *, owner_username: str, title: str = "", summary_html: str = ""
) -> Actor:
    """Create a local Group actor owned by an existing local user."""
    check_local_name(name, what="group name")
    async with ctx.sessions() as session:
        owner = await actor_queries.get_local_by_name(session, owner_username, kind="Person")
        if owner is None:
            raise NotFound(f"No local user is called {owner_username!r}; create them first.")
        if await actor_queries.name_taken(session, name):
            raise Conflict(f"The name {name!r} is already taken on this instance.")
        group = await _new_local_actor(ctx, "Group", name, title or name)
        group.summary_html = summary_html
        session.add(group)
        await session.flush()
        session.add(GroupRole(group_id=group.id, actor_id=owner.id, role="owner"))
        await _commit_or_conflict(session, name, None)
        return group


async def _commit_or_conflict(session: AsyncSession, name: str, email: str | None) -> None:
    """Commit, turning a lost race on a unique name or email into a clear Conflict."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if email and "email" in str(exc.orig).lower():
            raise Conflict(f"The email {email!r} is already used by another account.") from None
        raise Conflict(f"The name {name!r} is already taken on this instance.") from None


async def get_local_actor(ctx: Context, name: str, kind: str | None = None) -> Actor:
    """Return a local actor by name or raise NotFound."""
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, name, kind=kind)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No {kind.lower() if kind else 'account'} called {name!r} here.")
    return actor


@dataclass(frozen=True)
class PasswordChanged:
    """What a password change cut off besides the old password."""

    sessions_ended: int
    tokens_revoked: int


async def change_password(
    ctx: Context,
    username: str,
    old_password: str,
    new_password: str,
    *,
    keep_session_id: int | None = None,
) -> PasswordChanged:
    """Change a user's password after checking the current one, sign out every other browser
    session and revoke every API token (a changed password is often a response to someone else
    knowing it, and a token they made with it must not outlive it)."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(f"The new password needs at least {MIN_PASSWORD_LENGTH} characters.")
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, username, kind="Person")
        user = None
        if actor is not None:
            user = await session.scalar(select(User).where(User.actor_id == actor.id))
        if user is None:
            raise NotFound(f"No local user called {username!r}.")
        if not user.password_hash or not await verify_password(user.password_hash, old_password):
            raise Forbidden("The current password is not right.")
        user.password_hash = await hash_password(new_password)
        others = delete(WebSession).where(WebSession.user_id == user.id)
        if keep_session_id is not None:
            others = others.where(WebSession.id != keep_session_id)
        ended = await session.execute(others)
        revoked = await oauth.revoke_tokens_of_user(session, user.id)
        await session.commit()
    return PasswordChanged(getattr(ended, "rowcount", 0) or 0, revoked)
