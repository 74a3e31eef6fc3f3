"""CRM field catalogue: one UPPER_CASE store behind both API families (§8.3, §8.8, §12.9).

Legacy methods speak UPPER_CASE with string scalars; ``crm.item.*`` speaks camelCase with typed values.
Both are views of the same record, so the field list is written once, with each field's type and flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTITY_NAMES = {1: "LEAD", 2: "DEAL", 3: "CONTACT", 4: "COMPANY", 7: "QUOTE", 31: "SMART_INVOICE"}
SHORT_CODES = {1: "L", 2: "D", 3: "C", 4: "CO", 7: "Q", 31: "SI"}
LEGACY = {"lead": 1, "deal": 2, "contact": 3, "company": 4, "quote": 7}
UF_ENTITY = {
    1: "CRM_LEAD",
    2: "CRM_DEAL",
    3: "CRM_CONTACT",
    4: "CRM_COMPANY",
    7: "CRM_QUOTE",
    31: "CRM_SMART_INVOICE",
}
MULTIFIELDS = ("PHONE", "EMAIL", "WEB", "IM")
VALUE_TYPES = {
    "PHONE": ("WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"),
    "EMAIL": ("WORK", "HOME", "MAILING", "OTHER"),
    "WEB": ("WORK", "HOME", "VK", "LIVEJOURNAL", "TWITTER", "OTHER"),
    "IM": (
        "TELEGRAM",
        "VK",
        "SKYPE",
        "VIBER",
        "BITRIX24",
        "OPENLINE",
        "IMOL",
        "ICQ",
        "MSN",
        "JABBER",
        "OTHER",
    ),
}


@dataclass(frozen=True)
class Field:
    name: str  # UPPER_CASE
    type: str  # integer | double | string | char | date | datetime | user | crm_status | crm_category |
    #            crm_currency | crm_company | crm_contact | crm_multifield | crm_entity
    read_only: bool = False
    immutable: bool = False
    multiple: bool = False
    required: bool = False
    money: bool = False
    status_type: str | None = None
    title: str = ""


def _f(spec: str) -> Field:
    """``"NAME:type!ro!mul"`` — a compact field line."""
    name, _, rest = spec.partition(":")
    kind, *flags = rest.split("!")
    return Field(
        name,
        kind,
        read_only="ro" in flags,
        immutable="imm" in flags,
        multiple="mul" in flags,
        required="req" in flags,
        money="money" in flags,
        title=name.replace("_", " ").title(),
    )


COMMON = [
    "ID:integer!ro",
    "DATE_CREATE:datetime!ro",
    "DATE_MODIFY:datetime!ro",
    "CREATED_BY_ID:user!ro",
    "MODIFY_BY_ID:user!ro",
    "ASSIGNED_BY_ID:user",
    "OPENED:char",
    "COMMENTS:string",
    "ORIGINATOR_ID:string",
    "ORIGIN_ID:string",
    "SOURCE_ID:crm_status",
]
PERSON = ["NAME:string", "LAST_NAME:string", "SECOND_NAME:string", "HONORIFIC:crm_status", "POST:string"]
ADDRESS = [
    "ADDRESS:string",
    "ADDRESS_CITY:string",
    "ADDRESS_POSTAL_CODE:string",
    "ADDRESS_REGION:string",
    "ADDRESS_PROVINCE:string",
    "ADDRESS_COUNTRY:string",
]
COMM = [
    "PHONE:crm_multifield!mul",
    "EMAIL:crm_multifield!mul",
    "WEB:crm_multifield!mul",
    "IM:crm_multifield!mul",
    "HAS_PHONE:char!ro",
    "HAS_EMAIL:char!ro",
]
MONEY = [
    "CURRENCY_ID:crm_currency",
    "OPPORTUNITY:double!money",
    "IS_MANUAL_OPPORTUNITY:char",
    "TAX_VALUE:double!money",
]

CATALOGUE: dict[int, tuple[Field, ...]] = {
    1: tuple(
        _f(x)
        for x in [
            *COMMON,
            "TITLE:string",
            *PERSON,
            "STATUS_ID:crm_status",
            "COMPANY_TITLE:string",
            *MONEY,
            *COMM,
            *ADDRESS,
        ]
    ),
    2: tuple(
        _f(x)
        for x in [
            *COMMON,
            "TITLE:string",
            "TYPE_ID:crm_status",
            "CATEGORY_ID:crm_category!imm",
            "STAGE_ID:crm_status",
            "STAGE_SEMANTIC_ID:string!ro",
            "IS_NEW:char!ro",
            "PROBABILITY:integer",
            *MONEY,
            "COMPANY_ID:crm_company",
            "CONTACT_ID:crm_contact",
            "CONTACT_IDS:crm_contact!mul",
            "BEGINDATE:date",
            "CLOSEDATE:date",
            "CLOSED:char",
            "QUOTE_ID:crm_quote",
            "LEAD_ID:crm_lead",
        ]
    ),
    3: tuple(
        _f(x)
        for x in [
            *COMMON,
            *PERSON,
            "TYPE_ID:crm_status",
            "COMPANY_ID:crm_company",
            "COMPANY_IDS:crm_company!mul",
            "BIRTHDATE:date",
            *COMM,
            *ADDRESS,
        ]
    ),
    4: tuple(
        _f(x)
        for x in [
            *COMMON,
            "TITLE:string",
            "COMPANY_TYPE:crm_status",
            "INDUSTRY:crm_status",
            "EMPLOYEES:crm_status",
            "REVENUE:double!money",
            "CURRENCY_ID:crm_currency",
            "IS_MY_COMPANY:char",
            "BANKING_DETAILS:string",
            *COMM,
            *ADDRESS,
        ]
    ),
    7: tuple(
        _f(x)
        for x in [
            *COMMON,
            "TITLE:string",
            "STAGE_ID:crm_status",
            *MONEY,
            "COMPANY_ID:crm_company",
            "CONTACT_ID:crm_contact",
            "CONTACT_IDS:crm_contact!mul",
            "DEAL_ID:crm_deal",
            "BEGINDATE:date",
            "CLOSEDATE:date",
            "CLOSED:char",
        ]
    ),
    31: tuple(
        _f(x)
        for x in [
            *COMMON,
            "TITLE:string",
            "XML_ID:string",
            "ACCOUNT_NUMBER:string",
            "CATEGORY_ID:crm_category",
            "STAGE_ID:crm_status",
            "PREVIOUS_STAGE_ID:string!ro",
            *MONEY,
            "COMPANY_ID:crm_company",
            "CONTACT_ID:crm_contact",
            "CONTACT_IDS:crm_contact!mul",
            "MYCOMPANY_ID:crm_company",
            "BEGINDATE:date",
            "CLOSEDATE:date",
            "PARENT_ID_2:crm_entity",
            "PARENT_ID_7:crm_entity",
        ]
    ),
}
# The legacy lists' ``select: ['*']`` leaves out multiple fields (§7.4).
CAMEL_OVERRIDES = {
    "DATE_CREATE": "createdTime",
    "DATE_MODIFY": "updatedTime",
    "CREATED_BY_ID": "createdBy",
    "MODIFY_BY_ID": "updatedBy",
    "COMPANY_TYPE": "typeId",
    "DEAL_ID": "parentId2",
}


def camel(upper: str) -> str:
    """``ASSIGNED_BY_ID`` → ``assignedById``; UF names by the rules of §8.8."""
    if upper in CAMEL_OVERRIDES:
        return CAMEL_OVERRIDES[upper]
    if upper.startswith("UF_CRM_"):
        return uf_camel(upper)
    head, *rest = upper.lower().split("_")
    return head + "".join(w.capitalize() for w in rest)


def uf_camel(upper: str) -> str:
    """Regular: ``UF_CRM_3_DIGIT`` → ``ufCrm3Digit``, ``UF_CRM_3_1747309727`` → ``ufCrm3_1747309727``;
    simplified (anything else): ``UF_CRM_1747309879`` → ``ufCrm_1747309879``,
    ``UF_CRM_QB_ID`` → ``ufCrm_QB_ID``."""
    rest = upper[len("UF_CRM_") :]
    m = re.fullmatch(r"(\d+)_([A-Z]+(?:_[A-Z]+)*)", rest)
    if m:
        return "ufCrm" + m.group(1) + "".join(w.capitalize() for w in m.group(2).lower().split("_"))
    m = re.fullmatch(r"(\d+)_(\d+)", rest)
    if m:
        return f"ufCrm{m.group(1)}_{m.group(2)}"
    return "ufCrm_" + rest


def by_name(entity_type: int) -> dict[str, Field]:
    return {f.name: f for f in CATALOGUE[entity_type]}
