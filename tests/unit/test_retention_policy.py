"""The retention policy file: the packaged default, precedence, and clear French errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from geotranquil.errors import InvalidInput
from geotranquil.retention_policy import (
    default_policy_text,
    load_policy,
    parse_policy,
    shift_months,
)
from geotranquil.taxonomy import load_taxonomy

CATEGORIES = {c.code for c in load_taxonomy()}
PERSONAL = """
[[rule]]
source = "habitants"
category = "*"
data = "contact"
days = 30

[[rule]]
source = "habitants"
category = "*"
data = "photo"
months = 2
"""


def _parse(body: str) -> object:
    return parse_policy(
        body, origin="« essai.toml »", categories=CATEGORIES, personal_sources=("habitants",)
    )


def test_the_packaged_default_is_valid_and_says_what_the_readme_says() -> None:
    policy = load_policy(None, personal_sources=("habitants",))
    assert policy.origin == "(défaut intégré)"
    summary = [(r.source, r.category, r.data, r.duration) for r in policy.rules]
    assert summary == [
        ("police_municipale", "*", "free_text", "6 mois"),
        ("police_municipale", "*", "address", "12 mois"),
        ("habitants", "*", "free_text", "12 mois"),
        ("habitants", "*", "address", "12 mois"),
        ("habitants", "*", "contact", "365 jours"),
        ("habitants", "*", "photo", "365 jours"),
        ("*", "*", "address", "24 mois"),
        ("*", "*", "rejected_raw", "90 jours"),
    ]
    assert policy.rules[0].attributes == ("*",)
    assert policy.rules[2].attributes == ("description",)
    # CSU alerts carry no free text: no rule touches them
    assert policy.rule_for("free_text", "csu", "rixe_violence") is None
    assert policy.rule_for("address", "csu", "vol") is policy.rules[6]
    assert "Conservation" in default_policy_text() or "conservation" in default_policy_text()


def test_the_most_precise_rule_wins() -> None:
    policy = parse_policy(
        PERSONAL
        + """
[[rule]]
source = "*"
category = "*"
data = "address"
days = 1
[[rule]]
source = "*"
category = "vol"
data = "address"
days = 2
[[rule]]
source = "police_municipale"
category = "*"
data = "address"
days = 3
[[rule]]
source = "police_municipale"
category = "vol"
data = "address"
days = 4
""",
        origin="x",
        categories=CATEGORIES,
    )

    def days(source: str, category: str) -> int | None:
        rule = policy.rule_for("address", source, category)
        return None if rule is None else rule.days

    assert days("police_municipale", "vol") == 4
    assert days("police_municipale", "tag_graffiti") == 3
    assert days("csu", "vol") == 2
    assert days("csu", "tag_graffiti") == 1
    assert policy.rule_for("free_text", "csu", "vol") is None


def test_durations_in_days_and_calendar_months() -> None:
    policy = _parse(PERSONAL)
    contact, photo = policy.rules  # type: ignore[attr-defined]
    assert contact.first_day_kept(date(2026, 3, 1)) == date(2026, 1, 30)
    assert photo.first_day_kept(date(2026, 4, 30)) == date(2026, 2, 28)
    at = datetime(2025, 12, 31, 9, 30, tzinfo=UTC)
    assert contact.expires(at) == datetime(2026, 1, 30, 9, 30, tzinfo=UTC)
    assert photo.expires(at) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert shift_months(date(2024, 2, 29), -12) == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[[rule]\nsource = 1",
            "politique de conservation « essai.toml » : TOML illisible (",
        ),
        (
            "version = 2\n",
            "politique de conservation « essai.toml » : clé(s) inconnue(s) version : "
            "seules des [[rule]]",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "adresse"\ndays = 3\n',
            "politique de conservation « essai.toml », règle n° 3 : donnée « adresse » "
            "inconnue ; données possibles : free_text, address, contact, photo, rejected_raw",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "vols"\ndata = "address"\ndays = 3\n',
            "politique de conservation « essai.toml », règle n° 3 : catégorie « vols » "
            "inconnue ; catégories : ",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\n',
            "règle n° 3 : donnez une seule durée : days = N, months = N ou forever = true",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\ndays = 3\nmonths = 1\n',
            "règle n° 3 : donnez une seule durée",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\ndays = -3\n',
            "règle n° 3 : « days » doit être un nombre entier de 1 à 36600, pas -3",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\nmonths = "6"\n',
            "règle n° 3 : « months » doit être un nombre entier de 1 à 1200, pas '6'",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\nforever = false\n',
            "règle n° 3 : « forever » ne peut valoir que true",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\ndays = 3\nduree = 2\n',
            "règle n° 3 : clé(s) inconnue(s) duree ; clés possibles : attributes, category, "
            "data, days, forever, months, note, source",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "address"\ndays = 3\n'
            'attributes = ["x"]\n',
            "règle n° 3 : « attributes » ne s'emploie qu'avec data = \"free_text\"",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "*"\ndata = "free_text"\ndays = 3\n'
            'attributes = ["*", "x"]\n',
            "règle n° 3 : « attributes » : « * » (tous les champs) s'emploie seul",
        ),
        (
            '[[rule]]\nsource = "*"\ncategory = "vol"\ndata = "rejected_raw"\ndays = 3\n',
            'règle n° 3 : une ligne rejetée n\'a pas de catégorie sûre : category = "*" seulement',
        ),
        (
            '[[rule]]\nsource = "Police Municipale"\ncategory = "*"\ndata = "address"\ndays = 3\n',
            "règle n° 3 : source « Police Municipale » invalide",
        ),
        (
            '[[rule]]\ncategory = "*"\ndata = "address"\ndays = 3\n',
            "règle n° 3 : « source » manque (texte ; « * » pour toutes)",
        ),
        (
            '[[rule]]\nsource = "habitants"\ncategory = "*"\ndata = "contact"\ndays = 3\n',
            "règle n° 3 : même source, catégorie et donnée que la règle n° 1 "
            "(habitants / * / contact)",
        ),
    ],
)
def test_a_bad_rule_is_refused_with_a_french_message(body: str, message: str) -> None:
    text = body if not body.startswith("[[rule]]\n") else PERSONAL + body
    with pytest.raises(InvalidInput) as refused:
        _parse(text)
    assert message in str(refused.value)


def test_personal_data_need_a_limit_for_every_category() -> None:
    with pytest.raises(InvalidInput) as refused:
        only_vol = 'category = "vol"\ndata = "photo"'
        _parse(PERSONAL.replace('category = "*"\ndata = "photo"', only_vol))
    assert "aucune durée pour les données « photo » de la source habitants" in str(refused.value)
    assert 'ajoutez une règle source = "habitants", category = "*", data = "photo"' in str(
        refused.value
    )
    with pytest.raises(InvalidInput) as forever:
        _parse(PERSONAL.replace("days = 30", "forever = true"))
    assert "règle n° 1 : les données « contact » sont personnelles : une durée limitée est " in (
        str(forever.value)
    )


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PERSONAL, encoding="utf-8")
    assert load_policy(path, personal_sources=("habitants",)).rules[0].days == 30
    path.write_text(PERSONAL.replace("days = 30", "days = 45") + "\n", encoding="utf-8")
    assert load_policy(path, personal_sources=("habitants",)).rules[0].days == 45
    with pytest.raises(InvalidInput, match="fichier introuvable"):
        load_policy(tmp_path / "absent.toml")
