"""The bulletin's figures, computed from weekly counts: changes, the table per area, the
largest changes, and the three sentences of the summary. Pure: counts in, figures out."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geotranquil.bulletin.weeks import IsoWeek

#: how many earlier weeks the "usual" level is the mean of
BASELINE_WEEKS = 4
#: how many areas (or cells) the table of the largest changes lists
TOP_CHANGES = 10
#: emerging patterns the summary counts as "emerging" (new, consecutive, intensifying)
EMERGING_PATTERNS = ("new_hot", "consecutive_hot", "intensifying_hot")


def change_pct(current: float, baseline: float) -> float | None:
    """Relative change of ``current`` against ``baseline``, in percent; None when the
    baseline is zero (no change can be stated).

    Examples
    --------
    >>> change_pct(15, 12.0), change_pct(9, 12.0), change_pct(3, 0)
    (25.0, -25.0, None)
    """
    if baseline == 0:
        return None
    return (current - baseline) / baseline * 100.0


def fr_number(value: float, decimals: int = 0) -> str:
    r"""A number the French way: decimal comma, narrow no-break space between thousands.

    Examples
    --------
    >>> fr_number(1234), fr_number(10.25, 1), fr_number(-3.0, 1)
    ('1\u202f234', '10,2', '\u22123,0')
    """
    rounded = round(value, decimals)
    text = f"{abs(rounded):,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return ("\u2212" if rounded < 0 else "") + text


def fr_change(pct: float | None) -> str:
    r"""A change in percent as printed: signed, rounded to the unit, a no-break space before
    the sign %; « n.d. » when none.

    Examples
    --------
    >>> fr_change(25.0), fr_change(-12.5), fr_change(0.2), fr_change(None)
    ('+25\xa0%', '\u221212\xa0%', '0\xa0%', 'n.d.')
    """
    if pct is None:
        return "n.d."
    rounded = round(pct)
    if rounded == 0:
        return "0\u00a0%"
    sign = "+" if rounded > 0 else "\u2212"
    return f"{sign}{fr_number(abs(rounded))}\u00a0%"


def area_table(
    counts: pd.DataFrame, areas: pd.DataFrame, week: IsoWeek, last_year: pd.Series
) -> pd.DataFrame:
    """Per area: the week's count, the mean of the :data:`BASELINE_WEEKS` weeks before and the
    change against it, the same week a year earlier and the change against it.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``code``, ``week`` (an :class:`IsoWeek` label), ``n``: events per area and week, for
        ``week`` and the weeks before it (missing rows are zeros).
    areas : pandas.DataFrame
        ``code``, ``name`` of every area, in the order of the table.
    week : IsoWeek
        The bulletin's week.
    last_year : pandas.Series
        Events per area code in the same week a year earlier (missing codes are zeros).

    Returns
    -------
    pandas.DataFrame
        Indexed by code: ``name``, ``n``, ``baseline``, ``change``, ``last_year``,
        ``change_last_year`` (changes in percent, None when the reference is zero).

    Examples
    --------
    >>> w = IsoWeek(2026, 49)
    >>> counts = pd.DataFrame({
    ...     "code": ["1", "1", "1", "2"],
    ...     "week": ["2026-S49", "2026-S48", "2026-S45", "2026-S49"],
    ...     "n": [15, 8, 4, 3],
    ... })
    >>> areas = pd.DataFrame({"code": ["1", "2"], "name": ["1er", "2e"]})
    >>> t = area_table(counts, areas, w, pd.Series({"1": 10}))
    >>> [str(v) for v in t.loc["1", ["n", "baseline", "change", "last_year",
    ...                                "change_last_year"]]]
    ['15', '3.0', '400.0', '10', '50.0']
    >>> [str(v) for v in t.loc["2", ["n", "baseline", "change", "last_year"]]]
    ['3', '0.0', 'None', '0']
    """
    labels = [w.label for w in week.previous(BASELINE_WEEKS)]
    grid = counts.pivot_table(index="code", columns="week", values="n", aggfunc="sum")
    grid = grid.reindex(index=areas["code"], columns=[*labels, week.label]).fillna(0)
    table = pd.DataFrame(index=pd.Index(areas["code"], name="code"))
    table["name"] = areas["name"].to_numpy()
    table["n"] = grid[week.label].astype(int)
    table["baseline"] = grid[labels].mean(axis=1).astype(float)
    table["change"] = pd.Series(
        [change_pct(n, b) for n, b in zip(table["n"], table["baseline"], strict=True)],
        index=table.index,
        dtype=object,
    )
    table["last_year"] = last_year.reindex(table.index).fillna(0).astype(int)
    table["change_last_year"] = pd.Series(
        [change_pct(n, b) for n, b in zip(table["n"], table["last_year"], strict=True)],
        index=table.index,
        dtype=object,
    )
    return table


def largest_changes(table: pd.DataFrame, n: int = TOP_CHANGES) -> pd.DataFrame:
    """The ``n`` rows of an :func:`area_table`-like frame (``n``, ``baseline``) whose count
    moved most from the baseline (absolute difference; ties by code), with ``difference``.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [5, 1, 9], "baseline": [2.0, 4.0, 9.0]}, index=["a", "b", "c"])
    >>> largest_changes(t, 2)["difference"].to_dict()
    {'a': 3.0, 'b': -3.0}
    """
    out = table.assign(difference=table["n"] - table["baseline"])
    out = out[out["difference"] != 0]
    order = out.assign(size=out["difference"].abs(), key=out.index.astype(str))
    order = order.sort_values(["size", "key"], ascending=[False, True])
    return out.loc[order.index[:n]]


@dataclass(frozen=True)
class Summary:
    """What the three sentences say."""

    total: int
    baseline: float
    rise_name: str | None  # the area with the largest rise (None: no area rose)
    rise_n: int
    rise_baseline: float
    hot_spots: int | None  # None: no hot-spot run yet
    emerging: int | None  # None: no emerging run yet


def summarize(
    total: int, baseline: float, table: pd.DataFrame, hot: int | None, emerging: int | None
) -> Summary:
    """The figures of the summary: the area with the largest rise is the one whose count
    exceeds its baseline by most events (ties: first in the table).

    Examples
    --------
    >>> t = pd.DataFrame({"name": ["1er", "2e"], "n": [5, 9], "baseline": [2.0, 4.0]})
    >>> s = summarize(14, 6.0, t, 3, None)
    >>> s.rise_name, s.rise_n, s.rise_baseline
    ('2e', 9, 4.0)
    """
    rise = table.assign(d=table["n"] - table["baseline"])
    rise = rise[rise["d"] > 0]
    if rise.empty:
        return Summary(total, baseline, None, 0, 0.0, hot, emerging)
    best = rise.iloc[int(rise["d"].to_numpy().argmax())]
    return Summary(
        total, baseline, str(best["name"]), int(best["n"]), float(best["baseline"]), hot, emerging
    )


def sentences(summary: Summary, week: IsoWeek) -> list[str]:
    """The three sentences of the summary, in French, figures included.

    Examples
    --------
    >>> import textwrap
    >>> s = Summary(120, 96.0, "Marseille 3e Arrondissement", 30, 12.0, 5, 2)
    >>> for line in sentences(s, IsoWeek(2026, 49)):
    ...     print(textwrap.fill(line.replace("\xa0", " "), 88))
    Semaine du 30/11/2026 au 06/12/2026 : 120 événements enregistrés, +25 % par rapport à la
    moyenne des quatre semaines précédentes (96,0 par semaine).
    La plus forte hausse concerne Marseille 3e Arrondissement : 30 événements contre 12,0 en
    moyenne (+150 %).
    Les dernières analyses comptent 5 points chauds significatifs et 2 tendances émergentes
    (nouveaux points chauds, consécutifs ou en intensification).
    """
    first = (
        f"Semaine {week.french_span()} : {fr_number(summary.total)} événements enregistrés, "
        f"{fr_change(change_pct(summary.total, summary.baseline))} par rapport à la moyenne "
        f"des quatre semaines précédentes ({fr_number(summary.baseline, 1)} par semaine)."
    )
    if summary.rise_name is None:
        second = "Aucun arrondissement n'est en hausse par rapport aux quatre semaines précédentes."
    else:
        second = (
            f"La plus forte hausse concerne {summary.rise_name} : {fr_number(summary.rise_n)} "
            f"événements contre {fr_number(summary.rise_baseline, 1)} en moyenne "
            f"({fr_change(change_pct(summary.rise_n, summary.rise_baseline))})."
        )
    if summary.hot_spots is None and summary.emerging is None:
        third = "Aucune analyse des points chauds n'a encore été calculée."
    else:
        hot = "non calculés" if summary.hot_spots is None else fr_number(summary.hot_spots)
        em = "non calculées" if summary.emerging is None else fr_number(summary.emerging)
        third = (
            f"Les dernières analyses comptent {hot} points chauds significatifs et {em} "
            "tendances émergentes (nouveaux points chauds, consécutifs ou en intensification)."
        )
    return [first, second, third]
