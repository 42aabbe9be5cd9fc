"""Canonical categories, the native vocabulary of each silo, and the rejection reason codes."""

from __future__ import annotations

from typing import Final

#: Canonical category codes, in a fixed order (the integer code of a category is its index).
CATEGORIES: Final[tuple[str, ...]] = (
    "degradation_bien_public",
    "tag_graffiti",
    "depot_sauvage",
    "nuisance_sonore",
    "rixe_violence",
    "vol",
    "trafic_stupefiants",
    "occupation_illicite",
    "rodeo_urbain",
    "eclairage_defaillant",
    "voirie_degradee",
    "stationnement_genant",
)
CATEGORY_INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(CATEGORIES)}

#: Source slugs, in the order the silos are written.
SOURCE_POLICE: Final = "police_municipale"
SOURCE_CSU: Final = "csu"
SOURCE_SERVICES: Final = "services_espace_public"
SOURCE_HABITANTS: Final = "habitants"
SOURCES: Final[tuple[str, ...]] = (SOURCE_POLICE, SOURCE_CSU, SOURCE_SERVICES, SOURCE_HABITANTS)

#: File names of the silos.
POLICE_FILE: Final = "police_municipale_main_courante.csv"
POLICE_TRUTH_FILE: Final = "police_truth.csv"
CSU_FILE: Final = "csu_alertes.jsonl"
CAMERAS_FILE: Final = "csu_cameras.csv"
SERVICES_FILE: Final = "services_espace_public.geojson"
HABITANTS_FILE: Final = "signalements_habitants.json"
MANIFEST_FILE: Final = "manifest.json"

POLICE_HEADER: Final[tuple[str, ...]] = (
    "N° main courante",
    "Date des faits",
    "Heure des faits",
    "Nature des faits",
    "N° voie",
    "Indice",
    "Libellé voie",
    "Code postal",
    "Commune",
    "Suite donnée",
)
CAMERAS_HEADER: Final[tuple[str, ...]] = ("camera_id", "lon", "lat", "label", "installed_on")

#: Native value -> canonical code, per source.  A canonical code may have several native values.
POLICE_NATURES: Final[dict[str, str]] = {
    "Tapage nocturne": "nuisance_sonore",
    "Rixe sur la voie publique": "rixe_violence",
    "Vol à l'arraché": "vol",
    "Cambriolage": "vol",
    "Point de vente de stupéfiants": "trafic_stupefiants",
    "Occupation abusive du domaine public": "occupation_illicite",
    "Rodéo motorisé": "rodeo_urbain",
    "Stationnement gênant": "stationnement_genant",
    "Dégradation de mobilier urbain": "degradation_bien_public",
}
CSU_CODES: Final[dict[str, str]] = {
    "FIGHT": "rixe_violence",
    "DRUG_DEALING": "trafic_stupefiants",
    "ILLEGAL_GATHERING": "occupation_illicite",
    "URBAN_RODEO": "rodeo_urbain",
    "VANDALISM": "degradation_bien_public",
    "GRAFFITI": "tag_graffiti",
    "ILLEGAL_DUMPING": "depot_sauvage",
    "THEFT": "vol",
    "OBSTRUCTIVE_PARKING": "stationnement_genant",
}
SERVICES_TYPES: Final[dict[str, str]] = {
    "Dépôt sauvage": "depot_sauvage",
    "Graffiti": "tag_graffiti",
    "Candélabre éteint": "eclairage_defaillant",
    "Éclairage intermittent": "eclairage_defaillant",
    "Nid de poule": "voirie_degradee",
    "Chaussée dégradée": "voirie_degradee",
    "Mobilier urbain dégradé": "degradation_bien_public",
}
#: Which municipal service handles each canonical category, and the prefix of its ids.
SERVICES_OF_CATEGORY: Final[dict[str, tuple[str, str]]] = {
    "depot_sauvage": ("Propreté", "PROP"),
    "tag_graffiti": ("Propreté", "PROP"),
    "degradation_bien_public": ("Voirie", "VOI"),
    "eclairage_defaillant": ("Éclairage public", "ECL"),
    "voirie_degradee": ("Voirie", "VOI"),
}
HABITANTS_CATEGORIES: Final[dict[str, str]] = {
    "bruit": "nuisance_sonore",
    "dechets": "depot_sauvage",
    "eclairage": "eclairage_defaillant",
    "voirie": "voirie_degradee",
    "tag": "tag_graffiti",
    "stationnement": "stationnement_genant",
    "mobilier_urbain": "degradation_bien_public",
    "rassemblement": "occupation_illicite",
    "rodeo": "rodeo_urbain",
}

#: Native values that are in no source's vocabulary (for the ``unknown_category`` dirty rows).
UNKNOWN_NATIVE: Final[dict[str, tuple[str, ...]]] = {
    SOURCE_POLICE: ("Divagation d'animaux", "Objet trouvé", "Autre"),
    SOURCE_CSU: ("LOITERING", "UNKNOWN", "SMOKE"),
    SOURCE_SERVICES: ("Autre", "Élagage", "Encombrant signalé par erreur"),
    SOURCE_HABITANTS: ("chat_perdu", "autre", "arbre_tombe"),
}

#: Rejection reason codes (used verbatim in the manifest).
MISSING_DATE: Final = "missing_date"
INVALID_DATE: Final = "invalid_date"
UNKNOWN_CATEGORY: Final = "unknown_category"
INVALID_COORDINATES: Final = "invalid_coordinates"
OUTSIDE_STUDY_AREA: Final = "outside_study_area"
UNKNOWN_CAMERA: Final = "unknown_camera"
DUPLICATE_ID: Final = "duplicate_id"
MISSING_ID: Final = "missing_id"
MALFORMED_ROW: Final = "malformed_row"
MISSING_LOCATION: Final = "missing_location"
REASONS: Final[tuple[str, ...]] = (
    MISSING_DATE,
    INVALID_DATE,
    UNKNOWN_CATEGORY,
    INVALID_COORDINATES,
    OUTSIDE_STUDY_AREA,
    UNKNOWN_CAMERA,
    DUPLICATE_ID,
    MISSING_ID,
    MALFORMED_ROW,
    MISSING_LOCATION,
)
#: Reasons that apply to each source.
SOURCE_REASONS: Final[dict[str, tuple[str, ...]]] = {
    SOURCE_POLICE: (
        MISSING_DATE,
        INVALID_DATE,
        UNKNOWN_CATEGORY,
        DUPLICATE_ID,
        MISSING_ID,
        MALFORMED_ROW,
        MISSING_LOCATION,
    ),
    SOURCE_CSU: (
        MISSING_DATE,
        INVALID_DATE,
        UNKNOWN_CATEGORY,
        OUTSIDE_STUDY_AREA,
        UNKNOWN_CAMERA,
        DUPLICATE_ID,
        MISSING_ID,
        MALFORMED_ROW,
    ),
    SOURCE_SERVICES: (
        MISSING_DATE,
        INVALID_DATE,
        UNKNOWN_CATEGORY,
        INVALID_COORDINATES,
        OUTSIDE_STUDY_AREA,
        DUPLICATE_ID,
        MISSING_ID,
    ),
    SOURCE_HABITANTS: (
        MISSING_DATE,
        INVALID_DATE,
        UNKNOWN_CATEGORY,
        INVALID_COORDINATES,
        OUTSIDE_STUDY_AREA,
        DUPLICATE_ID,
        MISSING_ID,
        MISSING_LOCATION,
    ),
}

#: Places well outside the commune (lon, lat), for the ``outside_study_area`` rows.
FAR_PLACES: Final[tuple[tuple[str, float, float], ...]] = (
    ("Aix-en-Provence", 5.4474, 43.5297),
    ("Paris", 2.3522, 48.8566),
    ("Toulon", 5.9280, 43.1242),
    ("Aubagne", 5.5706, 43.2927),
)
