"""Hostile configuration: non-finite numbers, out-of-range seeds and ports, repeated or empty
symbols, and a property over generated configs: each one loads or is refused with one line that
names a key — never a traceback."""

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import describe, load_config
from bot.errors import ConfigError

from testkit import run_cli, write_config

KEYS = [key for key, _default, _help in describe()]


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[broker]\ninitial_cash = inf\n", r"broker\.initial_cash: expected a finite number, got inf"),
        ("[broker]\nslippage_bps = nan\n", r"broker\.slippage_bps: expected a finite number"),
        ("[broker]\ncommission_pct = +inf\n", r"broker\.commission_pct: expected a finite number"),
        (
            "[strategy.lstm_sentiment]\nmargin_bps = inf\n",
            r"strategy\.lstm_sentiment\.margin_bps: expected a finite",
        ),
        ("[risk]\ndaily_loss_pct = -inf\n", r"risk\.daily_loss_pct: expected a finite number"),
        ("[sample]\nseed = -1\n", r"sample\.seed: expected a whole number from 0 to 4294967295"),
        ("[model]\nseed = 4294967296\n", r"model\.seed: expected a whole number from 0"),
        ("[email]\nsmtp_port = 70000\n", r"email\.smtp_port: expected a port number"),
        (
            "[data]\nsymbols = ['ACME', 'acme']\n",
            r"data\.symbols: expected each symbol once \(repeated: ACME\)",
        ),
        ("[data]\nsymbols = ['AC ME']\n", r"data\.symbols: expected ticker symbols"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_crypto_style_symbols_load(tmp_path):
    assert load_config(write(tmp_path, "[data]\nsymbols = ['BTC/USD', 'BRK.B']\n")).data.symbols == (
        "BTC/USD",
        "BRK.B",
    )


@pytest.mark.parametrize(
    "symbols, fragment",
    [("ACME,ACME", "repeated: ACME"), ("", "at least one symbol"), (" , ", "at least one symbol")],
)
def test_repeated_or_empty_symbols_on_the_command_line_exit_2(tmp_path, symbols, fragment):
    config = write_config(tmp_path)
    result = run_cli(
        "simulate", "--config", str(config), "--strategy", "buy_and_hold", "--symbols", symbols, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0] and "data.symbols" in errors[0], result.stderr


def test_an_infinite_initial_cash_exits_2_and_leaves_no_run(tmp_path):
    config = write_config(tmp_path, "[broker]\ninitial_cash = inf\n")
    result = run_cli("simulate", "--config", str(config), "--strategy", "buy_and_hold", cwd=tmp_path)
    assert (
        result.returncode == 2 and "broker.initial_cash" in result.stderr and "Traceback" not in result.stderr
    )
    assert not (tmp_path / "journal.sqlite").exists()  # refused before anything was journaled


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.lists(st.text(alphabet="ABCacme./- 12", max_size=6), max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=6))
def test_any_generated_config_loads_or_is_refused_naming_a_key(tmp_path, entries):
    sections: dict[str, list[str]] = {}
    for key, value in entries.items():
        section, _, name = key.rpartition(".")
        sections.setdefault(section, []).append(f"{name} = {toml_value(value)}")
    text = "".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items())
    try:
        load_config(write(tmp_path, text))
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        assert any(re.search(rf"\b{re.escape(key)}\b", message) for key in KEYS), message


# /proc takes no new folders, even from root (tests may run as root, which ignores chmod)
UNWRITABLE = "/proc/ml-paper-bot-test/x"


@pytest.mark.parametrize(
    "section, key, command",
    [
        ("journal", "path", ("simulate", "--strategy", "buy_and_hold")),
        ("logging", "dir", ("simulate", "--strategy", "buy_and_hold")),
        ("report", "dir", ("simulate", "--strategy", "buy_and_hold")),
        ("report", "dir", ("report", "--date", "2021-01-05")),
        ("journal", "dry_run_path", ("run", "--dry-run", "--source", "sample", "--strategy", "buy_and_hold")),
    ],
)
def test_an_unwritable_path_exits_2_naming_its_key(tmp_path, section, key, command):
    config = tmp_path / "config.toml"
    text = write_config(tmp_path).read_text()
    config.write_text(
        re.sub(rf"(\[{section}\][^\[]*?){key} = \"[^\"]*\"", rf'\1{key} = "{UNWRITABLE}"', text, flags=re.S)
    )
    assert UNWRITABLE in config.read_text()
    result = run_cli(command[0], "--config", str(config), *command[1:], cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{section}.{key}: cannot write to" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
