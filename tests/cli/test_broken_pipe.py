"""A reader that leaves early (`... | head -1`) ends a command quietly: exit 0, no traceback,
no "please report it"."""

import subprocess
import sys

from testkit import cli_env, write_config


def test_a_closed_output_pipe_ends_the_command_quietly(tmp_path):
    rows = "\n".join(["text"] + [f"Acme {k} beats estimates and raises guidance" for k in range(30_000)])
    (tmp_path / "h.csv").write_text(rows + "\n")
    config = write_config(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sentiment",
            "--config",
            str(config),
            "--file",
            str(tmp_path / "h.csv"),
            "--column",
            "text",
            "--json",
        ],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = process.stdout.readline()
    assert first.startswith(b"{")
    process.stdout.close()  # the reader leaves, as `head -1` does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr and b"please report" not in stderr and b"BrokenPipe" not in stderr
