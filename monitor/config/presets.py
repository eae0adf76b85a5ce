"""Ready-made JSON sources: `kind = "boamp"` and `kind = "decp"`.

A preset is the mapping, paging and cursor of a known API, so that an operator writes
`kind = "boamp"` and an optional `filter` instead of them. Field names and API
behaviour come from the published documentation and from public code using these
APIs; docs/sources-json.md cites each, and lists what could not be checked live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationInfo, field_validator

from monitor.config.jsonapi import CursorSpec, Paging, RecordMapping
from monitor.config.validation import Strict

# Opendatasoft's Explore API v2.1: at most 100 records a page, and offset + limit may
# not pass 10,000; the body says how many records match.
OPENDATASOFT_PAGING = Paging(
    style="offset", limit=100, max_offset=10_000, total="total_count", max_pages=10
)
# What a filter's entries may be: they go into a query (natures) or are compared
# with the start of field values (cpv, buyers).
_ENTRIES = {
    "natures": (
        re.compile(r"^[\w' -]{1,80}$"),
        "invalid nature {!r}: letters, digits, spaces, ' and -",
    ),
    "cpv": (re.compile(r"^[0-9]{1,8}$"), 'invalid CPV prefix {!r}: up to 8 digits, such as "72"'),
    "buyers": (re.compile(r"\w"), "invalid buyer prefix {!r}: it has no letter or digit"),
}


@dataclass(frozen=True)
class Preset:
    url: str
    mapping: RecordMapping
    cursor: CursorSpec
    paging: Paging = OPENDATASOFT_PAGING
    params: dict[str, str] = field(default_factory=dict)


# eForms notices (since 2024) are UBL documents; the BOAMP gives them as JSON in
# `donnees`, elements as keys and element text under "#text".
_EFORMS = "donnees.EFORMS"
_CPV = "cac:MainCommodityClassification.cbc:ItemClassificationCode.#text"
_RESULT = (
    "ext:UBLExtensions.ext:UBLExtension.ext:ExtensionContent.efext:EformsExtension"
    ".efac:NoticeResult"
)

BOAMP = Preset(
    url="https://boamp-datadila.opendatasoft.com/api/explore/v2.1/catalog/datasets/boamp/records",
    # Increasing dates, so that the cursor resumes where a pass stopped; the id breaks
    # ties, so that offsets page through one day steadily.
    params={"order_by": "dateparution asc, idweb asc"},
    mapping=RecordMapping(
        records="results",
        id="idweb",
        title="objet",
        date="dateparution",
        link="url_avis",
        link_template="https://www.boamp.fr/pages/avis/?q=idweb:{id}",
        text=("objet", "descripteur_libelle"),
        fields={
            "buyer": "nomacheteur",
            "awardee": "titulaire",
            "cpv": (
                f"{_EFORMS}.ContractNotice.cac:ProcurementProject.{_CPV}",
                f"{_EFORMS}.ContractNotice.cac:ProcurementProjectLot.cac:ProcurementProject.{_CPV}",
                f"{_EFORMS}.ContractAwardNotice.cac:ProcurementProject.{_CPV}",
                f"{_EFORMS}.ContractAwardNotice.cac:ProcurementProjectLot"
                f".cac:ProcurementProject.{_CPV}",
            ),
            "nature": "nature",
            "descriptor": "descripteur_libelle",
            "department": "code_departement",
            "procedure": "procedure_libelle",
            "linked": "annonce_lie",
        },
        numbers={
            "amount": (
                f"{_EFORMS}.ContractAwardNotice.{_RESULT}.cbc:TotalAmount.#text",
                "donnees.MAPA.attribution.attribution.resultat.attribue.montant.valeur",
            )
        },
    ),
    cursor=CursorSpec(
        field="dateparution", param="where", template="dateparution >= date'{value}'"
    ),
)

# The consolidated DECP in the format of the 2022 arrêtés (contracts notified since
# 2024), one row per contract, awardee and amendment; names of buyers and awardees are
# not in this format, only their SIRET.
DECP = Preset(
    url=(
        "https://data.economie.gouv.fr/api/explore/v2.1/catalog/datasets/"
        "decp-2022-marches-valides/records"
    ),
    params={"order_by": "datepublicationdonnees asc, id asc"},
    mapping=RecordMapping(
        records="results",
        id=("acheteur_id", "id"),
        title="objet",
        date="datepublicationdonnees",
        text=("objet",),
        fields={
            "buyer": "acheteur_id",
            "awardee": ("titulaire_id_1", "titulaire_id_2", "titulaire_id_3"),
            "cpv": "codecpv",
            "nature": "nature",
            "procedure": "procedure",
        },
        numbers={"amount": "montant", "duration": "dureemois"},
        empty=("CDL",),  # "no value" in the columns of co-awardees and amendments
    ),
    cursor=CursorSpec(
        field="datepublicationdonnees",
        param="where",
        template="datepublicationdonnees >= date'{value}'",
    ),
)

PRESETS = {"boamp": BOAMP, "decp": DECP}


class PresetFilter(Strict):
    """The `filter` of a preset source: which records of the dataset to keep."""

    where: str | None = None  # an ODSQL condition, ANDed with the others
    natures: tuple[str, ...] = ()  # values of `nature`: "ATTRIBUTION", "Accord-cadre"
    cpv: tuple[str, ...] = ()  # CPV prefixes: "48", "72" (checked on each record)
    buyers: tuple[str, ...] = ()  # the start of buyers' names (BOAMP) or SIRET (DECP)

    @field_validator("natures", "cpv", "buyers")
    @classmethod
    def _entries(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        pattern, message = _ENTRIES[str(info.field_name)]
        for value in values:
            if not pattern.search(value):
                raise ValueError(message.format(value))
        return values


def resolve(preset: Preset, chosen: PresetFilter) -> dict[str, Any]:
    """The preset's url-independent settings, narrowed by the operator's filter."""
    natures = " OR ".join(f'nature = "{value}"' for value in chosen.natures)
    where = " AND ".join(f"({part})" for part in (chosen.where, natures) if part)
    require = {
        name: values for name, values in (("cpv", chosen.cpv), ("buyer", chosen.buyers)) if values
    }
    return {
        "params": {**preset.params, **({"where": where} if where else {})},
        "mapping": replace(preset.mapping, require=require),
        "paging": preset.paging,
        "cursor": preset.cursor,
    }
