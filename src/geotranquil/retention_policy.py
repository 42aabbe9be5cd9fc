"""The retention policy: how long each kind of personal data or free text is kept, by source
and category, read from a TOML file (``retention.toml`` packaged, or
``GEOTRANQUIL_RETENTION_FILE``).

What each kind of data clears is fixed here (:data:`KINDS`) and applied by
``services/retention.py``; events themselves are never deleted, so counts stay as they were.
"""

from __future__ import annotations

import calendar
import os
import re
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from geotranquil.errors import InvalidInput
from geotranquil.taxonomy import load_taxonomy

WILDCARD = "*"


@dataclass(frozen=True)
class Kind:
    """A kind of data a rule may clear: its French label and what goes, in words."""

    code: str
    label: str
    clears: str


#: every kind of data the policy governs, in the order the purge applies them
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "free_text",
            "texte libre",
            "clés « attributes » des événements (toutes avec « * ») ; description, note publique "
            "et notes d'historique des signalements",
        ),
        Kind(
            "address",
            "adresse",
            "adresse des événements, requête et adresse trouvée du géocodage, adresse saisie "
            "des signalements (la position reste)",
        ),
        Kind("contact", "coordonnées", "coordonnées de l'auteur d'un signalement (supprimées)"),
        Kind("photo", "photo", "photo d'un signalement (supprimée) et son lien media_url"),
        Kind(
            "rejected_raw",
            "lignes rejetées",
            "contenu brut et détail des lignes rejetées à l'ingestion (n° de ligne et motif "
            "restent)",
        ),
    )
}
#: kinds that are personal data of a person who gave them: a limit is mandatory
PERSONAL_KINDS = ("contact", "photo")
_RULE_KEYS = {"source", "category", "data", "days", "months", "forever", "attributes", "note"}
_SLUG = re.compile(r"^[a-z0-9_\-]{1,64}$")
_MAX_DAYS = 36_600
_MAX_MONTHS = 1_200


def shift_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (negative: back), clamped to the month's end.

    Examples
    --------
    >>> shift_months(date(2026, 3, 31), -1)
    datetime.date(2026, 2, 28)
    >>> shift_months(date(2026, 12, 6), -6)
    datetime.date(2026, 6, 6)
    >>> shift_months(date(2025, 11, 30), 3)
    datetime.date(2026, 2, 28)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Rule:
    """One rule of the policy: ``data`` of ``source`` × ``category`` is kept for a duration."""

    number: int  # position in the file, from 1
    source: str
    category: str
    data: str
    days: int | None = None
    months: int | None = None
    attributes: tuple[str, ...] = ()  # free_text: keys cleared; ("*",) = every key
    note: str = ""

    @property
    def forever(self) -> bool:
        return self.days is None and self.months is None

    @property
    def duration(self) -> str:
        """The duration in French words.

        Examples
        --------
        >>> Rule(1, "*", "*", "contact", days=30).duration
        '30 jours'
        >>> Rule(1, "*", "*", "free_text", months=1).duration
        '1 mois'
        """
        if self.days is not None:
            return f"{self.days} jour{'s' if self.days > 1 else ''}"
        if self.months is not None:
            return f"{self.months} mois"
        return "sans limite"

    def first_day_kept(self, day: date) -> date | None:
        """On ``day``, the first local day whose data are kept (older data are cleared).

        Examples
        --------
        >>> Rule(1, "*", "*", "contact", days=30).first_day_kept(date(2026, 12, 6))
        datetime.date(2026, 11, 6)
        >>> Rule(1, "*", "*", "free_text", months=6).first_day_kept(date(2026, 12, 6))
        datetime.date(2026, 6, 6)
        """
        if self.days is not None:
            return day - timedelta(days=self.days)
        if self.months is not None:
            return shift_months(day, -self.months)
        return None

    def expires(self, at: datetime) -> datetime | None:
        """When data collected at ``at`` are due to go (``None``: kept without limit)."""
        if self.days is not None:
            return at + timedelta(days=self.days)
        if self.months is not None:
            moved = shift_months(at.date(), self.months)
            return at.replace(year=moved.year, month=moved.month, day=moved.day)
        return None

    def specificity(self) -> int:
        """Precedence: source and category (3) > source (2) > category (1) > neither (0)."""
        return 2 * (self.source != WILDCARD) + (self.category != WILDCARD)

    def matches(self, source: str, category: str) -> bool:
        return self.source in (WILDCARD, source) and self.category in (WILDCARD, category)


@dataclass(frozen=True)
class RetentionPolicy:
    """The rules in force and where they were read from."""

    origin: str
    rules: tuple[Rule, ...]

    def rule_for(self, data: str, source: str, category: str) -> Rule | None:
        """The rule that governs ``data`` of ``source`` × ``category`` (the most precise)."""
        found = [r for r in self.rules if r.data == data and r.matches(source, category)]
        return max(found, key=Rule.specificity) if found else None


def _fail(origin: str, where: str, message: str) -> InvalidInput:
    return InvalidInput(f"politique de conservation {origin}{where} : {message}")


def _positive(value: Any, name: str, most: int, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise fail(f"« {name} » doit être un nombre entier de 1 à {most}, pas {value!r}")
    return value


def _rule(number: int, raw: Any, origin: str, categories: Collection[str]) -> Rule:
    def fail(message: str) -> InvalidInput:
        return _fail(origin, f", règle n° {number}", message)

    if not isinstance(raw, dict):
        raise fail("une règle s'écrit [[rule]] suivie de ses clés")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(
            f"clé(s) inconnue(s) {', '.join(unknown)} ; clés possibles : "
            f"{', '.join(sorted(_RULE_KEYS))}"
        )
    for key in ("source", "category", "data"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise fail(f"« {key} » manque (texte ; « * » pour toutes)")
    source, category, data = raw["source"].strip(), raw["category"].strip(), raw["data"].strip()
    if data not in KINDS:
        raise fail(f"donnée « {data} » inconnue ; données possibles : {', '.join(KINDS)}")
    if source != WILDCARD and not _SLUG.match(source):
        raise fail(f"source « {source} » invalide (un identifiant comme police_municipale, ou *)")
    if category != WILDCARD and category not in categories:
        raise fail(
            f"catégorie « {category} » inconnue ; catégories : {', '.join(sorted(categories))}"
        )
    if data == "rejected_raw" and category != WILDCARD:
        raise fail('une ligne rejetée n\'a pas de catégorie sûre : category = "*" seulement')
    durations = [k for k in ("days", "months", "forever") if k in raw]
    if len(durations) != 1:
        raise fail("donnez une seule durée : days = N, months = N ou forever = true")
    days = months = None
    if "days" in raw:
        days = _positive(raw["days"], "days", _MAX_DAYS, fail)
    elif "months" in raw:
        months = _positive(raw["months"], "months", _MAX_MONTHS, fail)
    elif raw["forever"] is not True:
        raise fail("« forever » ne peut valoir que true (sinon donnez days ou months)")
    if days is None and months is None and data in PERSONAL_KINDS:
        raise fail(f"les données « {data} » sont personnelles : une durée limitée est obligatoire")
    attributes: tuple[str, ...] = ()
    if "attributes" in raw:
        value = raw["attributes"]
        if data != "free_text":
            raise fail("« attributes » ne s'emploie qu'avec data = \"free_text\"")
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise fail('« attributes » est une liste de noms de champs, par exemple ["*"]')
        attributes = tuple(dict.fromkeys(value))
        if WILDCARD in attributes and len(attributes) > 1:
            raise fail("« attributes » : « * » (tous les champs) s'emploie seul")
    elif data == "free_text":
        attributes = (WILDCARD,)
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise fail("« note » est un texte")
    return Rule(number, source, category, data, days, months, attributes, note.strip())


def parse_policy(
    text: str,
    *,
    origin: str,
    categories: Collection[str],
    personal_sources: Iterable[str] = (),
) -> RetentionPolicy:
    """Read and check a policy; every problem is an :class:`InvalidInput` in French.

    ``personal_sources`` must have a limited rule for every kind of :data:`PERSONAL_KINDS`
    and every category (e.g. the residents' source: their contacts and photos).

    Examples
    --------
    >>> policy = parse_policy(
    ...     '[[rule]]\\nsource = "*"\\ncategory = "*"\\ndata = "contact"\\ndays = 30\\n'
    ...     '[[rule]]\\nsource = "a"\\ncategory = "vol"\\ndata = "contact"\\ndays = 7\\n',
    ...     origin="(essai)",
    ...     categories={"vol", "tag"},
    ... )
    >>> policy.rule_for("contact", "a", "vol").days, policy.rule_for("contact", "a", "tag").days
    (7, 30)
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(origin, "", f"TOML illisible ({exc})") from None
    unknown = sorted(set(raw) - {"rule"})
    if unknown:
        raise _fail(origin, "", f"clé(s) inconnue(s) {', '.join(unknown)} : seules des [[rule]]")
    items = raw.get("rule", [])
    if not isinstance(items, list):
        raise _fail(origin, "", "les règles s'écrivent [[rule]] (une table par règle)")
    rules = tuple(_rule(i, item, origin, categories) for i, item in enumerate(items, start=1))
    seen: dict[tuple[str, str, str], int] = {}
    for r in rules:
        key = (r.source, r.category, r.data)
        if key in seen:
            raise _fail(
                origin,
                f", règle n° {r.number}",
                f"même source, catégorie et donnée que la règle n° {seen[key]} "
                f"({r.source} / {r.category} / {r.data})",
            )
        seen[key] = r.number
    policy = RetentionPolicy(origin, rules)
    for source in personal_sources:
        for data in PERSONAL_KINDS:
            missing = sorted(c for c in categories if policy.rule_for(data, source, c) is None)
            if missing:
                raise _fail(
                    origin,
                    "",
                    f"aucune durée pour les données « {data} » de la source {source} "
                    f"(catégories {', '.join(missing)}) : ajoutez une règle source = "
                    f'"{source}", category = "*", data = "{data}"',
                )
    return policy


def default_policy_text() -> str:
    """The packaged default policy (``retention.toml``)."""
    return resources.files("geotranquil").joinpath("retention.toml").read_text("utf-8")


@lru_cache(maxsize=8)
def _load(path: str | None, stamp: tuple[int, int], personal: tuple[str, ...]) -> RetentionPolicy:
    categories = {c.code for c in load_taxonomy()}
    if path is None:
        text, origin = default_policy_text(), "(défaut intégré)"
    else:
        origin = f"« {path} »"
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(origin, "", f"fichier illisible ({exc})") from None
    return parse_policy(text, origin=origin, categories=categories, personal_sources=personal)


def load_policy(path: Path | None, *, personal_sources: Iterable[str] = ()) -> RetentionPolicy:
    """The policy of ``path`` (the packaged default when ``None``), read again when it changes."""
    stamp = (0, 0)
    if path is not None:
        try:
            info = os.stat(path)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            raise _fail(f"« {path} »", "", "fichier introuvable") from None
    return _load(None if path is None else str(path), stamp, tuple(personal_sources))
