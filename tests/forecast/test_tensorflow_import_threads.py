"""TensorFlow's quiet import from several threads at once (the walk-forward starts its fits on a
thread pool): stderr must still work afterwards. Two imports racing over file descriptor 2 left it
pointing at the other's closed temporary file, and every later log line vanished (seen in the full
suite: ``train --force`` printed an empty stderr, its WARNING lost)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The racing order forced step by step: thread A saves fd 2 and redirects it; only then does
# thread B save it (so B saves A's temporary file) and redirect it; A restores first, then B
# "restores" fd 2 to A's temporary file. A guarded import lets B in only after A is done (B then
# finds TensorFlow imported and touches nothing): each wait below gives up after a few seconds.
SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from bot.forecast import tensorflow_import as ti

    real_os = os
    a_redirected, b_redirected, a_restored = threading.Event(), threading.Event(), threading.Event()
    first = []

    class RacingOs:
        def __getattr__(self, name):
            return getattr(real_os, name)

        def dup(self, fd):
            if not first:
                first.append(threading.get_ident())
            elif first[0] != threading.get_ident():
                a_redirected.wait(5)  # B saves fd 2 only once A redirected it
            return real_os.dup(fd)

        def dup2(self, fd, fd2):
            is_a = first and first[0] == threading.get_ident()
            if fd2 == 2 and is_a and not a_redirected.is_set():
                real_os.dup2(fd, fd2)
                a_redirected.set()
                b_redirected.wait(5)  # let B redirect before A goes on
                return
            if fd2 == 2 and is_a:
                real_os.dup2(fd, fd2)
                a_restored.set()
                return
            if fd2 == 2 and not b_redirected.is_set():
                real_os.dup2(fd, fd2)
                b_redirected.set()
                return
            a_restored.wait(5)  # B restores after A
            real_os.dup2(fd, fd2)

    ti.os = RacingOs()
    threads = [threading.Thread(target=ti.import_tensorflow) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    real_os.write(2, b"fd2-after-import\\n")
    print("stderr-after-import", file=sys.stderr, flush=True)
    """
)


def test_stderr_survives_imports_from_two_threads():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fd2-after-import" in result.stderr
    assert "stderr-after-import" in result.stderr


def test_the_import_runs_without_the_garbage_collector_and_freezes_what_it_made() -> None:
    script = textwrap.dedent(
        """
        import gc, json
        from bot.forecast.tensorflow_import import import_tensorflow

        before = gc.get_freeze_count()
        collections = []
        gc.callbacks.append(lambda phase, info: collections.append(phase) if phase == "start" else None)
        tf, keras = import_tensorflow()
        print(json.dumps({"during": len(collections), "enabled": gc.isenabled(),
                          "frozen": gc.get_freeze_count() - before, "works": float(tf.constant(2.0) * 2)}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["during"] == 0  # no collection while the import made its objects
    assert out["enabled"] is True  # collecting again afterwards
    assert out["frozen"] > 100_000  # TensorFlow's and Keras's objects skipped by later collections
    assert out["works"] == 4.0
