from __future__ import annotations

from tests.fixtures.browser import chrome_driver  # noqa: F401
