"""pnl.png's layout (``bot.report.pnl``): fixed margins, widened only when a panel's y labels
would leave the figure; and matplotlib loaded for it without the 3D toolkit."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from test_plot_worker import _job

from bot.report.pnl import new_figure

from testkit import cli_env


def _leftmost_label_edges(figure) -> list[float]:
    fig, axes = figure
    renderer = fig.canvas.get_renderer()
    return [ax.yaxis.get_tightbbox(renderer).x0 for ax in axes]


def test_labels_of_millions_stay_inside_the_figure(tmp_path):
    job = _job(tmp_path / "pnl.png")
    # a run that grew to millions: "$4,000,000" ticks pushed "equity" off the 9 % margin
    job = replace(job, data=replace(job.data, buy_and_hold=job.data.buy_and_hold * 45))
    figure = new_figure()
    job.draw(figure)
    assert min(_leftmost_label_edges(figure)) >= 0
    assert figure[0].subplotpars.left > 0.09


def test_labels_that_fit_keep_the_fixed_margin(tmp_path):
    figure = new_figure()
    _job(tmp_path / "pnl.png").draw(figure)
    assert figure[0].subplotpars.left == 0.09  # the picture drawn before the margin could widen
    assert min(_leftmost_label_edges(figure)) >= 0


def test_the_figure_module_loads_matplotlib_without_the_3d_toolkit_and_no_warning():
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"  # matplotlib's 'Unable to import Axes3D' would raise
        "import bot.report.pnl\n"
        "from matplotlib.projections import get_projection_names\n"
        "print('mpl_toolkits.mplot3d' in sys.modules, '3d' in get_projection_names())\n"
        "import mpl_toolkits.mplot3d\n"  # the block did not outlive the import
        "print(type(sys.modules['mpl_toolkits.mplot3d']).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "module"]
    assert result.stderr == ""


def test_where_matplotlib_is_loaded_already_nothing_changes():
    code = (
        "import sys\n"
        "import matplotlib.figure\n"
        "import bot.report.pnl\n"
        "from matplotlib.projections import get_projection_names\n"
        "print('3d' in get_projection_names())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]
