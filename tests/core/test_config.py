import dataclasses
import re
from datetime import date

import pytest

from bot.config import Config, describe, load_config, override, secrets_from_env
from bot.errors import ConfigError

from testkit import REPO, run_cli


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_repo_config_loads_and_equals_the_defaults():
    config = load_config(REPO / "config.toml")
    assert dataclasses.replace(config, base_dir=Config().base_dir) == Config()


def test_every_key_is_documented_in_config_toml_and_docs():
    toml_text = (REPO / "config.toml").read_text()
    # the key table moved from README.md to docs/configuration.md (generated from the schema)
    docs = (REPO / "docs" / "configuration.md").read_text()
    for key, _default, help_text in describe():
        section, _, name = key.rpartition(".")
        assert f"[{section}]" in toml_text, key
        # a key that is off while absent (default None) is shown commented out, with an example value
        pattern = (
            rf"^# {re.escape(name)} = "
            if _default is None and section == "risk"
            else rf"^{re.escape(name)} = "
        )
        assert re.search(pattern, toml_text, re.M), f"{key} missing from config.toml"
        assert f"`{key}`" in docs, (
            f"{key} missing from docs/configuration.md (run docs/generate_configuration.py)"
        )
        assert help_text, f"{key} has no help text"


def test_values_are_typed_and_frozen(tmp_path):
    config = load_config(write(tmp_path, '[data]\nsymbols = ["aapl", "MSFT"]\nstart = 2021-02-03\n'))
    assert config.data.symbols == ("AAPL", "MSFT")
    assert config.data.start == date(2021, 2, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.data.source = "x"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[data\nsource=1", r"c\.toml: malformed TOML"),
        ("[data]\nsourze = 'sample'\n", r"c\.toml: data\.sourze: unknown key"),
        ("[nope]\nx = 1\n", r"c\.toml: nope: unknown key"),
        (
            "[broker]\ninitial_cash = 'lots'\n",
            r"c\.toml: broker\.initial_cash: expected a number, got 'lots'",
        ),
        ("[broker]\ninitial_cash = -5\n", r"broker\.initial_cash: expected a number > 0"),
        ("[broker]\nallow_short = 1\n", r"broker\.allow_short: expected true or false"),
        ("[data]\ntimeframe = '2Min'\n", r"data\.timeframe: expected one of '1Day'"),
        ("[data]\nsource = 'ftp:x'\n", r"data\.source: expected 'sample', 'alpaca' or 'csv:DIR'"),
        ("[data]\nstart = 'yesterday'\n", r"data\.start: expected a date YYYY-MM-DD"),
        ("[data]\nsymbols = 5\n", r"data\.symbols: expected a list of strings"),
        ("[strategy.sma_cross]\nfast = 30\nslow = 10\n", r"strategy\.sma_cross\.fast: expected less than"),
        ("[strategy]\nsma_cross = 3\n", r"strategy\.sma_cross: expected a table"),
        ("data = 1\n", r"data: expected a table"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_override_validates_like_the_file():
    config = override(Config(), "data", "command line", symbols="aapl, msft", start="2020-01-02")
    assert config.data.symbols == ("AAPL", "MSFT") and config.data.start == date(2020, 1, 2)
    with pytest.raises(ConfigError, match=r"command line: data\.timeframe"):
        override(Config(), "data", "command line", timeframe="7Min")


def test_secrets_come_from_env_with_alpaca_names_and_never_repr():
    secrets = secrets_from_env({"APCA_API_KEY_ID": "PKTEST1234", "APCA_API_SECRET_KEY": "s3cr3tvalue"})
    assert secrets.alpaca_key == "PKTEST1234" and secrets.alpaca_secret == "s3cr3tvalue"
    assert "s3cr3t" not in repr(secrets)
    ours = secrets_from_env({"ALPACA_API_KEY": "A1", "APCA_API_KEY_ID": "B2", "SMTP_PASSWORD": "pw12"})
    assert ours.alpaca_key == "A1" and ours.smtp_password == "pw12"


@pytest.mark.parametrize("text", ["[data\n", "[data]\nbogus = 1\n", "[broker]\ninitial_cash = 'x'\n"])
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path, text):
    path = write(tmp_path, text)
    for command in (["simulate"], ["status"]):
        result = run_cli(*command, "--config", str(path), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], result.stderr


def test_cli_flag_errors_exit_2(tmp_path):
    config = write(tmp_path, "")
    result = run_cli("simulate", "--config", str(config), "--timeframe", "3Min", cwd=tmp_path)
    assert result.returncode == 2 and "data.timeframe" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("[daemon]\nstale_after_bars = 3", "risk.max_stale_bars"),
        ("[risk]\nmax_broker_failures = 5", "daemon.max_broker_failures"),
        ("[risk]\nhalt_on_model_rejected = true", "daemon.halt_on_model_rejected"),
    ],
)
def test_a_moved_key_names_its_new_home(tmp_path, old, new):
    path = tmp_path / "config.toml"
    path.write_text(old + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"this key is now {new}" in str(caught.value) and str(path) in str(caught.value)
