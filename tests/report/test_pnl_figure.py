"""pnl.png's layout (``bot.report.pnl``): fixed margins, widened only when a panel's y labels
would leave the figure."""

from __future__ import annotations

from dataclasses import replace

from test_plot_worker import _job

from bot.report.pnl import new_figure


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
