"""Groups share members' posts with every member, on every server (FEP-1b12)."""

from __future__ import annotations

from sqlalchemy import select

from fediverse.services import follows, posts, timelines
from fediverse.services.actors import NewUser, create_group, create_user
from fediverse.store.tables import Actor, Post
from tests.fakenet import FakeNet


async def test_a_members_post_to_the_group_reaches_every_member(net: FakeNet) -> None:
    a = await net.add_instance("a.test")
    b = await net.add_instance("b.test")
    c = await net.add_instance("c.test")
    await create_user(a.ctx, NewUser(username="alice"))
    await create_group(a.ctx, "hikers", owner_username="alice", title="Hikers")
    await create_user(b.ctx, NewUser(username="bob"))
    await create_user(c.ctx, NewUser(username="carol"))
    await create_user(c.ctx, NewUser(username="dan"))  # not a member
    for instance, name in ((b, "bob"), (c, "carol"), (a, "alice")):
        await follows.follow(instance.ctx, name, "hikers@a.test")
    await net.settle()

    # bob (b.test) posts to the group; carol (c.test) follows only the group, not bob.
    published = await posts.create_post(
        b.ctx, "bob", posts.NewPost("@hikers@a.test Saturday walk, meet at 9?")
    )
    outsider = await posts.create_post(c.ctx, "dan", posts.NewPost("@hikers@a.test spam"))
    await net.settle()

    async with c.ctx.sessions() as session:
        carol_id = await session.scalar(
            select(Actor.id).where(Actor.username == "carol", Actor.local.is_(True))
        )
    assert carol_id is not None
    entries = await timelines.home(c.ctx, carol_id, timelines.Page())
    shared = [e for e in entries if e.boost_of is not None]
    assert [e.boost_of.uri for e in shared] == [published.post.uri]  # type: ignore[union-attr]
    assert shared[0].author.uri == "https://a.test/groups/hikers"
    async with a.ctx.sessions() as session:
        announced = (
            await session.scalars(select(Post.boost_of_id).where(Post.type == "Announce"))
        ).all()
        dans = await session.scalar(select(Post).where(Post.uri == outsider.post.uri))
    assert len(announced) == 1  # only the member's post
    assert dans is None or dans.boosts_count == 0
