"""``simulate`` ends its process as soon as its work is done (``bot.__main__.exit_process``): what
it printed and logged is all there, with its exit code; other commands exit the normal way."""

import subprocess
import sys

import pytest

from bot.__main__ import FAST_EXIT_COMMANDS, exit_process

from testkit import cli_env


def test_a_fast_exit_keeps_the_output_the_log_and_the_code(tmp_path):
    log = tmp_path / "bot.log"
    code = (
        "import logging, sys\n"
        "from bot.__main__ import exit_process\n"
        f"handler = logging.FileHandler({str(log)!r})\n"
        "logging.getLogger().addHandler(handler)\n"
        "logging.getLogger().warning('last words')\n"
        "sys.stdout.write('{\"done\": true}')  # no newline: still in the buffer\n"
        "sys.stderr.write('note')\n"
        "exit_process(3, ['simulate', '--json'])\n"
        "print('never printed')\n"
    )
    env = {k: v for k, v in cli_env().items() if k != "PYTHONUNBUFFERED"}  # a buffered stdout
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stdout == '{"done": true}' and result.stderr == "note"
    assert log.read_text() == "last words\n"


def test_a_reader_that_left_does_not_stop_the_fast_exit():
    code = (
        "import sys\n"
        "from bot.__main__ import exit_process\n"
        "sys.stdin.read()  # until the test has closed the output's reading end\n"
        "sys.stdout.write('x' * 1000)  # buffered: written by the exit's flush, into a closed pipe\n"
        "exit_process(0, ['simulate'])\n"
    )
    env = {k: v for k, v in cli_env().items() if k != "PYTHONUNBUFFERED"}  # a buffered stdout
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader leaves, as `head -1` does
    process.stdin.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr.decode()
    assert b"Traceback" not in stderr


@pytest.mark.parametrize("argv", [["status"], ["run", "--dry-run"], []])
def test_other_commands_exit_the_normal_way(argv):
    assert not FAST_EXIT_COMMANDS & set(argv[:1])
    with pytest.raises(SystemExit) as ended:
        exit_process(4, argv)
    assert ended.value.code == 4
