"""The kinds of address query a geocoder is scored on, kind by kind.

:mod:`geotranquil.synth.address_queries` writes queries of these kinds and
:mod:`geotranquil.geocode.evaluation` scores answers by kind; both read them here, so the
evaluation does not depend on the generator.
"""

from __future__ import annotations

from typing import Final

KINDS: Final = (
    "clean",
    "abbreviated",
    "no_accents",
    "upper_case",
    "typo",
    "no_postcode",
    "extra_words",
    "suffix_variant",
    "word_order",
    "intersection",
    "named_place",
    "unknown_street",
)
#: The kinds that write a real house-number address in a degraded way.
DEGRADED_KINDS: Final = (
    "abbreviated",
    "no_accents",
    "upper_case",
    "typo",
    "no_postcode",
    "extra_words",
    "suffix_variant",
    "word_order",
)

#: The kinds of the evaluation set written apart from the parser
#: (:mod:`geotranquil.synth.address_phrasing`, issue 17), in their order.
PHRASING_KINDS: Final = (
    "clean",
    "logbook",
    "free_words",
    "abbreviation",
    "type_after",
    "apostrophe",
    "neighbour_postcode",
    "no_postcode",
    "split_street",
    "folded_homonym",
    "country_suffix",
    "combined",
    "beyond_end",
    "absent_place",
)
#: Its kinds that write a real house-number address in a degraded way.
PHRASING_DEGRADED_KINDS: Final = tuple(
    k for k in PHRASING_KINDS if k not in ("clean", "beyond_end", "absent_place")
)
