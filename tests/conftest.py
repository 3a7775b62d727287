"""Root fixtures; the helpers themselves live in testkit.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import write_config


@pytest.fixture
def tmp_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)
