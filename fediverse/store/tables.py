"""SQLAlchemy tables: the schema of the store, mirrored by the Alembic migrations.

A test compares this metadata with the migrated database, so a table changed here without a
migration fails the suite. Ids are time-ordered 64-bit integers from `fediverse.ids`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fediverse.ids import new_id
from fediverse.store.types import JSONDocument, UTCDateTime, utcnow

# Deterministic constraint names, so migrations can refer to them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

IRI = String(2048)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobColumns:
    """Columns every background-work row carries (see `fediverse.jobs`).

    `state` follows the kind's declared graph; `next_attempt_at` says when it is due; a worker
    owns a row while `lease_expires_at` is in the future.
    """

    id: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _id_column() -> Mapped[int]:
    return mapped_column(BigInteger, primary_key=True, default=new_id, autoincrement=False)


class Actor(Base):
    """A Person, Group, Application or Service, local or remote, keyed by its IRI."""

    __tablename__ = "actors"

    id: Mapped[int] = _id_column()
    uri: Mapped[str] = mapped_column(IRI, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str] = mapped_column(String(255))
    # Lower-cased username: handles are case-insensitive (Mastodon, WebFinger in practice).
    username_key: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    summary_html: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(IRI)
    inbox_url: Mapped[str] = mapped_column(IRI)
    outbox_url: Mapped[str | None] = mapped_column(IRI)
    shared_inbox_url: Mapped[str | None] = mapped_column(IRI)
    followers_url: Mapped[str | None] = mapped_column(IRI)
    following_url: Mapped[str | None] = mapped_column(IRI)
    featured_url: Mapped[str | None] = mapped_column(IRI)
    icon_url: Mapped[str | None] = mapped_column(IRI)
    image_url: Mapped[str | None] = mapped_column(IRI)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    public_key_id: Mapped[str | None] = mapped_column(IRI)
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    # Only local actors have one; never serialised anywhere.
    private_key_pem: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One local actor per name, users and groups alike (one name space).
        Index(
            "uq_actors_local_username_key",
            "username_key",
            unique=True,
            sqlite_where=text("local = 1"),
            postgresql_where=text("local"),
        ),
        Index("ix_actors_username_key_domain", "username_key", "domain"),
        Index("ix_actors_public_key_id", "public_key_id"),
    )


class User(Base):
    """A person who signs in here; their public face is an `Actor` of kind Person."""

    __tablename__ = "users"

    id: Mapped[int] = _id_column()
    actor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE"), unique=True
    )
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Kept equal to `role == "admin"` by services.roles, the only code that changes either.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # member, moderator or admin (services.roles).
    role: Mapped[str] = mapped_column(String(16), default="member")
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupRole(Base):
    """Who runs a local group: its owner and its moderators."""

    __tablename__ = "group_roles"

    group_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_group_roles_actor_id", "actor_id"),)


class OutboxActivity(Base):
    """An activity one of our actors published; its JSON is served at its id."""

    __tablename__ = "outbox_activities"

    id: Mapped[int] = _id_column()
    uri: Mapped[str] = mapped_column(IRI, unique=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    object_uri: Mapped[str | None] = mapped_column(IRI)
    # Public activities are listed in the actor's outbox collection; others are only delivered.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Reach: how many followers the fan-out addressed (remote and local) when it was published.
    followers_targeted: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_outbox_activities_actor_id_public_id", "actor_id", "public", "id"),)


class Follow(Base):
    """One actor following another; either side may be local or remote.

    `state` is `pending` until the followee (or its server) accepts, then `accepted`. `uri` is
    the id of the Follow activity, needed to match the Accept, Reject or Undo that refers to it.
    """

    __tablename__ = "follows"

    id: Mapped[int] = _id_column()
    uri: Mapped[str | None] = mapped_column(IRI, unique=True)
    follower_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE")
    )
    followee_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_follows_follower_id_followee_id", "follower_id", "followee_id", unique=True),
        Index("ix_follows_followee_id_state_id", "followee_id", "state", "id"),
        Index("ix_follows_follower_id_state_id", "follower_id", "state", "id"),
    )


class InboxItem(JobColumns, Base):
    """A verified activity that arrived in an inbox, waiting for (or done with) processing.

    Unique by activity id: a server that redelivers (at-least-once) or a replay inside the
    signature window is stored once and processed once.
    """

    __tablename__ = "inbox_items"

    id: Mapped[int] = _id_column()
    activity_uri: Mapped[str] = mapped_column(IRI, unique=True)
    activity_type: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str | None] = mapped_column(String(32))
    actor_uri: Mapped[str] = mapped_column(IRI)
    signer_key_id: Mapped[str] = mapped_column(IRI)
    # The local actor whose personal inbox received it; None for the shared inbox.
    recipient_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_inbox_items_state_next_attempt_at", "state", "next_attempt_at"),
        # Per-actor ordering: an actor's earlier unfinished item is found without a scan.
        Index("ix_inbox_items_actor_uri_state_id", "actor_uri", "state", "id"),
    )


class Delivery(JobColumns, Base):
    """One activity to one inbox: the unit of outgoing federation and of reach accounting."""

    __tablename__ = "deliveries"

    id: Mapped[int] = _id_column()
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("outbox_activities.id", ondelete="CASCADE")
    )
    sender_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    inbox_url: Mapped[str] = mapped_column(IRI)
    host: Mapped[str] = mapped_column(String(255))
    # Followers this inbox stands for (a shared inbox serves many); reach counts them.
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(Text)
    signature_scheme: Mapped[str | None] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_deliveries_host_state", "host", "state"),
        Index("ix_deliveries_activity_id", "activity_id"),
        # Per (inbox, sender) ordering: the oldest unfinished delivery goes first.
        Index(
            "ix_deliveries_inbox_url_sender_id_state_id", "inbox_url", "sender_id", "state", "id"
        ),
        Index("uq_deliveries_activity_id_inbox_url", "activity_id", "inbox_url", unique=True),
    )


class ActorBlock(Base):
    """`blocker` blocked `blocked`: nothing of the blocked actor's is delivered to the blocker."""

    __tablename__ = "actor_blocks"

    id: Mapped[int] = _id_column()
    uri: Mapped[str | None] = mapped_column(IRI, unique=True)
    blocker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_actor_blocks_blocker_id_blocked_id", "blocker_id", "blocked_id", unique=True),
        Index("ix_actor_blocks_blocked_id", "blocked_id"),
    )


class Post(Base):
    """A post (Note or Article), ours or a remote server's, stored once with sanitised HTML.

    `visibility` is one of public, unlisted, followers, direct (Mastodon's four), derived from
    the addressing for remote posts.
    """

    __tablename__ = "posts"

    id: Mapped[int] = _id_column()
    uri: Mapped[str] = mapped_column(IRI, unique=True)
    url: Mapped[str | None] = mapped_column(IRI)
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(32), default="Note")
    name: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    content_html: Mapped[str] = mapped_column(Text, default="")
    # What the author typed (plain text or Markdown), kept for editing; local posts only.
    source: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    in_reply_to_uri: Mapped[str | None] = mapped_column(IRI)
    in_reply_to_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="SET NULL")
    )
    conversation: Mapped[str | None] = mapped_column(IRI)
    # A boost is a post of its own that points at the boosted one (as Mastodon models it), so
    # timelines are one query over posts.
    boost_of_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE")
    )
    to: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    cc: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    likes_count: Mapped[int] = mapped_column(Integer, default=0)
    boosts_count: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_posts_author_id_id", "author_id", "id"),
        Index("ix_posts_in_reply_to_uri", "in_reply_to_uri"),
        Index("ix_posts_local_visibility_id", "local", "visibility", "id"),
        Index("ix_posts_boost_of_id", "boost_of_id"),
    )


class Host(Base):
    """Delivery health of one remote host: the circuit breaker and the unavailable mark."""

    __tablename__ = "hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Distinct UTC days (ISO dates) with failures since the last success.
    failure_days: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Like(Base):
    """A favourite: `actor` liked `post`."""

    __tablename__ = "likes"

    id: Mapped[int] = _id_column()
    uri: Mapped[str | None] = mapped_column(IRI, unique=True)
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_likes_actor_id_post_id", "actor_id", "post_id", unique=True),
        Index("ix_likes_post_id", "post_id"),
    )


class PostEdit(Base):
    """An earlier version of an edited post (edit history, oldest first)."""

    __tablename__ = "post_edits"

    id: Mapped[int] = _id_column()
    post_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"))
    content_html: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_post_edits_post_id_id", "post_id", "id"),)


class Mention(Base):
    """`post` mentions `actor` (a Mention tag): addressing and notifications."""

    __tablename__ = "mentions"

    post_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_mentions_actor_id", "actor_id"),)


class PostTag(Base):
    """`post` carries the hashtag `tag` (lower-case, without '#')."""

    __tablename__ = "post_tags"

    post_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)

    __table_args__ = (Index("ix_post_tags_tag_post_id", "tag", "post_id"),)


class Notification(Base):
    """Something that happened to a local actor: follow, follow_request, mention, reply,
    reblog, favourite (Mastodon's names)."""

    __tablename__ = "notifications"

    id: Mapped[int] = _id_column()
    recipient_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE")
    )
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_notifications_recipient_id_id", "recipient_id", "id"),
        Index(
            "uq_notifications_recipient_kind_actor_post",
            "recipient_id",
            "kind",
            "actor_id",
            "post_id",
            unique=True,
        ),
    )


class OAuthApp(Base):
    """A client application registered through POST /api/v1/apps."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = _id_column()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048))
    # Newline-separated; "urn:ietf:wg:oauth:2.0:oob" shows the code instead of redirecting.
    redirect_uris: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(1024), default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthCode(Base):
    """A short-lived authorisation code waiting to be exchanged for a token."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(1024))
    redirect_uri: Mapped[str] = mapped_column(Text)
    # Whether the authorisation request named redirect_uri; then the token request must repeat
    # it exactly (RFC 6749 §4.1.3).
    redirect_uri_given: Mapped[bool] = mapped_column(Boolean, default=False)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OAuthToken(Base):
    """A bearer token; only its SHA-256 is stored, so a leaked database leaks no tokens."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = _id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None for tokens made with `fediverse tokens create`.
    app_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The SHA-256 of the authorisation code this token was bought with: a reused code revokes
    # the token (RFC 6749 §4.1.2).
    code_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_oauth_tokens_code_hash", "code_hash"),)


class WebSession(Base):
    """A signed-in browser; the cookie holds a random token whose SHA-256 is stored here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = _id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(512))

    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)


class Profile(Base):
    """The professional profile of a local person (or the description of a local group).

    Skills, interests and hobbies federate as `Hashtag` tags, the other fields as
    `PropertyValue` attachments, so a Mastodon user sees them on the profile.
    """

    __tablename__ = "profiles"

    actor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    headline: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(120), default="")
    industry: Mapped[str] = mapped_column(String(120), default="")
    company: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    interests: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    hobbies: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    # [{"label": "Website", "url": "https://..."}]
    links: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InstanceSetting(Base):
    """A setting an admin changes at run time (name, rules, registration mode)."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RegistrationRequest(Base):
    """An application to join an approval-only instance: the waitlist."""

    __tablename__ = "registration_requests"

    id: Mapped[int] = _id_column()
    username: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    # Shown to the applicant so they can check their place and status later.
    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_registration_requests_state_id", "state", "id"),
        Index("ix_registration_requests_username", "username"),
    )


class Invite(Base):
    """An invite link: a random code (stored hashed), with an expiry and a use limit."""

    __tablename__ = "invites"

    id: Mapped[int] = _id_column()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_invites_created_by_id", "created_by_id"),)


class Media(Base):
    """An uploaded image (avatar, header), checked and resized, stored under the data folder."""

    __tablename__ = "media"

    id: Mapped[int] = _id_column()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("actors.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(255), unique=True)
    media_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FetchAttempt(Base):
    """A fetch of a missing remote post made on a reader's behalf (a thread's parent).

    While `not_before` is in the future the post is not fetched again: the attempt is in
    flight, or it failed (a negative cache), so however many people view a thread the third
    party gets at most one request per expiry. A successful fetch deletes the row.
    """

    __tablename__ = "fetch_attempts"

    uri: Mapped[str] = mapped_column(IRI, primary_key=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_fetch_attempts_not_before", "not_before"),)
