"""The fleet of the budget tests, at its small size; a test grows it to the big one."""

from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from tests.budgets.fleet import SMALL, Fleet, build_fleet


@pytest.fixture
def fleet(db: None, settings: Settings, tmp_path: Path) -> Fleet:
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")
    return build_fleet(SMALL)
