"""Colour-blind readability of the map's palettes, checked without a browser.

The page and this test read the same file (``web/static/palettes.json``). Each colour is drawn
as the map shows it (its opacity over the map's background), then seen through the Machado,
Oliveira and Fernandes (2009) simulations of deuteranopia, protanopia and tritanopia at full
severity, applied in linear RGB. Neighbouring classes of each legend must stay at least
``MIN_DELTA_E`` apart in CIE ΔE2000. The sixteen emerging patterns cannot all be told apart by
colour alone: their colours separate the hot and cold families and neighbours in the legend,
and every pattern also has its own symbol, shown in the legend and the panel.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PALETTES = Path(__file__).resolve().parents[2] / "src/geotranquil/web/static/palettes.json"

#: smallest ΔE2000 between neighbouring classes, as seen by each vision (about three times the
#: just-noticeable difference: classes of small hexagons must be told apart at a glance)
MIN_DELTA_E = 7.0
#: smallest ΔE2000 between any hot pattern and any cold one
MIN_FAMILY_DELTA_E = 15.0

# Machado et al. 2009, severity 1.0, for linear RGB
MACHADO = {
    "vision normale": np.eye(3),
    "deutéranopie": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "protanopie": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "tritanopie": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
D65 = np.array([0.95047, 1.0, 1.08883])


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    t = SRGB_TO_XYZ @ linear / D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(colour: str, opacity: float, background: str, vision: str) -> np.ndarray:
    """CIELAB of ``colour`` drawn at ``opacity`` over ``background``, as ``vision`` sees it."""
    shown = opacity * _rgb(colour) + (1 - opacity) * _rgb(background)  # blended in sRGB
    return _lab(np.clip(MACHADO[vision] @ _linear(shown), 0, 1))


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """CIE ΔE2000 (Sharma, Wu and Dalal 2005).

    Examples
    --------
    >>> round(delta_e2000(np.array([50, 2.6772, -79.7751]), np.array([50, 0, -82.7485])), 4)
    2.0425
    """
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dh = h2p - h1p
    if c1p * c2p == 0:
        dh = 0.0
    elif dh > 180:
        dh -= 360
    elif dh < -180:
        dh += 360
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_mean = (h1p + h2p) / 2
    else:
        h_mean = (h1p + h2p + (360 if h1p + h2p < 360 else -360)) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(h_mean - 30))
        + 0.24 * math.cos(math.radians(2 * h_mean))
        + 0.32 * math.cos(math.radians(3 * h_mean + 6))
        - 0.20 * math.cos(math.radians(4 * h_mean - 63))
    )
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt(
        (d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h)
    )


def _palettes() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(PALETTES.read_text(encoding="utf-8"))
    return doc


def _legends() -> dict[str, list[tuple[str, float]]]:
    """Each legend's classes in order, as (colour, opacity on the map)."""
    doc = _palettes()
    opacity = doc["fill_opacity"]

    def entries(items: list[dict[str, Any]]) -> list[tuple[str, float]]:
        return [(i["color"], i.get("opacity", opacity)) for i in items]

    return {
        "points chauds (Gi*)": entries(doc["gi_bins"]),
        "nombres et taux": [(c, opacity) for c in doc["sequential"]],
        "prévision": entries(doc["forecast"]),
        "tendances émergentes": entries(doc["patterns"]),
    }


def _distance(a: tuple[str, float], b: tuple[str, float], vision: str, background: str) -> float:
    return delta_e2000(seen(a[0], a[1], background, vision), seen(b[0], b[1], background, vision))


@pytest.mark.parametrize("vision", list(MACHADO))
@pytest.mark.parametrize("legend", list(_legends()))
def test_neighbouring_classes_stay_distinct(legend: str, vision: str) -> None:
    background = _palettes()["background"]
    classes = _legends()[legend]
    for opaque in (False, True):  # on the map, and as full swatches
        shown = [(c, 1.0) for c, _ in classes] if opaque else classes
        distances = [_distance(a, b, vision, background) for a, b in itertools.pairwise(shown)]
        worst = min(distances)
        assert worst >= MIN_DELTA_E, (
            f"{legend}, {vision} : classes {distances.index(worst)} et "
            f"{distances.index(worst) + 1} à ΔE2000 {worst:.1f} < {MIN_DELTA_E}"
        )


@pytest.mark.parametrize("vision", list(MACHADO))
def test_hot_and_cold_patterns_never_look_alike(vision: str) -> None:
    doc = _palettes()
    opacity = doc["fill_opacity"]
    hot = [(p["color"], opacity) for p in doc["patterns"] if p["code"].endswith("_hot")]
    cold = [(p["color"], opacity) for p in doc["patterns"] if p["code"].endswith("_cold")]
    assert len(hot) == len(cold) == 8
    worst = min(_distance(a, b, vision, doc["background"]) for a in hot for b in cold)
    assert worst >= MIN_FAMILY_DELTA_E


def test_every_emerging_pattern_has_its_own_symbol() -> None:
    patterns = _palettes()["patterns"]
    assert len(patterns) == 17
    symbols = [p["symbol"] for p in patterns]
    assert len(set(symbols)) == 17 and all(symbols)
    for p in patterns:
        family = p["code"].rsplit("_", 1)[-1]
        assert p["symbol"][0] == {"hot": "▲", "cold": "▼"}.get(family, "—")


def test_the_old_palettes_would_have_failed() -> None:
    """The check is not blind: ColorBrewer YlGnBu (the first version's ramp) fails it."""
    old = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
    background = _palettes()["background"]
    worst = min(
        _distance((a, 0.8), (b, 0.8), "protanopie", background) for a, b in itertools.pairwise(old)
    )
    assert worst < MIN_DELTA_E
