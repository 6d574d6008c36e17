"""Seeded customers: names (many non-ASCII), addresses, e-mails on reserved example domains."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random

    from kconnector_sandbox.woocommerce.store_profiles import Region

FIRST_NAMES = (
    "José", "Zoë", "Łukasz", "Søren", "Chloé", "Björn", "Nguyễn", "Aoife", "Renée", "Jürgen",
    "María", "Oğuz", "Siobhán", "François", "Ángel", "太郎", "Олена", "Emma", "Liam", "Olivia",
    "Noah", "Ava", "Ethan", "Mia", "Lucas", "Sophia", "Mateo", "Isabella", "Amélie", "Dvořák",
)  # fmt: skip
LAST_NAMES = (
    "Álvarez", "Ångström", "Wójcik", "Kierkegård", "Lefèvre", "Müller", "O'Brien", "Văn An",
    "Núñez", "Çelik", "山田", "Шевченко", "Smith", "Johnson", "García", "Brown", "Tremblay",
    "Gagnon", "Roy", "Schröder", "de la Cruz", "van der Berg", "Nowak", "Kowalski", "Rossi",
)  # fmt: skip
STREETS = (
    "Main St", "Rue Sainte-Catherine", "Hauptstraße", "Königsallee", "Calle de Alcalá", "Oak Ave",
    "Keizersgracht", "Mariahilfer Straße", "Broadway", "Chemin du Lac", "Elm Street", "Queen St W",
)  # fmt: skip
COMPANIES = ("", "", "", "", "Acme Ltd.", "Café Zürich GmbH", "Ñandú Ltda", "Les Éditions Bérubé")


def email_for(first: str, last: str, customer_ref: int) -> str:
    """An ASCII e-mail on a reserved example domain (RFC 2606)."""

    def ascii_slug(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return "".join(ch for ch in folded.lower() if ch.isalnum())

    local = ".".join(part for part in (ascii_slug(first), ascii_slug(last)) if part)
    return f"{local or 'customer'}{customer_ref}@example.com"


def person(
    rng: random.Random, region: Region, customer_ref: int
) -> tuple[dict[str, str], dict[str, str]]:
    """A (billing, shipping) address pair in `region`."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES)
    city = rng.choice(region.cities)
    address_1 = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"
    address_2 = rng.choice(("", "", "", f"Apt {rng.randint(1, 40)}", "2. OG"))
    phone = f"+1 555 01{rng.randint(0, 99):02d}" if region.country in {"US", "CA"} else ""
    billing = {
        "first_name": first,
        "last_name": last,
        "company": company,
        "address_1": address_1,
        "address_2": address_2,
        "city": city,
        "state": region.state,
        "postcode": region.postcode,
        "country": region.country,
        "email": email_for(first, last, customer_ref),
        "phone": phone or f"+49 30 {rng.randint(1000000, 9999999)}",
    }
    shipping = {key: value for key, value in billing.items() if key != "email"}
    return billing, shipping


def empty_address(*, with_email: bool) -> dict[str, str]:
    """The blank address a checkout draft starts with."""
    keys = ["first_name", "last_name", "company", "address_1", "address_2", "city", "state"]
    keys += ["postcode", "country"]
    address = dict.fromkeys(keys, "")
    if with_email:
        address["email"] = ""
    address["phone"] = ""
    return address
