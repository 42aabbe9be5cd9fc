"""How sure a placement is: the evidence of a query for a candidate street (issue 17).

The name is the main evidence; the rest adjusts it (pure functions, used by
:mod:`geotranquil.geocode.matching`):

- a postcode that disagrees is *soft* evidence (people give a neighbouring arrondissement's):
  it costs :data:`POSTCODE_MISMATCH`, less than what separates an exact name from a
  lookalike ("12 Rue Brandis 13006": Rue Brandis, 13005, not Rue Paradis, 13006), and more
  (:data:`LOOKALIKE`) for a name that is not exact;
- a street type that disagrees costs :data:`TYPE_MISMATCH` (and more for a name that is not
  exact, as for the postcode: "8 ave Jean Jaurse 13014" is not sure to be "Impasse Jean
  Jaurès, 13014" rather than "Avenue Jean Jaurès, 13013"); a missing one costs
  :data:`TYPE_MISSING`, and much more (:data:`PLACE_AS_STREET`) when the query has neither
  number nor type (a named place: "Château d'If" is not "Rue du Château d'If");
- when a candidate is spelled exactly as the query, the others, equal to it only once folded
  (articles, hyphens) or not at all, cost :data:`SPELLING`, a little more than a postcode
  that disagrees: the exact spelling wins ("Rue de Tours" / "Rue des Tours"), and against
  the postcode it is a near tie, left to an analyst; a difference of hyphens or apostrophes
  only ("Rue Sainte-Cécile" / "Rue Sainte Cécile") is weaker evidence
  (:data:`SPELLING_PUNCTUATION`): preferred, not certain;
- a rival placement of about the same evidence (:func:`ambiguity`) lowers the score: a true
  tie falls under the placing threshold, the answer is left to an analyst;
- a house number past the ends of the street is not a house number: the street is placed,
  with at most :data:`BEYOND_END` (under the placing threshold).

The constants were set so that a score reads as the probability of being within 50 m, on the
evaluation set of :mod:`geotranquil.synth.address_phrasing` (the benchmark's reliability
curve checks it).
"""

from __future__ import annotations

from typing import Final

TYPE_MISMATCH: Final = 0.12
TYPE_MISSING: Final = 0.05
PLACE_AS_STREET: Final = 0.4
POSTCODE_MISMATCH: Final = 0.1
POSTCODE_MISSING: Final = 0.02
#: what a postcode or a type that disagrees costs more, per unit of name ratio missing
LOOKALIKE: Final = 1.5
SPELLING: Final = 0.11
#: ... when the difference is only hyphens or apostrophes (people drop them): weak evidence
SPELLING_PUNCTUATION: Final = 0.05
#: a rival closer than this (in score) makes the answer ambiguous
AMBIGUITY_MARGIN: Final = 0.12
#: how much an exact tie costs per unit of missing margin
AMBIGUITY_SLOPE: Final = 3.0
BEYOND_END: Final = 0.6


def street_evidence(
    ratio: float,
    *,
    query_type: str | None,
    street_type: str | None,
    has_number: bool,
    query_postcode: str | None,
    street_postcode: str | None,
    spelled_otherwise: bool,
    punctuation_only: bool = False,
) -> float:
    """The score of a candidate street for a query, before ambiguity and house number.

    Examples
    --------
    >>> exact_elsewhere = street_evidence(1.0, query_type="rue", street_type="rue",
    ...     has_number=True, query_postcode="13006", street_postcode="13005",
    ...     spelled_otherwise=False)
    >>> lookalike_here = street_evidence(0.71, query_type="rue", street_type="rue",
    ...     has_number=True, query_postcode="13006", street_postcode="13006",
    ...     spelled_otherwise=True)
    >>> round(exact_elsewhere, 2), round(lookalike_here, 2)
    (0.9, 0.6)
    >>> round(street_evidence(1.0, query_type=None, street_type="rue", has_number=False,
    ...     query_postcode=None, street_postcode="13007", spelled_otherwise=False), 2)
    0.58
    """
    score = ratio
    if query_type is None:
        if street_type is not None:
            score -= TYPE_MISSING if has_number else PLACE_AS_STREET
    elif street_type != query_type:
        # like the postcode: another type and a lookalike name are two doubts, not one
        score -= TYPE_MISMATCH + LOOKALIKE * (1.0 - ratio)
    if query_postcode is None:
        score -= POSTCODE_MISSING
    elif street_postcode != query_postcode:
        # soft for an exact name; a lookalike name elsewhere is two doubts, not one
        score -= POSTCODE_MISMATCH + LOOKALIKE * (1.0 - ratio)
    if spelled_otherwise:
        score -= SPELLING_PUNCTUATION if punctuation_only else SPELLING
    return score


def ambiguity(best: float, rival: float | None) -> float:
    """What a rival answer of score ``rival`` (elsewhere) takes off the best one.

    Examples
    --------
    >>> ambiguity(1.0, None), ambiguity(1.0, 0.8), round(ambiguity(1.0, 1.0), 2)
    (0.0, 0.0, 0.36)
    >>> round(ambiguity(1.0, 0.96), 2)
    0.24
    """
    if rival is None:
        return 0.0
    return max(0.0, AMBIGUITY_MARGIN - (best - rival)) * AMBIGUITY_SLOPE


def place_evidence(ratio: float) -> float:
    """The score of a named place whose name matches with ``ratio``: words that do not match
    cost twice ("Gare de l'Estaque" is not "L'Estaque").

    Examples
    --------
    >>> place_evidence(1.0), round(place_evidence(0.74), 2)
    (1.0, 0.48)
    """
    return 1.0 - 2.0 * (1.0 - ratio)
