"""Request validation errors (pydantic's, in English) said in French, without echoing input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: pydantic error type -> French phrase (``{limit}`` and the like from the error's context)
PHRASES = {
    "missing": "obligatoire",
    "extra_forbidden": "champ inconnu",
    "string_type": "texte attendu",
    "string_too_long": "au plus {max_length} caractères",
    "string_too_short": "au moins {min_length} caractère(s)",
    "int_type": "nombre entier attendu",
    "int_parsing": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "finite_number": "nombre fini attendu",
    "bool_type": "booléen attendu (true ou false)",
    "bool_parsing": "booléen attendu (true ou false)",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être au moins {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être au plus {le}",
    "literal_error": "valeurs possibles : {expected}",
    "enum": "valeurs possibles : {expected}",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_inexact": "date attendue (AAAA-MM-JJ)",
    "dict_type": "objet JSON attendu",
    "model_type": "objet JSON attendu",
    "model_attributes_type": "objet JSON attendu",
    "list_type": "liste attendue",
    "json_invalid": "JSON illisible",
    "json_type": "JSON attendu",
    "too_long": "au plus {max_length} élément(s)",
    "too_short": "au moins {min_length} élément(s)",
}


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p)[:40] for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = {"body": "corps", "query": "paramètre", "path": "chemin", "header": "en-tête"}
        head = kind[parts[0]]
        return f"{head} {'.'.join(parts[1:])}".strip()
    return ".".join(parts)


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    """One French sentence for pydantic's validation errors (at most five of them).

    Examples
    --------
    >>> describe([{"type": "missing", "loc": ("query", "q"), "msg": "Field required"}])
    'requête invalide : paramètre q : obligatoire'
    >>> describe([{"type": "string_too_long", "loc": ("body", "crs"),
    ...            "ctx": {"max_length": 100}}])
    'requête invalide : corps crs : au plus 100 caractères'
    """
    said = []
    for error in list(errors)[:5]:
        phrase = PHRASES.get(str(error.get("type")), "valeur invalide")
        context = {k: str(v)[:80] for k, v in (error.get("ctx") or {}).items()}
        try:
            phrase = phrase.format(**context)
        except (KeyError, IndexError):
            phrase = PHRASES.get(str(error.get("type")), "valeur invalide").split("{")[0].strip()
        said.append(f"{_where(error.get('loc', ()))} : {phrase}")
    more = f" (et {len(errors) - 5} autre(s))" if len(errors) > 5 else ""
    return "requête invalide : " + " ; ".join(said) + more
