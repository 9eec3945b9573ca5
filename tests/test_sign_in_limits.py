"""Signing in, changing a password and joining: limited per address and per *resolved* account,
with uniform answers (issue 9, items 5 and 12).

Nothing here exercises storage semantics (the counters live in the rate limiter), so these run
on SQLite only. Limits are the shipped defaults unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fediverse.errors import TooManyRequests, Unauthorized
from fediverse.services import auth, registration
from fediverse.services.actors import NewUser, create_user
from fediverse.services.passwords import verify_password
from fediverse.store.tables import Actor, RegistrationRequest, User
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance, fakenet
from tests.ui_helpers import PASSWORD, Browser, text_of

WRONG = "not the password"


@pytest.fixture
async def sqlite_net(tmp_path: Path) -> AsyncIterator[FakeNet]:
    async with fakenet(tmp_path, Database("sqlite", "")) as network:
        yield network


@pytest.fixture
async def site(sqlite_net: FakeNet) -> Instance:
    instance = await sqlite_net.add_instance("a.test")
    await create_user(
        instance.ctx, NewUser(username="dave", password=PASSWORD, email="dave@example.org")
    )
    return instance


@asynccontextmanager
async def browser_at(instance: Instance, address: str) -> AsyncIterator[Browser]:
    """Yield a browser whose requests come from `address` (the socket's peer)."""
    transport = httpx.ASGITransport(app=instance.app, client=(address, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url=instance.base_url, headers={"Accept": "text/html"}
    ) as client:
        yield Browser(client)


async def _fail(instance: Instance, login: str, address: str) -> None:
    with pytest.raises(Unauthorized):
        await auth.sign_in(instance.ctx, login, WRONG, address=address)


async def test_failing_from_one_address_does_not_lock_the_member_out(site: Instance) -> None:
    for _ in range(5):
        await _fail(site, "dave", "198.51.100.7")
    # Dave, from an address that has not been failing, signs in with the right password...
    granted = await auth.sign_in(site.ctx, "dave", PASSWORD, address="203.0.113.20")
    assert granted.username == "dave"
    # ...while the address that failed waits, even with the right password.
    with pytest.raises(TooManyRequests) as waiting:
        await auth.sign_in(site.ctx, "dave", PASSWORD, address="198.51.100.7")
    assert "failed sign-ins for this account (at most 5 per 15 minutes)" in waiting.value.message
    assert 890 <= (waiting.value.retry_after or 0) <= 900


async def test_while_an_account_is_under_attack_each_new_address_gets_one_guess(
    site: Instance,
) -> None:
    for _ in range(5):
        await _fail(site, "dave", "198.51.100.7")
    await _fail(site, "dave", "198.51.100.8")
    with pytest.raises(TooManyRequests):
        await auth.sign_in(site.ctx, "dave", WRONG, address="198.51.100.8")
    with pytest.raises(TooManyRequests):
        await auth.sign_in(site.ctx, "dave", PASSWORD, address="198.51.100.8")


async def test_name_at_name_and_email_are_one_account_for_the_limit(site: Instance) -> None:
    for typed in ("dave", "@dave", "@@dave", " DAVE ", "dave@example.org"):
        await _fail(site, typed, "198.51.100.7")
    for typed in ("dave", "@dave", "Dave@Example.org"):
        with pytest.raises(TooManyRequests):
            await auth.sign_in(site.ctx, typed, PASSWORD, address="198.51.100.7")
    # Another account from the same address is not held back by dave's failures.
    await create_user(site.ctx, NewUser(username="erin", password=PASSWORD))
    assert (await auth.sign_in(site.ctx, "erin", PASSWORD, address="198.51.100.7")).username


async def test_unknown_names_are_limited_and_answered_like_known_ones(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance(
        "a.test", rate_limits={"sign_in_failures_per_account": "2 per 15 minutes"}
    )
    await create_user(site.ctx, NewUser(username="dave", password=PASSWORD))
    answers: dict[str, list[tuple[int, str]]] = {}
    for login in ("dave", "nobody"):
        seen = answers.setdefault(login, [])
        for _ in range(3):
            try:
                await auth.sign_in(site.ctx, login, WRONG, address=f"192.0.2.{len(login)}")
            except (Unauthorized, TooManyRequests) as error:
                seen.append((error.status, error.message))
    assert answers["dave"] == answers["nobody"]
    assert [status for status, _ in answers["dave"]] == [401, 401, 429]


async def test_every_attempt_counts_against_the_address(sqlite_net: FakeNet) -> None:
    site = await sqlite_net.add_instance(
        "a.test", rate_limits={"sign_in_per_address": "3 per 15 minutes"}
    )
    await create_user(site.ctx, NewUser(username="dave", password=PASSWORD))
    await auth.sign_in(site.ctx, "dave", PASSWORD, address="2001:db8:1:2::10")
    await _fail(site, "someone", "2001:db8:1:2::11")
    await _fail(site, "someone-else", "2001:db8:1:2::12")
    # The fourth attempt from the same IPv6 /64 is refused before the password is checked.
    with pytest.raises(TooManyRequests) as refused:
        await auth.sign_in(site.ctx, "dave", PASSWORD, address="2001:db8:1:2::13")
    assert "sign-in attempts from your address (at most 3 per 15 minutes)" in refused.value.message
    assert (await auth.sign_in(site.ctx, "dave", PASSWORD, address="2001:db8:1:3::1")).username


async def test_the_sign_in_page_answers_429_with_retry_after(site: Instance) -> None:
    async with browser_at(site, "198.51.100.7") as attacker:
        for _ in range(5):
            failed = await attacker.submit(
                "/sign-in", "/sign-in", {"username": "@dave", "password": WRONG}
            )
            assert failed.status_code == 401
        blocked = await attacker.submit(
            "/sign-in", "/sign-in", {"username": "dave@example.org", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert 890 <= int(blocked.headers["Retry-After"]) <= 900
        assert "try again in 15 minutes" in text_of(blocked.text)
    async with browser_at(site, "203.0.113.20") as dave:
        await dave.sign_in("dave")


async def test_every_attempt_costs_one_password_operation_known_name_or_not(
    site: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing is uniform by construction: one argon2 run per attempt, whoever is named. (The
    first unknown name of a process used to pay for making the throwaway hash *and* checking
    it: about twice a known name's time, measured by a script, not here.)"""
    operations: list[str] = []

    def counted(name: str, function: Any) -> Any:
        async def run(*args: Any) -> Any:
            operations.append(name)
            return await function(*args)

        return run

    monkeypatch.setattr(auth, "hash_password", counted("hash", auth.hash_password))
    monkeypatch.setattr(auth, "verify_password", counted("verify", auth.verify_password))
    monkeypatch.setattr(auth, "_dummy_hash", [])  # as in a process that just started
    for login in ("nobody", "someone", "dave", "dave@example.org", "@dave"):
        operations.clear()
        await _fail(site, login, "192.0.2.1")
        assert len(operations) == 1, (login, operations)


async def test_a_hash_made_with_other_parameters_is_renewed_at_sign_in(site: Instance) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    async with site.ctx.sessions() as session:
        user = (await session.scalars(select(User))).one()
        user.password_hash = old
        await session.commit()
    await auth.sign_in(site.ctx, "dave", PASSWORD, address="192.0.2.1")
    async with site.ctx.sessions() as session:
        renewed = (await session.scalars(select(User))).one().password_hash
    assert renewed is not None and renewed != old
    assert "m=8192" not in renewed and await verify_password(renewed, PASSWORD)


async def test_changing_the_password_is_limited_per_account(site: Instance) -> None:
    async with browser_at(site, "198.51.100.7") as thief:
        await thief.sign_in("dave")
        for _ in range(5):
            guess = await thief.submit(
                "/settings/password",
                "/settings/password",
                {
                    "current_password": WRONG,
                    "new_password": "taken over!",
                    "confirm_password": "taken over!",
                },
            )
            assert guess.status_code == 403
        right = await thief.submit(
            "/settings/password",
            "/settings/password",
            {
                "current_password": PASSWORD,
                "new_password": "taken over!",
                "confirm_password": "taken over!",
            },
        )
        assert right.status_code == 429
        assert int(right.headers["Retry-After"]) > 0
        assert "attempts to change the password of this account" in text_of(right.text)
    async with site.ctx.sessions() as session:
        stored = (await session.scalars(select(User))).one().password_hash
    assert stored is not None and await verify_password(stored, PASSWORD)


def _application(name: str, email: str) -> dict[str, str]:
    return {"username": name, "email": email, "password": PASSWORD, "reason": "Hello."}


async def test_join_does_not_tell_whether_an_email_has_an_account(site: Instance) -> None:
    await registration.set_mode(site.ctx, "approval")
    async with browser_at(site, "198.51.100.7") as visitor:
        taken = await visitor.submit("/join", "/join", _application("ann", "dave@example.org"))
        free = await visitor.submit("/join", "/join", _application("bob", "bob@example.org"))
        assert taken.status_code == free.status_code == 303
        assert taken.headers["Location"].startswith("/join/status/")
        taken_page = text_of((await visitor.get(taken.headers["Location"])).text)
        free_page = text_of((await visitor.get(free.headers["Location"])).text)
    assert "You are on the waitlist" in taken_page and "You are on the waitlist" in free_page
    # Approved, ann gets an account without the address that was already dave's.
    await registration.approve(site.ctx, "ann")
    await registration.approve(site.ctx, "bob")
    assert await _emails(site) == {
        "dave": "dave@example.org",
        "ann": None,
        "bob": "bob@example.org",
    }
    async with site.ctx.sessions() as session:
        assert len((await session.scalars(select(RegistrationRequest))).all()) == 2


async def test_open_sign_up_answers_alike_for_a_taken_email(site: Instance) -> None:
    await registration.set_mode(site.ctx, "open")
    async with (
        browser_at(site, "198.51.100.7") as first,
        browser_at(site, "198.51.100.8") as second,
    ):
        taken = await first.submit("/join", "/join", _application("ann", "DAVE@example.org"))
        free = await second.submit("/join", "/join", _application("bob", "bob@example.org"))
    assert taken.status_code == free.status_code == 303
    assert taken.headers["Location"] == free.headers["Location"] == "/settings/profile?welcome=1"
    assert await _emails(site) == {
        "dave": "dave@example.org",
        "ann": None,
        "bob": "bob@example.org",
    }


async def test_join_still_names_bad_input(site: Instance) -> None:
    await registration.set_mode(site.ctx, "open")
    async with browser_at(site, "198.51.100.7") as visitor:
        bad = await visitor.submit("/join", "/join", _application("ann", "not-an-address"))
        taken_name = await visitor.submit("/join", "/join", _application("dave", "d@example.org"))
    assert bad.status_code == 422
    assert "Give an email address like name@example.org" in text_of(bad.text)
    # Names are public (profiles, WebFinger): a taken one is said plainly.
    assert taken_name.status_code == 409
    assert "already taken" in text_of(taken_name.text)


async def test_join_is_limited_per_address(sqlite_net: FakeNet) -> None:
    site = await sqlite_net.add_instance("a.test", rate_limits={"join_per_address": "2 per hour"})
    await registration.set_mode(site.ctx, "approval")
    async with browser_at(site, "198.51.100.7") as visitor:
        for name in ("ann", "bob"):
            answer = await visitor.submit("/join", "/join", _application(name, f"{name}@x.org"))
            assert answer.status_code == 303
        refused = await visitor.submit("/join", "/join", _application("cy", "cy@x.org"))
        assert refused.status_code == 429
        assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
        assert "sign-up forms sent from your address (at most 2 per hour)" in text_of(refused.text)
    async with browser_at(site, "198.51.100.8") as other:
        assert (
            await other.submit("/join", "/join", _application("cy", "cy@x.org"))
        ).status_code == 303
    async with site.ctx.sessions() as session:
        names = (await session.scalars(select(RegistrationRequest.username))).all()
    assert sorted(names) == ["ann", "bob", "cy"]


async def _emails(site: Instance) -> dict[str, str | None]:
    async with site.ctx.sessions() as session:
        rows = (await session.execute(select(Actor.username, User.email).join(User))).all()
    return {name: email for name, email in rows}
