"""The declared schema of the knowledge YAML (see docs/knowledge-schema.md).

Each section maps field names to a :class:`Field`. Validation is structural here (types, enums,
required fields, id syntax); cross-references (unknown ids, citations, cycles) are checked in
:mod:`advisor.kb` once every file is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CITE_RE = re.compile(r"^(?:(heo2018|cai2020)(?::(\d+))?|([a-z][a-z0-9]*))$")

REVIEWS = ("heo2018", "cai2020")
VESICLES = ("exosome", "microvesicle", "ev", "secretome")
SPECIES = ("human", "mouse", "rat", "pig", "unknown")
MODELS = ("clinical-completed", "case-report", "clinical-registered", "in-vivo", "in-vitro", "review-inference")
DIRECTIONS = ("supports", "opposes")
CATEGORY_KINDS = ("organ-system", "site", "process")
DELIVERY = ("local", "systemic")
POPULATIONS = ("neonate", "child", "adult", "elderly", "female", "male")
COMPARISON_AXES = ("source", "route", "engineering", "vesicle", "species")
COMPARISON_KINDS = ("preference", "tie", "readiness")
# where the review made a comparison: in diseases, about an organ system or a process in general, or
# about the cells or vesicles themselves
COMPARISON_SCOPES = ("disease", "organ", "process", "cells")
# values a comparison may name on the axes that have no section of their own
COMPARISON_VALUES = {"vesicle": VESICLES + ("parent-cells",), "species": tuple(s for s in SPECIES if s != "unknown")}
INVASIVENESS = ("low", "medium", "high")
PURPOSES = (
    "retention", "targeting", "drug-delivery", "anti-inflammatory-priming", "potency",
    "angiogenesis", "antioxidant", "regeneration", "chemosensitization", "cardiomyogenesis",
    "ischemia-protection",
)
PROPERTY_NAMES = (
    "availability", "yield", "ethics", "clinical-readiness", "immunomodulation", "tissue-tropism",
    "harvest", "safety", "size", "barrier-crossing", "uptake", "proliferation", "invasiveness",
    "composition", "potency", "metabolism",
)
PROPERTY_VALUES = ("high", "medium", "low", "concern", "yes", "no")
TRIAL_STATUS = ("recruiting", "not-yet-recruiting", "completed", "unknown")
ENGINEERING_PREFIXES = (
    "hydrogel", "scaffold", "drug-loading", "surface-targeting", "mirna", "gene-modification",
    "preconditioning", "co-therapy",
)
OUTCOMES = ("better", "worse", "similar")


@dataclass(frozen=True)
class Field:
    kind: str  # str, int, bool, id, idlist, strlist, cites, enum, map, list, nullable-id, nullable-str
    required: bool = True
    enum: tuple[str, ...] = ()
    ref: str | None = None  # section whose ids this field refers to


def F(kind, required=True, enum=(), ref=None):
    return Field(kind, required, tuple(enum), ref)


PROPERTIES = F("properties", required=False)

SECTIONS: dict[str, dict[str, Field]] = {
    "references": {
        "key": F("key"), "authors": F("str"), "title": F("str"), "journal": F("str"),
        "year": F("int"), "cited_in": F("cited_in"), "also_numbered": F("also_numbered", False),
        "mismatch": F("bool", False), "doi": F("str", False), "note": F("str", False),
    },
    "evidence": {
        "id": F("id"), "source": F("id", ref="sources"), "vesicle": F("enum", enum=VESICLES),
        "species": F("enum", enum=SPECIES), "model": F("enum", enum=MODELS),
        "disease": F("id", ref="diseases"), "route": F("nullable-id", ref="routes"),
        "engineering": F("idlist", ref="engineering"), "cargo": F("strlist", False),
        "effect": F("str"), "mechanism": F("str", False), "direction": F("enum", enum=DIRECTIONS),
        "versus": F("versus", False), "table2": F("int", False), "trial": F("key", False),
        "cites": F("cites"), "note": F("str", False),
    },
    "trials": {
        "key": F("key"), "registry": F("nullable-str"), "source": F("id", ref="sources"),
        "disease": F("id", ref="diseases"), "vesicle": F("enum", enum=VESICLES),
        "intervention": F("str"), "route": F("nullable-id", ref="routes"), "patients": F("int"),
        "follow_up": F("str"), "status": F("enum", enum=TRIAL_STATUS), "location": F("str"),
        "cites": F("cites"), "note": F("str", False),
    },
    "diseases": {
        "id": F("id"), "name": F("str"), "synonyms": F("strlist", False),
        "abbreviations": F("strlist", False), "parent": F("nullable-id", ref="diseases"),
        "organ": F("id", ref="categories"), "processes": F("idlist", ref="categories"),
        "icd10cm": F("nullable-str"), "site": F("nullable-id", False, ref="categories"),
        "populations": F("enumlist", False, enum=POPULATIONS), "note": F("str", False),
    },
    "categories": {
        "id": F("id"), "name": F("str"), "kind": F("enum", enum=CATEGORY_KINDS),
        "within": F("nullable-id", False, ref="categories"),
        "icd10cm_chapters": F("strlist", False), "icd10cm_blocks": F("strlist", False),
        "note": F("str", False),
    },
    "sources": {
        "id": F("id"), "name": F("str"), "synonyms": F("strlist", False),
        "parent": F("nullable-id", ref="sources"), "properties": PROPERTIES,
        "cites": F("cites", False), "note": F("str", False),
    },
    "routes": {
        "id": F("id"), "name": F("str"), "synonyms": F("strlist", False),
        "invasiveness": F("enum", enum=INVASIVENESS), "delivery": F("enum", enum=DELIVERY),
        "reaches": F("idlist", False, ref="categories"),
        "properties": PROPERTIES, "cites": F("cites", False), "note": F("str", False),
    },
    "engineering": {
        "id": F("id"), "name": F("str"), "synonyms": F("strlist", False),
        "purposes": F("enumlist", enum=PURPOSES), "fits": F("idlist", False, ref="categories"),
        "organs": F("idlist", False, ref="categories"),
        "populations": F("enumlist", False, enum=POPULATIONS),
        "properties": PROPERTIES, "cites": F("cites", False), "note": F("str", False),
    },
    "comparisons": {
        "id": F("id"), "axis": F("enum", enum=COMPARISON_AXES), "kind": F("enum", enum=COMPARISON_KINDS),
        "scope": F("enum", enum=COMPARISON_SCOPES),
        "better": F("nullable-str", False), "worse": F("strlist", False), "tie": F("strlist", False),
        "diseases": F("idlist", False, ref="diseases"), "organ": F("nullable-id", False, ref="categories"),
        "process": F("nullable-id", False, ref="categories"),
        "text": F("str"), "cites": F("cites"), "note": F("str", False),
    },
    # disease resolution (knowledge/vocabulary.yaml; docs/resolution.md)
    "vocabulary": {
        "id": F("id"), "terms": F("strlist"), "icd10cm": F("str"), "note": F("str", False),
    },
    "spellings": {
        "id": F("id"), "british": F("str"), "american": F("str"), "note": F("str", False),
    },
    "icd_mappings": {
        "id": F("id"), "chapters": F("strlist", False), "blocks": F("strlist", False),
        "codes": F("strlist", False), "organ": F("nullable-id", False, ref="categories"),
        "site": F("nullable-id", False, ref="categories"),
        "processes": F("idlist", False, ref="categories"),
        "populations": F("enumlist", False, enum=POPULATIONS), "note": F("str", False),
    },
}

# Which field holds the identity of a record in each section.
ID_FIELD = {s: ("key" if s in ("references", "trials") else "id") for s in SECTIONS}

PROPERTY_FIELDS = {
    "name": F("enum", enum=PROPERTY_NAMES), "value": F("enum", enum=PROPERTY_VALUES),
    "text": F("str"), "cites": F("cites"),
}

WEIGHT_GROUPS = {
    "model": tuple(m for m in MODELS if m != "clinical-registered"),  # registered trials: context only
    "species": SPECIES,
    "vesicle": VESICLES,
    "tier": ("1", "2", "3", "4"),
    "reach": ("local", "systemic"),  # a route listed because it reaches the organ (no route evidence)
}
WEIGHT_SCALARS = ("source_rollup",)
