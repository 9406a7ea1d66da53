"""Lab ``ewa``: exponentially weighted averages of a noisy daily series, with bias correction.

``v_0 = 0 ; v_t = beta * v_{t-1} + (1 - beta) * x_t``: each ``v_t`` is a
weighted mean of past values with weights ``(1 - beta) beta^k`` for the value
``k`` days back, so it averages roughly the last ``1/(1 - beta)`` days (the
weights fall to ``1/e`` after that many: ``beta^(1/(1-beta)) ~ 1/e``).

* A larger ``beta`` averages more days: a smoother curve (the noise it lets
  through has standard deviation ``sqrt((1 - beta)/(1 + beta))`` times the
  data's) that lags behind: by the mean age of its weights,
  ``beta/(1 - beta)`` days (9 for 0.9, 49 for 0.98, 1 for 0.5), on a slow
  trend; on a cycle of angular frequency ``w`` (per day) by the phase delay
  of the filter ``(1 - beta)/(1 - beta e^{-iw})``,
  ``atan(beta sin w / (1 - beta cos w)) / w`` days, a little less.
* Because ``v_0 = 0``, the first estimates are too low: the weights used so
  far sum to ``1 - beta^t``, not 1 (``v_1 = (1 - beta) x_1``). Bias
  correction divides by that sum, ``v_t / (1 - beta^t)``, making the first
  estimate ``x_1`` itself; the correction fades as ``beta^t -> 0``, after a
  few times ``1/(1 - beta)`` days.

The series is a year of synthetic daily temperatures in degrees Fahrenheit
(as the course's London data), a seasonal cycle
``55 - 15 cos(2 pi (t - 15)/365)`` plus Gaussian noise of standard
deviation 6, averaged with ``beta`` 0.9, 0.98 and 0.5 (the course's values)
by :func:`tunenet.optim.ewa`, with and without bias correction, and compared
with the noise-free seasonal curve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..optim import ewa
from .common import LabResult, child_seeds, lab
from .figures import plt, save_figure

DAYS, NOISE, EARLY, SETTLED = 365, 6.0, 10, 200
OMEGA = 2 * np.pi / DAYS
BETAS = (0.9, 0.98, 0.5)
COLOURS = {0.9: "tab:red", 0.98: "tab:green", 0.5: "goldenrod"}


def seasonal(t: np.ndarray) -> np.ndarray:
    """The noise-free temperature on day ``t`` (1-based)."""
    return 55.0 - 15.0 * np.cos(OMEGA * (t - 15))


def phase(v: np.ndarray) -> float:
    """Phase ``atan2(c, b)`` of the least-squares fit ``v_t ~ a + b cos(w t) + c sin(w t)`` after day 200."""
    t = np.arange(SETTLED + 1, DAYS + 1)
    design = np.column_stack([np.ones(t.size), np.cos(OMEGA * t), np.sin(OMEGA * t)])
    _, b, c = np.linalg.lstsq(design, v[SETTLED:], rcond=None)[0]
    return float(np.arctan2(c, b))


def lag_days(beta: float, bias_correction: bool) -> float:
    """How many days the average trails the seasonal curve after day 200.

    The lag is a property of the filter, so it is measured on the average of
    the noise-free curve (noise would blur the fit): the phase difference of
    the yearly cycles fitted to both.
    """
    truth = seasonal(np.arange(1, DAYS + 1))
    delay = (phase(ewa(truth, beta, bias_correction=bias_correction)) - phase(truth)) % (2 * np.pi)
    return float((delay if delay < np.pi else delay - 2 * np.pi) / OMEGA)


def expected_lag(beta: float) -> float:
    """Phase delay in days of ``v_t = beta v_{t-1} + (1 - beta) x_t`` on the yearly cycle."""
    return float(np.arctan2(beta * np.sin(OMEGA), 1 - beta * np.cos(OMEGA)) / OMEGA)


@lab
def run(out_dir: Path, seed: int = 0, quick: bool = False) -> LabResult:
    """Average a noisy year with three betas, with and without bias correction; tabulate and plot."""
    (noise_seed,) = child_seeds(seed, 1)
    t = np.arange(1, DAYS + 1)
    truth = seasonal(t)
    x = truth + NOISE * np.random.default_rng(noise_seed).standard_normal(DAYS)

    rows, averages = [], {}
    for beta in BETAS:
        for corrected in (False, True):
            v = ewa(x, beta, bias_correction=corrected)
            averages[beta, corrected] = v
            rows.append({"beta": beta, "bias_correction": corrected, "window_days": 1 / (1 - beta),
                         "first_estimate": v[0], "error_days_1_10": float(np.mean(np.abs(v[:EARLY] - truth[:EARLY]))),
                         "error_after_day_200": float(np.mean(np.abs(v[SETTLED:] - truth[SETTLED:]))),
                         "roughness": float(np.std(np.diff(v[SETTLED:]))), "lag_days": lag_days(beta, corrected),
                         "expected_lag": expected_lag(beta), "mean_weight_age": beta / (1 - beta)})

    plot(t, x, truth, averages, out_dir / "ewa_series.png")
    by = {(r["beta"], r["bias_correction"]): r for r in rows}
    b9, b98, b5 = (by[(b, True)] for b in BETAS)
    late_change = max(float(np.abs(averages[b, True] - averages[b, False])[SETTLED:].max()) for b in BETAS)
    reading = (
        f"The data start at {x[0]:.1f} F. Without bias correction the first estimate is (1 - beta) times that: "
        f"{by[(0.98, False)]['first_estimate']:.2f} for beta 0.98 and {by[(0.9, False)]['first_estimate']:.2f} for "
        f"0.9, so over days 1-{EARLY} the averages are off by {by[(0.98, False)]['error_days_1_10']:.1f} and "
        f"{by[(0.9, False)]['error_days_1_10']:.1f} F; corrected, by {b98['error_days_1_10']:.1f} and "
        f"{b9['error_days_1_10']:.1f} F (beta 0.5: {by[(0.5, False)]['error_days_1_10']:.1f} vs "
        f"{b5['error_days_1_10']:.1f}). The correction fades as beta^t: after day {SETTLED} it changes no average by "
        f"more than {late_change:.2f} F. A larger beta "
        f"averages more days: after day {SETTLED} the day-to-day roughness falls from {b5['roughness']:.2f} "
        f"(beta 0.5) to {b9['roughness']:.2f} (0.9) and {b98['roughness']:.2f} (0.98; the raw data: "
        f"{np.std(np.diff(x)):.2f}), while its lag behind the seasonal cycle grows to {b5['lag_days']:.1f}, "
        f"{b9['lag_days']:.1f} and {b98['lag_days']:.1f} days (the filter's phase delay at one cycle a year: "
        f"{b5['expected_lag']:.0f}, {b9['expected_lag']:.0f} and {b98['expected_lag']:.0f}; on a slow trend "
        f"beta/(1 - beta) = 1, 9, 49)."
    )
    return LabResult(
        name="ewa", title="Exponentially weighted averages of a noisy year, with and without bias correction",
        columns=["beta", "bias_correction", "window_days", "first_estimate", "error_days_1_10",
                 "error_after_day_200", "roughness", "lag_days", "expected_lag", "mean_weight_age"],
        rows=rows, reading=reading, figures=["ewa_series.png"],
        settings={"days": DAYS, "signal": "55 - 15 cos(2 pi (t - 15) / 365) (F)", "noise_std": NOISE,
                  "columns": {"error_*": "mean |v_t - seasonal(t)| in degrees F",
                              "roughness": "std of v_t - v_{t-1} after day 200",
                              "lag_days": "phase lag of the fitted yearly cycle of the average of the noise-free "
                                          "curve, after day 200",
                              "expected_lag": "atan(beta sin w / (1 - beta cos w)) / w, w = 2 pi / 365",
                              "mean_weight_age": "beta / (1 - beta)"}},
    )


def plot(t, x, truth, averages: dict, path: Path) -> None:
    """The year with the three corrected averages; the first 60 days with and without correction."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3), gridspec_kw={"width_ratios": [1.6, 1]})
    for ax, days in zip(axes, (DAYS, 60)):
        ax.plot(t[:days], x[:days], ".", color="tab:blue", markersize=3, alpha=0.5, label="daily data")
        ax.plot(t[:days], truth[:days], color="grey", linewidth=1, linestyle="--", label="seasonal curve")
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    for beta in BETAS:
        axes[0].plot(t, averages[beta, True], color=COLOURS[beta], label=f"beta {beta} (corrected)")
    for beta in (0.9, 0.98):
        axes[1].plot(t[:60], averages[beta, True][:60], color=COLOURS[beta], label=f"beta {beta} corrected")
        axes[1].plot(t[:60], averages[beta, False][:60], color=COLOURS[beta], linestyle=":", linewidth=2,
                     label=f"beta {beta} raw")
    axes[0].set_ylabel("temperature (F)")
    axes[0].set_title("a year of noisy daily temperatures and their EWAs")
    axes[1].set_title("the first 60 days: bias correction")
    axes[0].legend(fontsize=8, loc="upper left")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)
