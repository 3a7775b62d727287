"""`sentiment --file` streams: output starts before the file ends, and bad rows are named."""

import os
import subprocess
import sys
import threading

import pytest

from testkit import cli_env, run_cli, write_config


def test_output_starts_before_the_file_has_been_read_to_its_end(tmp_path):
    """The rows come through a FIFO whose writer holds back the rest until the first scored line
    has been printed: a command that read everything first would never print it."""
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    first_line_seen = threading.Event()

    def writer() -> None:
        with open(fifo, "w") as f:
            f.write("title\n" + "".join(f"Acme {k} beats estimates\n" for k in range(600)))
            f.flush()
            first_line_seen.wait(timeout=60)
            f.write("".join(f"Globex {k} misses\n" for k in range(600)))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sentiment",
            "--config",
            str(write_config(tmp_path)),
            "--file",
            str(fifo),
            "--json",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    first = process.stdout.readline()
    held_back = not first_line_seen.is_set()
    first_line_seen.set()
    rest = process.stdout.read()  # the same buffered reader: lines it already holds are not lost
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert held_back and first.startswith(b'{"text": "Acme 0'), stderr.decode()[-2000:]
    assert process.returncode == 0 and len(rest.splitlines()) == 1199


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("title\nAcme beats\nGlobex \x00 misses\n", "line 3: a NUL byte"),
        ('title\nAcme beats\n"Globex misses\nHooli\n', "malformed CSV"),
    ],
)
def test_a_nul_byte_or_an_unterminated_quote_names_the_line(tmp_path, body, fragment):
    (tmp_path / "bad.csv").write_text(body)
    result = run_cli(
        "sentiment",
        "--config",
        str(write_config(tmp_path)),
        "--file",
        str(tmp_path / "bad.csv"),
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0] and "bad.csv" in errors[0], result.stderr
