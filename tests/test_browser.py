"""The web interface in headless Chromium (Debian's package, driven by Playwright), against two
real `fediverse serve` processes on loopback ports.

One person's story from the waitlist to a conversation across servers: apply, get approved on
the command line, sign in, fill the professional profile, follow someone on the other server,
post, see their reply arrive, like and boost it; an invite link signs up a second person; a form
posted without its CSRF token is refused. Along the way every main page is photographed at phone
and desktop widths into `screenshots/` (named in the README).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.processes import ServerProcess, servers

pytestmark = pytest.mark.e2e

playwright_api = pytest.importorskip("playwright.sync_api")
Browser = playwright_api.Browser
Page = playwright_api.Page
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "screenshots"
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}  # fmt: skip
# The pages photographed, in the order a reader meets them (the file names are numbered so).
PAGES = ("landing", "join", "waitlist-status", "sign-in", "home", "home-dark", "compose",
         "post-thread", "own-profile", "remote-profile", "notifications", "search-results",
         "profile-settings")  # fmt: skip
PASSWORD = "correct horse battery staple"
FEDERATION_WAIT = 45.0

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's chromium at {CHROMIUM} (.ci/run installs it)",
        allow_module_level=True,
    )


class Camera:
    """Photograph pages at phone and desktop widths, and collect any browser console error."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.taken: list[str] = []
        self.errors: list[str] = []
        SCREENSHOTS.mkdir(exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()

    def watch(self, page: Any) -> Any:
        """Record console errors (a CSP violation is one) and failed page loads of `page`."""
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"{page.url}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def take(
        self,
        name: str,
        url: str,
        *,
        state: Any = None,
        prepare: Callable[[Any], None] | None = None,
        dark: bool = False,
    ) -> None:
        """Save `NN-name-phone.png` (the phone's screen), `NN-name-phone-full.png` and
        `NN-name-desktop.png` (whole pages)."""
        self.taken.append(name)
        stem = f"{PAGES.index(name) + 1:02d}-{name}"
        for label, options in VIEWPORTS.items():
            context = self.browser.new_context(
                storage_state=state, color_scheme="dark" if dark else "light", **options
            )
            page = self.watch(context.new_page())
            response = page.goto(url)
            assert response is not None and response.ok, f"{url} answered {response}"
            if prepare is not None:
                prepare(page)
            if label == "phone":
                page.screenshot(path=SCREENSHOTS / f"{stem}-phone.png")
            # A viewport as tall as the page: the header and the phone's tab bar stay where
            # they belong, which a scrolling full-page capture would not do.
            height = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size({"width": options["viewport"]["width"], "height": height})
            full = f"{stem}-phone-full.png" if label == "phone" else f"{stem}-desktop.png"
            page.screenshot(path=SCREENSHOTS / full)
            context.close()


def wait_until(page: Any, url: str, ready: Callable[[], bool], what: str) -> None:
    """Reload `url` until `ready()` holds: federation between real processes takes a moment."""
    deadline = time.monotonic() + FEDERATION_WAIT
    while True:
        page.goto(url)
        if ready():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} at {url}")
        page.wait_for_timeout(250)


def make_images(folder: Path) -> tuple[Path, Path]:
    """Draw a profile picture and a header image (JPEG), as a person would upload them."""
    from PIL import Image, ImageDraw

    avatar = Image.new("RGB", (600, 600), (34, 94, 168))
    draw = ImageDraw.Draw(avatar)
    draw.ellipse((170, 90, 430, 350), fill=(245, 214, 186))
    draw.ellipse((90, 380, 510, 800), fill=(240, 180, 60))
    header = Image.new("RGB", (2, 1))
    header.putpixel((0, 0), (20, 60, 120))
    header.putpixel((1, 0), (40, 160, 150))
    header = header.resize((1500, 500), Image.Resampling.BILINEAR)
    avatar_path, header_path = folder / "avatar.jpg", folder / "header.jpg"
    avatar.save(avatar_path, quality=90)
    header.save(header_path, quality=90)
    return avatar_path, header_path


@contextmanager
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def run_ok(server: ServerProcess, *args: str, stdin: str | None = None) -> str:
    result = server.run(*args, stdin=stdin)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(base_url + "/sign-in")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def test_from_the_waitlist_to_a_conversation_across_servers(tmp_path: Path) -> None:
    avatar, header = make_images(tmp_path)
    with servers(tmp_path, 2) as (home, other), chromium() as browser:
        run_ok(home, "registrations", "mode", "approval")
        run_ok(other, "registrations", "mode", "open")
        run_ok(other, "users", "create", "bob", "--password-stdin", stdin=PASSWORD + "\n")
        home.start()
        other.start()
        camera = Camera(browser)
        a, b = home.base_url, other.base_url
        bob_handle = f"@bob@{other.host}"

        # Bob, on the other server, fills his profile in there.
        bob_page = camera.watch(browser.new_context(**VIEWPORTS["desktop"]).new_page())
        sign_in(bob_page, b, "bob")
        bob_page.goto(b + "/settings/profile")
        bob_page.get_by_label("Display name").fill("Bob Okafor")
        bob_page.get_by_label("Headline").fill("Integration engineer, FHIR and HL7")
        bob_page.get_by_label("Role").fill("Integration engineer")
        bob_page.get_by_label("Company").fill("OpenHealth Labs")
        bob_page.get_by_label("City").fill("Nairobi")
        bob_page.get_by_label("About you").fill("I connect hospital systems. Ask me about FHIR.")
        bob_page.get_by_label("Skills").fill("FHIR, HL7, Kotlin")
        bob_page.get_by_role("button", name="Save profile").click()
        expect(bob_page.get_by_role("status")).to_contain_text("Saved.")

        # Alice reads the landing page and applies.
        alice = browser.new_context(**VIEWPORTS["desktop"])
        page = camera.watch(alice.new_page())
        page.goto(a + "/")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.get_by_role("link", name="Apply to join").click()
        camera.take("join", a + "/join")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Email").fill("alice@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Why would you like to join?").fill(
            "I lead the data platform team at a hospital and would like to meet peers."
        )
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("heading", name="You are on the waitlist")).to_be_visible()
        expect(page.locator(".place-number")).to_have_text("1")
        status_url = page.url
        camera.take("waitlist-status", status_url)

        # An admin approves her from the command line; her status page says so.
        assert "alice" in run_ok(home, "registrations", "list")
        run_ok(home, "registrations", "approve", "alice")
        page.reload()
        expect(page.get_by_role("heading", name="Welcome aboard!")).to_be_visible()
        camera.take("sign-in", a + "/sign-in")
        page.get_by_role("link", name="Sign in as @alice").click()
        page.get_by_label("Username or email").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Home")).to_be_visible()

        # The professional profile, pictures included.
        page.goto(a + "/settings/profile")
        page.get_by_label("Display name").fill("Alice Martin")
        page.get_by_label("Headline").fill("Data platform lead helping hospitals share records")
        page.get_by_label("Role").fill("Head of Data Platform")
        page.get_by_label("Company").fill("St. Mary's Hospital")
        page.get_by_label("Industry").fill("Healthcare")
        page.get_by_label("City").fill("Lyon")
        page.get_by_label("About you").fill(
            "Fifteen years building data systems. I care about privacy and open standards."
        )
        page.get_by_label("Skills").fill("Python, PostgreSQL, Data engineering, Team leadership")
        page.get_by_label("Interests").fill("Open source, Interoperability, FHIR")
        page.get_by_label("Hobbies").fill("Climbing, Chess")
        page.get_by_label("Label 1").fill("Website")
        page.get_by_label("Address 1").fill("https://alice.example.org/")
        page.get_by_label("Profile picture").set_input_files(avatar)
        page.get_by_label("Header image").set_input_files(header)
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_role("status")).to_contain_text("Saved.")
        expect(page.locator("img[data-preview-for=avatar]")).to_have_attribute(
            "src", re.compile(r"/media/")
        )
        camera.take("profile-settings", a + "/settings/profile", state=alice.storage_state())

        # Find and follow a person on the other server; they follow back from the CLI.
        page.goto(a + "/search")
        page.get_by_label("Search").first.fill(f"bob@{other.host}")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text(bob_handle).first).to_be_visible()
        expect(page.get_by_text("Bob Okafor")).to_be_visible()
        camera.take("search-results", page.url, state=alice.storage_state())
        page.get_by_role("button", name=f"Follow {bob_handle}").click()
        unfollow = page.get_by_role("button", name=f"Unfollow {bob_handle}")
        wait_until(page, page.url, lambda: unfollow.count() == 1, "bob's Accept")
        run_ok(other, "follow", "bob", f"alice@{home.host}", "--wait", "20")

        # Alice posts; bob replies from his own server's web pages.
        page.goto(a + "/compose")
        page.get_by_label("Your post").fill(
            f"Hello {bob_handle}! Glad to be here. Who else works on health data? #introductions"
        )
        page.get_by_role("button", name="Publish").click()
        expect(page.locator("article.post.focus")).to_contain_text("Glad to be here")
        post_url = page.url
        alices_post = bob_page.locator("article.post", has_text="Glad to be here")
        wait_until(bob_page, b + "/", lambda: alices_post.count() == 1, "alice's post on b")
        alices_post.get_by_role("link", name="Reply").click()
        bob_page.get_by_label("Your reply").fill(
            f"Welcome @alice@{home.host}! I work on FHIR interfaces, happy to compare notes."
        )
        bob_page.get_by_role("button", name="Publish reply").click()
        expect(bob_page.locator("article.post.focus")).to_contain_text("compare notes")

        # The reply arrives on alice's post; she likes and boosts it (no page reload: script).
        reply = page.locator("article.post", has_text="compare notes")
        wait_until(page, post_url, lambda: reply.count() == 1, "bob's reply on a")
        reply.get_by_role("button", name="Like").click()
        expect(reply.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
        reply.get_by_role("button", name="Boost").click()
        expect(reply.get_by_role("button", name="Boost")).to_have_attribute("aria-pressed", "true")
        page.reload()
        expect(reply.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
        camera.take("post-thread", post_url, state=alice.storage_state())

        # Bob's server hears about the like; alice's home shows her post's reach.
        liked = bob_page.get_by_text("liked your post")
        wait_until(bob_page, b + "/notifications", lambda: liked.count() > 0, "the like on b")
        reach = page.locator("article.post", has_text="Glad to be here").locator(".reach")
        wait_until(
            page,
            a + "/",
            lambda: "reached 1 of 1 followers on 1 server" in (reach.first.text_content() or ""),
            "the reach of alice's post",
        )
        state = alice.storage_state()
        camera.take("home", a + "/", state=state)
        camera.take("home-dark", a + "/", state=state, dark=True)
        camera.take(
            "compose",
            a + "/compose",
            state=state,
            prepare=lambda shot: shot.get_by_label("Your post").fill(
                "Writing up what we learned moving our records to FHIR. #healthdata"
            ),
        )
        camera.take("own-profile", a + "/users/alice", state=state)
        camera.take("remote-profile", a + f"/{bob_handle}", state=state)
        camera.take("notifications", a + "/notifications", state=state)
        page.goto(a + "/notifications")
        expect(page.get_by_text("replied to your post")).to_be_visible()
        camera.take("landing", a + "/")

        # Once the admin lets members invite, an invite link made by alice signs up a second
        # person at once, waitlist or not.
        run_ok(home, "registrations", "invites-policy", "--who", "members")
        page.goto(a + "/invites")
        page.get_by_role("button", name="Create invite link").click()
        link = page.get_by_role("textbox", name="Invite link").input_value()
        carol = camera.watch(browser.new_context(**VIEWPORTS["phone"]).new_page())
        carol.goto(link)
        expect(carol.get_by_text("You have an invite")).to_be_visible()
        carol.get_by_label("Username").fill("carol")
        carol.get_by_label("Email").fill("carol@example.org")
        carol.get_by_label("Password").fill(PASSWORD)
        carol.get_by_role("button", name="Create account").click()
        expect(carol.get_by_role("status")).to_contain_text("Welcome to")
        carol.goto(link)
        expect(carol.get_by_role("alert")).to_contain_text("used up")

        # A form posted without its CSRF token is refused, and nothing is posted.
        forged = page.request.post(
            a + "/compose", form={"text": "forged post", "visibility": "public"}
        )
        assert forged.status == 403
        assert "forged post" not in page.request.get(a + "/users/alice").text()

        assert sorted(camera.taken) == sorted(PAGES)
        assert camera.errors == [], camera.errors
