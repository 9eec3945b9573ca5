"""A conversation across three instances: mentions, replies, likes, boosts, edits and deletes
end with the same thread and the same counts everywhere; home timelines miss nothing."""

from __future__ import annotations

from sqlalchemy import select

from fediverse.services import follows, interactions, notifications, posts, timelines
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Actor, Post
from tests.fakenet import FakeNet, Instance


async def three(net: FakeNet) -> tuple[Instance, Instance, Instance]:
    made = []
    for host, name in (("a.test", "alice"), ("b.test", "bob"), ("c.test", "carol")):
        instance = await net.add_instance(host)
        await create_user(instance.ctx, NewUser(username=name))
        made.append(instance)
    a, b, c = made
    # Everyone follows everyone.
    for instance, name in ((a, "alice"), (b, "bob"), (c, "carol")):
        for other in ("alice@a.test", "bob@b.test", "carol@c.test"):
            if not other.startswith(name):
                await follows.follow(instance.ctx, name, other)
    await net.settle()
    return a, b, c


async def post_by_uri(instance: Instance, uri: str) -> Post | None:
    async with instance.ctx.sessions() as session:
        return await session.scalar(select(Post).where(Post.uri == uri))


async def actor_id(instance: Instance, name: str) -> int:
    async with instance.ctx.sessions() as session:
        found = await session.scalar(
            select(Actor.id).where(Actor.username == name, Actor.local.is_(True))
        )
    assert found is not None
    return found


async def test_conversation_converges_on_three_instances(net: FakeNet) -> None:
    a, b, c = await three(net)
    root = await posts.create_post(
        a.ctx, "alice", posts.NewPost("Who is going to #PyConf? @bob@b.test @carol@c.test")
    )
    await net.settle()
    root_on_b = await post_by_uri(b, root.post.uri)
    root_on_c = await post_by_uri(c, root.post.uri)
    assert root_on_b is not None and root_on_c is not None
    assert (
        "#<span>PyConf</span>" in root_on_b.content_html
        and "@<span>bob</span>" in root_on_b.content_html
    )

    reply = await posts.create_post(
        b.ctx, "bob", posts.NewPost("Me! @alice@a.test", in_reply_to_id=root_on_b.id)
    )
    await net.settle()
    reply_on_c = await post_by_uri(c, reply.post.uri)
    assert reply_on_c is not None and reply_on_c.in_reply_to_uri == root.post.uri
    await interactions.like(b.ctx, "bob", root_on_b.id)
    await interactions.like(c.ctx, "carol", root_on_c.id)
    await interactions.boost(c.ctx, "carol", root_on_c.id)
    await net.settle()
    await posts.edit_post(a.ctx, "alice", root.post.id, text="Who is going to #PyConf 2027?")
    await net.settle()

    for instance in (a, b, c):
        here = await post_by_uri(instance, root.post.uri)
        assert here is not None
        assert (here.replies_count, here.likes_count, here.boosts_count) == (1, 2, 1), instance.host
        assert "2027" in here.content_html and here.edited_at is not None
        ancestors, descendants = await posts.thread(instance.ctx, here.id, None)
        assert ancestors == [] and [d.uri for d in descendants] == [reply.post.uri]

    history = await posts.post_history(b.ctx, root_on_b.id, None)
    assert len(history) == 2 and "2027" not in history[0].content_html

    alice_id = await actor_id(a, "alice")
    kinds = sorted(
        n.kind
        for n in await notifications.list_notifications(a.ctx, alice_id, notifications.Page())
    )
    assert kinds == [
        "favourite",
        "favourite",
        "follow",
        "follow",
        "mention",
        "reblog",
    ] or kinds == ["favourite", "favourite", "follow", "follow", "reblog", "reply"]

    await interactions.unlike(c.ctx, "carol", root_on_c.id)
    await interactions.unboost(c.ctx, "carol", root_on_c.id)
    await posts.delete_post(
        b.ctx, "bob", reply_on_b_id := (await post_by_uri(b, reply.post.uri)).id
    )  # type: ignore[union-attr]
    await net.settle()
    assert reply_on_b_id
    for instance in (a, b, c):
        here = await post_by_uri(instance, root.post.uri)
        assert here is not None
        assert (here.replies_count, here.likes_count, here.boosts_count) == (0, 1, 0), instance.host
        gone = await post_by_uri(instance, reply.post.uri)
        assert gone is not None and gone.deleted_at is not None


async def test_home_timeline_misses_nothing_and_ranks_nothing(net: FakeNet) -> None:
    a, b, c = await three(net)
    published = []
    for index in range(30):
        instance, name = ((b, "bob"), (c, "carol"))[index % 2]
        published.append(
            await posts.create_post(
                instance.ctx,
                name,
                posts.NewPost(
                    f"post {index}", visibility=("public", "unlisted", "followers")[index % 3]
                ),
            )
        )
    await net.settle()
    alice = await actor_id(a, "alice")
    seen: list[str] = []
    page = timelines.Page(limit=7)
    while True:
        entries = await timelines.home(a.ctx, alice, page)
        if not entries:
            break
        seen.extend(entry.post.uri for entry in entries)
        page = timelines.Page(max_id=entries[-1].post.id, limit=7)
    expected = [p.post.uri for p in reversed(published)]
    assert seen == expected  # every followed post, strictly newest first, none missing


async def test_a_thread_fetches_missing_parents_on_demand(net: FakeNet) -> None:
    a = await net.add_instance("a.test")
    b = await net.add_instance("b.test")
    c = await net.add_instance("c.test")
    for instance, name in ((a, "alice"), (b, "bob"), (c, "carol")):
        await create_user(instance.ctx, NewUser(username=name))
    await follows.follow(b.ctx, "bob", "alice@a.test")
    await follows.follow(c.ctx, "carol", "bob@b.test")  # carol does not follow alice
    await net.settle()
    root = await posts.create_post(a.ctx, "alice", posts.NewPost("the start"))
    await net.settle()
    root_on_b = await post_by_uri(b, root.post.uri)
    assert root_on_b is not None
    reply = await posts.create_post(
        b.ctx, "bob", posts.NewPost("a reply", in_reply_to_id=root_on_b.id)
    )
    await net.settle()
    assert await post_by_uri(c, root.post.uri) is None  # c never received the parent
    reply_on_c = await post_by_uri(c, reply.post.uri)
    assert reply_on_c is not None
    ancestors, _ = await posts.thread(c.ctx, reply_on_c.id, None)
    assert [p.uri for p in ancestors] == [root.post.uri]
    fetched = await post_by_uri(c, root.post.uri)
    assert fetched is not None and "the start" in fetched.content_html
