"""The baseline governed vocabulary every installation starts with.

These are data, approved once by the committee's founding charter and
installed by migration ``governance.0002``: the purposes and channels consent
is given for, the Customer Data Office that owns the shared identity fields,
and the canonical fields any outside file can be mapped to without code.
Later changes go through the committee like any other governed item.
"""

from __future__ import annotations

CHARTER_SILO = {
    "code": "cdo",
    "name": "Customer Data Office",
    "description": "Owns the shared identity nomenclature on behalf of the committee.",
}

# code, name, description, legal basis, requires consent
PURPOSES = [
    ("service", "Customer service", "Serving the customer's own requests and contracts.",
     "contract", False),
    ("billing", "Billing and collections", "Invoicing, payments and collections.",
     "contract", False),
    ("risk", "Risk assessment", "Underwriting, fraud prevention and actuarial review.",
     "legal_obligation", False),
    ("marketing", "Marketing", "Offers, up-sell and cross-sell communication.",
     "consent", True),
    ("retention", "Retention", "Contacting customers at risk of leaving.",
     "legitimate_interest", False),
    ("analytics", "Analytics and profiling", "Scores and segments built from customer data.",
     "consent", True),
    ("partner_sharing", "Sharing with partners", "Passing context to partner companies.",
     "consent", True),
]  # fmt: skip

# code, name, outbound
CHANNELS = [
    ("email", "E-mail", True),
    ("sms", "SMS", True),
    ("phone", "Phone", True),
    ("post", "Post", True),
    ("web", "Website", False),
    ("app", "Mobile app", True),
    ("store", "Store", False),
    ("chat", "Chat", False),
    ("partner", "Partner system", False),
]

# canonical name, label, data type, sensitivity, survivorship, retention days, description
FIELDS = [
    ("given_name", "Given name", "name", "personal", "most_trusted", None,
     "First given name, without initials of middle names."),
    ("middle_name", "Middle name", "name", "personal", "most_complete", None,
     "Middle names in full; a lone initial counts as a middle name, not part of the given name."),
    ("family_name", "Family name", "name", "personal", "most_trusted", None,
     "Family name (surname), with particles such as 'van' or 'de' kept."),
    ("date_of_birth", "Date of birth", "date", "personal", "most_trusted", None,
     "ISO 8601 date. Shown on screens only as an age band."),
    ("email", "E-mail address", "email", "personal", "most_recent", None,
     "Primary e-mail address, lower-cased."),
    ("phone", "Phone number", "phone", "personal", "most_recent", None,
     "Primary phone number in E.164 form."),
    ("address_line1", "Address line 1", "address", "personal", "most_recent", None,
     "Street and house number."),
    ("address_line2", "Address line 2", "address", "personal", "most_recent", None,
     "Apartment, unit, building."),
    ("locality", "Locality", "address", "personal", "most_recent", None, "Town or city."),
    ("region", "Region", "address", "internal", "most_recent", None, "State, province or county."),
    ("postcode", "Postcode", "postcode", "personal", "most_recent", None, "Postal code."),
    ("country", "Country", "country", "internal", "most_recent", None,
     "ISO 3166-1 alpha-2 country code."),
    ("national_id", "National identifier", "identifier", "special", "most_trusted", 3650,
     "National identity or social security number. Sensitive: shown to no lens by default."),
]  # fmt: skip

# Purposes each baseline field may serve.
FIELD_PURPOSES = {
    "national_id": ["risk"],
    "date_of_birth": ["service", "risk", "billing"],
}
DEFAULT_FIELD_PURPOSES = ["service", "billing", "risk", "retention", "marketing"]
