"""Parsing recorded payloads from every server we federate with, and hostile or odd input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fediverse.activitypub import jsonld
from fediverse.activitypub.parse import (
    MAX_ADDRESSEES,
    MAX_DEPTH,
    MAX_TAGS,
    ActivityDoc,
    ActorDoc,
    CollectionDoc,
    MentionDoc,
    ObjectDoc,
    ParseError,
    PublicKeyDoc,
    parse_activity,
    parse_actor,
    parse_collection,
    parse_document,
    parse_object,
)
from fediverse.activitypub.vocab import (
    ACTIVITY_JSON,
    PUBLIC,
    ActivityType,
    ObjectType,
    is_public,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "activitypub"
FIXTURE_FILES = sorted(FIXTURES.rglob("*.json"))


def load(name: str) -> dict[str, Any]:
    """Return one recorded payload, by its path under tests/fixtures/activitypub."""
    document = json.loads((FIXTURES / name).read_text())
    assert isinstance(document, dict)
    return document


def parsed(name: str) -> Any:
    return parse_document(load(name))


# Every recorded payload


def test_every_software_is_represented() -> None:
    assert len(FIXTURE_FILES) >= 100
    assert {path.relative_to(FIXTURES).parts[0] for path in FIXTURE_FILES} >= {
        "discourse", "friendica", "gnusocial", "lemmy", "lotide", "mastodon", "mbin", "mitra",
        "mobilizon", "nodebb", "peertube", "pleroma", "smithereen", "wordpress",
    }  # fmt: skip


@pytest.mark.parametrize(
    "path", FIXTURE_FILES, ids=[str(p.relative_to(FIXTURES)) for p in FIXTURE_FILES]
)
def test_recorded_payload_parses(path: Path) -> None:
    document = json.loads(path.read_text())
    result = parse_document(document)
    assert result.raw is document
    assert result.id is None or jsonld.is_absolute_iri(result.id)
    if isinstance(result, ActivityDoc):
        assert jsonld.is_absolute_iri(result.actor)
        assert result.object is not None
        if isinstance(result.object, dict):
            # Embedded objects and activities parse too, all the way down.
            inner = parse_document(result.object)
            assert inner.id == result.object_id
            assert inner.type == result.object_type
            if isinstance(inner, ActivityDoc) and isinstance(inner.object, dict):
                parse_document(inner.object)
    elif isinstance(result, CollectionDoc):
        for item in result.items:
            if isinstance(item, dict):
                parse_document(item)
    elif isinstance(result, ActorDoc):
        assert result.inbox and result.public_keys
    else:
        assert isinstance(result, ObjectDoc)
        assert result.type == ObjectType.TOMBSTONE or result.attributed_to


# What each server's payloads must yield


def test_mastodon_note() -> None:
    note = parsed("mastodon/objects/note_1.json")
    assert isinstance(note, ObjectDoc)
    assert note.type == ObjectType.NOTE
    assert note.attributed_to == "https://mastodon.madrid/users/felix"
    assert note.in_reply_to == "https://mamot.fr/users/retiolus/statuses/107224244380204526"
    assert note.mentions == (MentionDoc("https://mamot.fr/users/retiolus", "@retiolus@mamot.fr"),)
    assert note.content_html.startswith('<p><span class="h-card"><a href="https://mamot.fr/@')
    assert "i have never been disappointed" in note.content_html  # `content` over contentMap
    assert note.language == "en"
    assert note.url == "https://mastodon.madrid/@felix/107224289116410645"
    assert note.published == datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)
    assert note.to == ("https://mastodon.madrid/users/felix/followers",)
    assert is_public(note.cc) and not is_public(note.to)
    assert note.conversation is not None and note.conversation.startswith("tag:mamot.fr")
    assert note.summary is None and note.sensitive is False


def test_mastodon_media_attachment() -> None:
    note = parsed("mastodon/objects/note_2.json")
    (media,) = note.attachments
    assert media.type == ObjectType.DOCUMENT
    assert media.media_type == "image/jpeg"
    assert media.url.endswith("/c8d906a2f2ab2334.jpg")
    assert media.name is not None and media.name.startswith("The KDE dragons")
    assert media.blurhash == "USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc"
    assert (media.width, media.height) == (1500, 1095)


def test_mastodon_person() -> None:
    actor = parsed("mastodon/objects/person.json")
    assert isinstance(actor, ActorDoc)
    assert actor.type == "Person" and actor.preferred_username == "mastodon"
    assert actor.inbox == "https://masto.qa.urbanwildlife.biz/users/mastodon/inbox"
    assert actor.shared_inbox == "https://masto.qa.urbanwildlife.biz/inbox"
    assert (
        actor.featured == "https://masto.qa.urbanwildlife.biz/users/mastodon/collections/featured"
    )
    (key,) = actor.public_keys
    assert key.id == "https://masto.qa.urbanwildlife.biz/users/mastodon#main-key"
    assert key.owner == actor.id
    assert key.pem is not None and key.pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert actor.manually_approves_followers is False and actor.discoverable is False
    assert actor.icon_url is not None and actor.icon_url.endswith(".png")
    assert actor.summary_html == ""


def test_mastodon_activities() -> None:
    create = parsed("mastodon/activities/create_note.json")
    assert isinstance(create, ActivityDoc)
    assert (create.type, create.object_type) == (ActivityType.CREATE, ObjectType.NOTE)
    assert create.object_id == "https://mastodon.madrid/users/felix/statuses/107224289116410645"
    delete = parsed("mastodon/activities/delete.json")
    assert delete.object_type == ObjectType.TOMBSTONE and delete.to == (PUBLIC,)
    flag = parsed("mastodon/activities/flag.json")
    assert flag.object == "https://example.com/users/1"
    assert len(flag.object_ids) == 3
    assert flag.content == "Please take a look at this user and their posts"
    undo = parsed("mastodon/activities/undo_follow.json")
    assert undo.object_type == ActivityType.FOLLOW
    assert parse_activity(undo.object).object == "https://ds9.lemmy.ml/c/testcom"
    featured = parsed("mastodon/collections/featured.json")
    assert isinstance(featured, CollectionDoc) and featured.total_items == 1
    assert parse_object(featured.items[0]).hashtags == ("reddit", "fediverse", "activitypub")


def test_mobilizon_event() -> None:
    event = parsed("mobilizon/objects/event.json")
    assert isinstance(event, ObjectDoc) and event.type == ObjectType.EVENT
    assert event.name == "Caledonian scottish dance class"
    assert event.attributed_to == "https://rendezvous.nomagic.uk/@devon_caledonian_society"
    details = event.event
    assert details is not None
    assert details.start_time == datetime(2022, 12, 11, 19, 0, tzinfo=UTC)
    assert details.end_time == datetime(2022, 12, 11, 21, 0, tzinfo=UTC)
    assert details.timezone == "Europe/London"
    assert details.join_mode == "free"
    assert details.maximum_attendee_capacity is None  # Mobilizon's 0 means "no limit"
    assert details.participant_count == 0
    assert details.status == "CONFIRMED"
    assert details.is_online is False and details.anonymous_participation_enabled is True
    assert details.location is not None
    assert details.location.name == "The Kenn Centre"
    assert (details.location.locality, details.location.postal_code) == ("Teignbridge", "EX6 7TW")
    assert details.location.latitude == pytest.approx(50.6688, abs=1e-3)
    assert event.hashtags == ("Dance", "Caledonian", "Lesson")
    assert event.language == "en"
    assert 'href="https://www.exeterceilidhs.net/"' in event.content_html
    assert 'target="_blank"' not in event.content_html


def test_mobilizon_actors() -> None:
    group = parsed("mobilizon/objects/group.json")
    assert group.type == "Group" and group.shared_inbox == "https://mobilizon.fr/inbox"
    assert group.icon_url is not None and group.image_url is not None
    assert (
        group.summary_html == "<p>Des ateliers pour contribuer au libre sans rien y connaître.</p>"
    )
    person = parsed("mobilizon/objects/person.json")
    assert person.public_keys[0].pem.startswith("-----BEGIN RSA PUBLIC KEY-----")


def test_lemmy_page_and_comment() -> None:
    page = parsed("lemmy/objects/page.json")
    assert page.type == ObjectType.PAGE and page.name == "Post title"
    assert page.audience == ("https://enterprise.lemmy.ml/c/tenforward",)
    assert page.language == "fr"
    assert page.attachments[0].url == "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png"
    assert page.conversation == "https://enterprise.lemmy.ml/post/55143/context"
    comment = parsed("lemmy/objects/comment.json")
    assert comment.in_reply_to == "https://enterprise.lemmy.ml/post/55143"
    assert [mention.name for mention in comment.mentions] == [
        "@picard@enterprise.lemmy.ml",
        "@tenforward@enterprise.lemmy.ml",
    ]
    links = parsed("lemmy/objects/page_image_and_link.json").attachments
    assert [(a.type, a.media_type) for a in links] == [
        ("Image", "image/png"),
        ("Link", "text/html"),
    ]


def test_lemmy_group_activities() -> None:
    announce = parsed("lemmy/activities/community/announce_create_page.json")
    assert (announce.type, announce.object_type) == (ActivityType.ANNOUNCE, ActivityType.CREATE)
    create = parse_activity(announce.object)
    page = parse_object(create.object)
    assert page.name == "post 4" and page.content_html == ""
    block = parsed("lemmy/activities/block/block_user.json")
    assert block.target == "http://enterprise.lemmy.ml/c/main" and block.summary == "spam post"
    assert parsed("lemmy/activities/community/lock_page.json").type == ActivityType.LOCK
    assert parsed("lemmy/activities/community/warn.json").type == "Warn"
    assert parsed("lemmy/activities/community/resolve_report_page.json").object_type == "Flag"
    dislike = parsed("lemmy/activities/voting/dislike_page.json")
    assert dislike.to == () and dislike.audience == ("https://enterprise.lemmy.ml/c/tenforward",)


def test_lemmy_actors_and_collections() -> None:
    group = parsed("lemmy/objects/group.json")
    assert group.type == "Group" and group.featured is not None
    assert "<hr" not in group.summary_html and "Welcome to the Enterprise" in group.summary_html
    assert parsed("lemmy/objects/instance.json").type == "Application"
    followers = parsed("lemmy/collections/group_followers.json")
    assert (followers.total_items, followers.items) == (3, ())
    moderators = parsed("lemmy/collections/group_moderators.json")
    assert moderators.items == ("https://enterprise.lemmy.ml/u/picard",)
    outbox = parsed("lemmy/collections/group_outbox.json")
    assert [parse_activity(item).type for item in outbox.items] == ["Announce", "Announce"]


def test_peertube_video_is_attributed_to_the_person() -> None:
    video = parsed("peertube/objects/video.json")
    assert video.type == ObjectType.VIDEO
    assert video.attributed_to == "https://tilvids.com/accounts/thelinuxexperiment"
    assert video.attributed_to_all == (
        "https://tilvids.com/accounts/thelinuxexperiment",
        "https://tilvids.com/video-channels/thelinuxexperiment_channel",
    )
    # The HTML watch page, not the HLS playlist or a magnet link.
    assert video.url == "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1"
    assert video.name is not None and video.name.startswith("Mesa, Wayland & X.org")
    # Markdown descriptions are shown as plain text with their links made clickable.
    assert video.content_html.startswith('<p>Head to <a href="https://squarespace.com/')
    assert video.language == "en"


def test_peertube_actors_and_comment() -> None:
    person = parsed("peertube/objects/person.json")
    assert person.icon_url is not None and person.icon_url.endswith(
        "bdaa7218-ba3c-43ba-abd3-cfd081394c18.jpg"
    )
    assert person.summary_html.startswith("<p>I'm Nick") and "</p><p>" in person.summary_html
    channel = parsed("peertube/objects/group.json")
    assert channel.type == "Group" and channel.image_url is not None
    comment = parsed("peertube/objects/note.json")
    assert comment.content_html == "<p>@af2@bae.st idk</p>"
    assert parsed("peertube/activities/announce_video.json").object_id.endswith("844a84bb2de1")


def test_pleroma_payloads() -> None:
    person = parsed("pleroma/objects/person.json")
    assert [emoji.name for emoji in person.emojis] == [":anarchy:", ":bzh:", ":gentoo:"]
    assert person.emojis[0].icon_url.endswith("/anarchy.png")
    chat = parsed("pleroma/objects/chat_message.json")
    assert chat.type == ObjectType.CHAT_MESSAGE and chat.content_html == "Hi!"
    note = parsed("pleroma/objects/note.json")
    assert note.sensitive is False and note.summary is None
    follow = parsed("pleroma/activities/follow.json")
    assert follow.object == "https://lemmy.ca/u/kinetix"


def test_friendica_payloads() -> None:
    organization = parsed("friendica/objects/person_2.json")
    assert organization.type == "Organization"
    person = parsed("friendica/objects/person_1.json")
    assert person.manually_approves_followers is True and person.discoverable is True
    fields = {field.name: field.value_html for field in person.attachments}
    assert fields["Lemmy"].startswith('<a href="https://lemmy.schuerz.at/u/jakob" rel="nofollow')
    assert all('target="_blank"' not in value for value in fields.values())
    article = parsed("friendica/objects/page_2.json")
    assert article.type == ObjectType.ARTICLE and article.name == "From Friendica to Lemmy"
    assert article.language == "de"


def test_threadiverse_and_blog_payloads() -> None:
    discourse = parsed("discourse/objects/person.json")
    assert discourse.shared_inbox == "https://socialhub.activitypub.rocks/ap/users/inbox"
    topic = parsed("discourse/objects/page.json")
    assert topic.name == "Our next meeting" and topic.audience
    nodebb = parsed("nodebb/objects/page.json")
    assert nodebb.content_html.startswith("<h3>Welcome to your brand new NodeBB forum!</h3>")
    assert nodebb.audience == ("https://bb.devnull.land/category/2",)
    wordpress = parsed("wordpress/objects/page.json")
    assert "3DPrinting" in wordpress.hashtags and len(wordpress.attachments) == 4
    assert "<img" not in wordpress.content_html and "<figure" not in wordpress.content_html
    blog = parsed("wordpress/objects/group.json")
    assert [field.name for field in blog.attachments] == ["Blog"]  # the Link is not a field
    assert blog.indexable is True


def test_small_servers_payloads() -> None:
    lotide_page = parsed("lotide/objects/page.json")
    assert lotide_page.to == ("https://narwhal.city/communities/4",) and lotide_page.cc == (PUBLIC,)
    assert lotide_page.url == "https://www.youtube.com/watch?v=ZI4LGTXscR4"
    assert parsed("lotide/objects/tombstone.json").attributed_to is None
    smithereen = parsed("smithereen/objects/note.json")
    assert smithereen.mentions == (MentionDoc("https://ds9.lemmy.ml/u/nutomic"),)
    assert parsed("gnusocial/objects/note.json").conversation == (
        "https://instance.gnusocial.test/conversation/1338"
    )
    mitra = parsed("mitra/activities/create_post.json")
    assert parse_object(mitra.object).audience == ("https://voyager.lemmy.ml/c/pubtest0906",)
    assert parsed("mbin/activities/flag.json").object_ids == (
        "https://lemmy-test/post/4",
        "https://lemmy-test/u/BentiGorlich",
    )


# Hostile and odd input

NOTE = {
    "id": "https://remote.example/notes/1",
    "type": "Note",
    "attributedTo": "https://remote.example/users/ann",
    "content": "<p>hi</p>",
}
ACTIVITY = {
    "id": "https://remote.example/activities/1",
    "type": "Like",
    "actor": "https://remote.example/users/ann",
    "object": "https://local.example/notes/9",
}
ACTOR = {
    "id": "https://remote.example/users/ann",
    "type": "Person",
    "inbox": "https://remote.example/users/ann/inbox",
}


@pytest.mark.parametrize("document", [None, [], "Note", 42, [NOTE], True])
def test_non_objects_are_refused(document: Any) -> None:
    with pytest.raises(ParseError, match="JSON object"):
        parse_document(document)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({**NOTE, "id": None}, "no 'id'"),
        ({k: v for k, v in NOTE.items() if k != "id"}, "no 'id'"),
        ({**NOTE, "id": "/notes/1"}, "'id' must be an absolute https or http IRI"),
        ({**NOTE, "id": "javascript:alert(1)"}, "'id' must be"),
        ({**NOTE, "id": "ftp://remote.example/notes/1"}, "'id' must be"),
        ({**NOTE, "id": "https://user:pw@remote.example/notes/1"}, "'id' must be"),
        ({**NOTE, "id": "https://remote.example/has space"}, "'id' must be"),
        ({**NOTE, "id": 7}, "'id' must be"),
        ({k: v for k, v in NOTE.items() if k != "type"}, "no 'type'"),
        ({k: v for k, v in NOTE.items() if k != "attributedTo"}, "no attributedTo"),
        ({**NOTE, "type": "Hashtag"}, "unsupported type 'Hashtag'"),
        ({**NOTE, "type": "Event"}, "event has no startTime"),
        ({k: v for k, v in ACTIVITY.items() if k != "actor"}, "activity has no actor"),
        ({**ACTIVITY, "actor": []}, "activity has no actor"),
        ({**ACTIVITY, "actor": "mailto:ann@remote.example"}, "'actor' must be"),
        ({k: v for k, v in ACTIVITY.items() if k != "object"}, "activity has no object"),
        ({**ACTIVITY, "object": "not an iri"}, "'object' must be"),
        ({k: v for k, v in ACTOR.items() if k != "inbox"}, "actor has no inbox"),
        ({**ACTOR, "inbox": "/inbox"}, "'inbox' must be"),
    ],
)
def test_unusable_documents_are_refused(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_document(document)


def test_each_parser_checks_the_kind_of_document() -> None:
    with pytest.raises(ParseError, match="actor type"):
        parse_actor(NOTE)
    with pytest.raises(ParseError, match="object type"):
        parse_object(ACTOR)
    with pytest.raises(ParseError, match="collection type"):
        parse_collection(NOTE)
    intransitive = {**ACTIVITY, "type": "Arrive"}
    del intransitive["object"]
    assert parse_activity(intransitive).object is None


def test_actor_list_prefers_a_person() -> None:
    activity = parse_activity(
        {
            **ACTIVITY,
            "actor": [
                {"type": "Group", "id": "https://remote.example/groups/g"},
                {"type": "Person", "id": "https://remote.example/users/ann"},
            ],
        }
    )
    assert activity.actor == "https://remote.example/users/ann"


def test_javascript_urls_are_never_returned() -> None:
    note = parse_object(
        {
            **NOTE,
            "url": [
                {"type": "Link", "href": "javascript:alert(1)"},
                "https://remote.example/@ann/1",
            ],
            "inReplyTo": "javascript:alert(1)",
            "attachment": [
                {"type": "Image", "url": "javascript:alert(1)"},
                {"type": "Document", "url": "data:image/png;base64,AAAA"},
            ],
            "tag": [{"type": "Mention", "href": "javascript:alert(1)", "name": "@x"}],
            "content": '<a href="javascript:alert(1)">click</a>',
        }
    )
    assert note.url == "https://remote.example/@ann/1"
    assert note.in_reply_to is None and note.attachments == () and note.mentions == ()
    assert "javascript" not in note.content_html
    actor = parse_actor({**ACTOR, "url": "javascript:alert(1)", "icon": {"url": "vbscript:x"}})
    assert actor.url is None and actor.icon_url is None


def test_deeply_nested_documents_are_refused() -> None:
    bomb: dict[str, Any] = {"id": "https://remote.example/x"}
    for _ in range(MAX_DEPTH + 5):
        bomb = {"content": [bomb]}
    with pytest.raises(ParseError, match="nested deeper"):
        parse_document({**NOTE, "source": bomb})


def test_huge_documents_are_refused() -> None:
    with pytest.raises(ParseError, match="more than"):
        parse_document({**NOTE, "junk": [[0] * 1_000] * 200})


def test_absurd_addressing_is_refused_and_tags_are_capped() -> None:
    crowd = [f"https://remote.example/users/{n}" for n in range(MAX_ADDRESSEES + 1)]
    with pytest.raises(ParseError, match="'cc' has more than"):
        parse_object({**NOTE, "cc": crowd})
    tags = [{"type": "Hashtag", "name": f"#t{n}"} for n in range(MAX_TAGS + 50)]
    assert len(parse_object({**NOTE, "tag": tags}).hashtags) == MAX_TAGS


def test_weird_values_are_tolerated() -> None:
    note = parse_object(
        {
            **NOTE,
            "type": ["as:Note", "https://example.org/ns#Extra"],
            "to": 5,
            "cc": ["as:Public", None, 3, ["nested"], {"id": "https://remote.example/f"}],
            "tag": "not a list",
            "attachment": [1, None, {"url": 5}, "https://remote.example/file.png"],
            "published": "yesterday",
            "updated": "0001-01-01T00:00:00+01:00",
            "sensitive": "yes",
            "summary": {"nested": True},
            "content": None,
            "contentMap": {"und": 7, "fr": "<p>bonjour</p>"},
            "inReplyTo": [{"id": "https://remote.example/notes/0"}],
        }
    )
    assert note.type == ObjectType.NOTE
    assert note.to == () and note.cc == (PUBLIC, "https://remote.example/f")
    assert note.attachments[0].url == "https://remote.example/file.png"
    assert note.published is None and note.updated is None and note.sensitive is False
    assert note.content_html == "<p>bonjour</p>" and note.language == "fr"
    assert note.in_reply_to == "https://remote.example/notes/0"


def test_naive_and_offset_datetimes_become_utc() -> None:
    note = parse_object(
        {**NOTE, "published": "2024-05-01T12:00:00", "updated": "2024-05-01T14:00:00+02:00"}
    )
    assert note.published == note.updated == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_content_is_sanitised_and_plain_text_is_converted() -> None:
    note = parse_object({**NOTE, "content": "<p onclick=x>hi<script>alert(1)</script></p>"})
    assert note.content_html == "<p>hi</p>"
    plain = parse_object(
        {**NOTE, "content": "a <b>\nhttps://x.example/", "mediaType": "text/plain"}
    )
    assert plain.content_html == (
        '<p>a &lt;b&gt;<br><a href="https://x.example/" rel="nofollow noopener noreferrer">'
        "https://x.example/</a></p>"
    )
    sourced = parse_object({**NOTE, "content": None, "source": {"content": "from source"}})
    assert sourced.content_html == "<p>from source</p>"


def test_quote_posts_are_recognised() -> None:
    for key in ("quote", "quoteUrl", "quoteUri", "_misskey_quote"):
        quoted = parse_object({**NOTE, key: "https://other.example/notes/5"})
        assert quoted.quote_url == "https://other.example/notes/5"


def test_public_keys_in_every_shape() -> None:
    actor = parse_actor(
        {
            **ACTOR,
            "publicKey": [
                {"id": "https://remote.example/users/ann#main-key", "publicKeyPem": "PEM"},
                {"id": "https://remote.example/users/ann#bad"},
                "https://remote.example/users/ann#by-reference",
            ],
            # FEP-521a: keys for Object Integrity Proofs.
            "assertionMethod": [
                {
                    "id": "https://remote.example/users/ann#ed25519-key",
                    "type": "Multikey",
                    "controller": "https://remote.example/users/ann",
                    "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                }
            ],
        }
    )
    assert actor.public_keys == (
        PublicKeyDoc("https://remote.example/users/ann#main-key", ACTOR["id"], pem="PEM"),
        PublicKeyDoc(
            "https://remote.example/users/ann#ed25519-key",
            ACTOR["id"],
            multibase="z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        ),
    )


def test_actor_profile_fields_and_moves() -> None:
    actor = parse_actor(
        {
            **ACTOR,
            "name": "Ann &amp; co",
            "summary": "<p>bio</p><script>x</script>",
            "movedTo": "https://new.example/users/ann",
            "alsoKnownAs": ["https://old.example/users/ann", "nope"],
            "attachment": [
                {
                    "type": "PropertyValue",
                    "name": "Site",
                    "value": '<a href="https://a.example">a</a>',
                },
                {"type": "PropertyValue", "name": "Empty"},
            ],
            "manuallyApprovesFollowers": "true",
        }
    )
    assert actor.name == "Ann & co" and actor.summary_html == "<p>bio</p>"
    assert actor.moved_to == "https://new.example/users/ann"
    assert actor.also_known_as == ("https://old.example/users/ann",)
    assert [(f.name, f.value_html) for f in actor.attachments] == [
        ("Site", '<a href="https://a.example" rel="nofollow noopener noreferrer">a</a>')
    ]
    assert actor.manually_approves_followers is False  # only a JSON true counts


def test_collection_pages() -> None:
    replies = parse_collection(
        {
            "id": "https://remote.example/notes/1/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": "https://remote.example/notes/1/replies?page=2",
                "partOf": "https://remote.example/notes/1/replies",
                "items": ["https://remote.example/notes/2", "javascript:x", 5, {"id": "x"}],
            },
        }
    )
    assert replies.first is None and replies.first_page is not None
    assert replies.first_page.id is None
    assert replies.first_page.next == "https://remote.example/notes/1/replies?page=2"
    assert replies.first_page.items == ("https://remote.example/notes/2", {"id": "x"})


# JSON-LD helpers and vocabulary


@pytest.mark.parametrize(
    "value", [None, 0, 1.5, True, "", "  ", [], [[["x"]]], {"a": 1}, {"id": 3}, {"href": None}]
)
def test_jsonld_helpers_never_raise(value: Any) -> None:
    jsonld.as_list(value)
    jsonld.first(value)
    assert jsonld.id_of(value) is None or isinstance(jsonld.id_of(value), str)
    jsonld.ids_of(value)
    jsonld.types_of(value)
    jsonld.text_of(value, value)
    jsonld.has_context_term(value, "toot")
    jsonld.url_of(value)
    jsonld.image_url_of(value)
    jsonld.datetime_of(value)
    jsonld.int_of(value)


def test_jsonld_helpers() -> None:
    assert jsonld.as_list(None) == [] and jsonld.as_list("a") == ["a"]
    assert jsonld.id_of(
        {"type": "Mention", "href": "https://x.example/u", "id": "https://x.example/l"}
    ) == ("https://x.example/u")
    assert jsonld.id_of(
        {"type": "Note", "id": "https://x.example/n", "href": "https://x.example/h"}
    ) == ("https://x.example/n")
    assert jsonld.ids_of(["https://a.example/", {"id": "https://b.example/"}, 3]) == [
        "https://a.example/",
        "https://b.example/",
    ]
    assert jsonld.text_of(None, {"de": "hallo"}) == "hallo"
    assert jsonld.types_of({"type": ["as:Note", "https://www.w3.org/ns/activitystreams#Page"]}) == [
        "Note",
        "Page",
    ]
    assert jsonld.has_context_term(load("mastodon/objects/person.json"), "featured")
    assert not jsonld.has_context_term(load("mastodon/activities/follow.json"), "featured")


@pytest.mark.parametrize("url", list(jsonld.KNOWN_CONTEXTS))
def test_bundled_contexts_load_without_network(url: str) -> None:
    document = jsonld.load_context(url)
    assert isinstance(document["@context"], dict)
    document["@context"].clear()  # callers get a copy, never the cached original
    assert jsonld.load_context(url)["@context"]


def test_unknown_context_is_an_error_not_a_fetch() -> None:
    with pytest.raises(jsonld.UnknownContextError, match="never fetch"):
        jsonld.load_context("https://w3id.org/security/data-integrity/v2")


def test_outgoing_context_declares_what_mastodon_and_mobilizon_read() -> None:
    context = jsonld.ACTIVITY_CONTEXT
    assert context[:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    terms = context[2]
    expected = [
        "manuallyApprovesFollowers",
        "featured",
        "discoverable",
        "indexable",
        "PropertyValue",
        "value",
        "Hashtag",
        "sensitive",
        "joinMode",
        "participantCount",
        "timezone",
        "maximumAttendeeCapacity",
        "remainingAttendeeCapacity",
        "isOnline",
        "status",
        "anonymousParticipationEnabled",
        "participationMessage",
        "address",
    ]
    for term in expected:
        assert term in terms, term
    assert json.loads(json.dumps(context)) == context


def test_vocabulary() -> None:
    assert ActivityType.CREATE == "Create" and ObjectType.NOTE == "Note"
    assert is_public("as:Public") and is_public(["x", "Public"]) and is_public([{"id": PUBLIC}])
    assert not is_public(None) and not is_public([{"id": ["x"]}]) and not is_public(5)
    assert ACTIVITY_JSON == "application/activity+json"


def test_a_long_language_tag_keeps_its_leading_subtags() -> None:
    """Posts store at most 16 characters of language; a longer tag must not fail the store."""
    note = parse_object(
        {
            "id": "https://remote.example/notes/lang",
            "type": "Note",
            "attributedTo": "https://remote.example/users/rita",
            "content": "<p>howdy</p>",
            "contentMap": {"en-US-x-twain-abcdefgh": "<p>howdy</p>"},
        }
    )
    assert note.language == "en-US-x-twain"
    zh = parse_object(
        {
            "id": "https://remote.example/notes/zh",
            "type": "Note",
            "attributedTo": "https://remote.example/users/rita",
            "contentMap": {"zh-Hant-TW": "<p>你好</p>"},
        }
    )
    assert zh.language == "zh-Hant-TW"
