"""Root fixtures; the helpers themselves live in testkit.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit import KEY_VARS, write_config


@pytest.fixture
def tmp_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def no_alpaca_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process sees no Alpaca keys, whatever the developer's shell holds (for in-process
    calls; a CLI subprocess gets ``testkit.NO_KEYS`` as its env instead)."""
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
