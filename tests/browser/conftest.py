import pytest

from tests.browser.support import ARTIFACTS, CHROMIUM


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, headless, driven by Playwright (its own browser download is not used);
    launched once per test module, since a launch costs about a second of CPU. Module scope rather
    than session scope because Playwright's sync API keeps an event loop marked as running in this
    thread while it is open, which would refuse ``asyncio.run`` and async-unsafe calls in the rest of
    the suite."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # The tests still read the database while that loop is marked as running.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def browser(chromium):
    """The module's chromium; every page and context a test opened is closed after it, so no cookie,
    storage or open page carries over to the next test."""
    yield chromium
    for context in chromium.contexts:
        context.close()
