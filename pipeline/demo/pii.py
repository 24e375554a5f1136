"""Personal data of many kinds, as people actually type it, plus look-alikes that are not PII.

Every generator returns the literal text; the caller records its span as gold for scoring the
anonymizer. Look-alikes (Luhn-failing digit runs, order numbers, versions, dates, UUIDs, git
hashes, prices) must survive anonymization, so they are generated here too.
"""

from __future__ import annotations

import random
import string

FIRST_NAMES = [
    "Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Priya", "Lukas", "Fatima", "Noah",
    "Sofia", "Kenji", "Amara", "Liam", "Chloe", "Mateo", "Ingrid", "Ravi", "Elena", "Tomasz",
]
LAST_NAMES = [
    "Garcia", "Smith", "Okafor", "Zhang", "Petrova", "Mendes", "Sharma", "Becker", "Haddad",
    "Johnson", "Rossi", "Tanaka", "Nwosu", "Murphy", "Dubois", "Lopez", "Larsen", "Iyer",
    "Novak", "Kowalski",
]
STREETS = ["Maple", "Oak", "Harbor", "Mission", "Elm", "Sunset", "Lakeview", "Pine", "Cedar", "Market"]
STREET_KINDS = ["St", "Street", "Ave", "Avenue", "Rd", "Road", "Blvd", "Lane"]
CITIES = [
    ("Springfield", "IL", "627"), ("Austin", "TX", "787"), ("Portland", "OR", "972"),
    ("Columbus", "OH", "432"), ("Madison", "WI", "537"), ("Raleigh", "NC", "276"),
]
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "acme-corp.com", "uni.edu"]


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES).lower(), rng.choice(LAST_NAMES).lower()
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}{rng.randint(1, 99)}", f"{first}_{last}"])
    if rng.random() < 0.15:
        local += "+billing"
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def phone(rng: random.Random) -> str:
    """International and national formats (US, UK, DE, FR, IN)."""
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    area = str(rng.randint(201, 989))
    return rng.choice([
        f"+1 {area}-{d(3)}-{d(4)}",
        f"({area}) {d(3)}-{d(4)}",
        f"{area}.{d(3)}.{d(4)}",
        f"+1{area}{d(7)}",
        f"+44 20 {d(4)} {d(4)}",
        f"07{d(3)} {d(6)}",
        f"+49 30 {d(8)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+91 {rng.randint(70, 99)}{d(3)} {d(5)}",
    ])


def luhn_check_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        n = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = [c for c in number if c.isdigit()]
    return len(digits) >= 12 and luhn_check_digit("".join(digits[:-1])) == digits[-1]


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = body + luhn_check_digit(body)
    sep = rng.choice([" ", "-", ""])
    groups = [4, 6, 5] if length == 15 else [4, 4, 4, 4]
    out, i = [], 0
    for g in groups:
        out.append(number[i:i + g])
        i += g
    return sep.join(out)


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def iban(rng: random.Random) -> str:
    """A mod-97 valid IBAN (DE, GB or FR), printed in groups of four or run together."""
    country, bban = rng.choice([
        ("DE", "".join(rng.choice(string.digits) for _ in range(18))),
        ("GB", "NWBK" + "".join(rng.choice(string.digits) for _ in range(14))),
        ("FR", "".join(rng.choice(string.digits) for _ in range(23))),
    ])
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.6:
        value = " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def ipv4(rng: random.Random) -> str:
    return ".".join(str(x) for x in [rng.choice([23, 45, 81, 104, 172, 185, 203]), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)])


def ipv6(rng: random.Random) -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8:" + ":".join(groups[2:])
    return f"2001:db8::{groups[6]}:{groups[7]}"


def secret(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    pick = lambda n, alphabet=alnum: "".join(rng.choice(alphabet) for _ in range(n))  # noqa: E731
    return rng.choice([
        "sk-" + pick(48),
        "sk-proj-" + pick(40),
        "AKIA" + pick(16, string.ascii_uppercase + string.digits),
        "ghp_" + pick(36),
        "xoxb-" + pick(11, string.digits) + "-" + pick(12, string.digits) + "-" + pick(24),
        "eyJhbGciOiJIUzI1NiJ9." + pick(40) + "." + pick(43),
        "Bearer " + pick(40),
    ])


def street_address(rng: random.Random) -> str:
    city, state, zip3 = rng.choice(CITIES)
    return f"{rng.randint(12, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}, {city}, {state} {zip3}{rng.randint(10, 99)}"


def url_with_token(rng: random.Random) -> str:
    token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
    return rng.choice([
        f"https://app.example.com/reset?token={token}",
        f"https://files.example.net/share/doc.pdf?sig={token}&exp=1767225600",
        f"https://admin:{token[:12]}@db.internal.example.com:5432/prod",
    ])


GENERATORS = {
    "EMAIL": email,
    "PHONE": phone,
    "CREDIT_CARD": card_number,
    "US_SSN": ssn,
    "IBAN": iban,
    "IP_ADDRESS": lambda rng: ipv6(rng) if rng.random() < 0.3 else ipv4(rng),
    "SECRET": secret,
    "URL_TOKEN": url_with_token,
    "PERSON": person_name,
    "STREET_ADDRESS": street_address,
}

# Sentences in which users reveal each kind; {v} is the value. Several per kind, so the
# anonymizer cannot rely on one phrasing.
CARRIERS = {
    "EMAIL": ["my email is {v}", "send it to {v} please", "contact: {v}", "I signed up as {v} but"],
    "PHONE": ["call me at {v}", "my number is {v}", "phone {v}", "text {v} when done"],
    "CREDIT_CARD": ["my card {v} was charged twice", "card number {v}, exp 09/28", "I paid with {v}"],
    "US_SSN": ["my SSN is {v}", "the form asks for SSN {v}", "ssn: {v}"],
    "IBAN": ["refund to IBAN {v}", "my bank account {v}", "IBAN: {v}"],
    "IP_ADDRESS": ["the server at {v} refuses connections", "ssh to {v} times out", "my IP is {v}"],
    "SECRET": ["here is my key {v} and it returns 401", "export API_KEY={v}", "Authorization: {v}"],
    "URL_TOKEN": ["the link {v} says expired", "I opened {v}", "connection string {v}"],
    "PERSON": ["my name is {v}", "this is {v} from accounting", "my manager {v} asked"],
    "STREET_ADDRESS": ["ship it to {v}", "I live at {v}", "billing address: {v}"],
}


def look_alike(rng: random.Random) -> str:
    """Text that resembles PII but is not: anonymization must leave it intact."""
    digits = "".join(rng.choice(string.digits) for _ in range(15))
    bad_luhn = digits + str((int(luhn_check_digit(digits)) + rng.randint(1, 9)) % 10)
    hexchars = "0123456789abcdef"
    return rng.choice([
        f"order #{rng.randint(100000, 999999)}",
        f"invoice INV-{rng.randint(2024, 2026)}-{rng.randint(1000, 99999)}",
        f"version {rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        f"on {rng.randint(2024, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"it costs ${rng.randint(1, 9)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
        f"tracking {bad_luhn}",
        "request " + "-".join("".join(rng.choice(hexchars) for _ in range(n)) for n in (8, 4, 4, 4, 12)),
        "commit " + "".join(rng.choice(hexchars) for _ in range(40)),
        f"error code 0x{rng.randint(0, 0xFFFFFF):06X}",
        f"build {rng.randint(10, 99)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 999)}",
    ])
