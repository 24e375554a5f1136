"""Find personal data in text and replace it with stable typed placeholders.

Vectorized in Polars (Rust regex, Aho-Corasick); Python only looks at unique candidates.

1. One combined regex marks every candidate in place: `\x00candidate\x02`. Its alternatives
   come in priority order (at one position the first that matches wins), and include
   look-alikes that are not PII (versions, dates, UUIDs, hashes, order numbers, placeholders):
   marking them consumes them, so no PII pattern can match inside them.
2. The unique marked candidates are classified and validated in Python (Luhn for cards,
   mod-97 for IBANs, `ipaddress` for IPs, cue words for names), and each real one gets a
   placeholder `<TYPE_8hex>` from an HMAC of its normalized value.
3. One `replace_many` maps every marked candidate to its placeholder, or back to its own text
   when it was a look-alike. Only marked text can match, so no other text is ever touched.

The same value gets the same placeholder in every row, field and partition (the key is the
salt), so repeated entities and multi-turn references survive. Scrubbing is idempotent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass

import phonenumbers
import polars as pl
from stdnum import exceptions as stdnum_exceptions
from stdnum import iban as stdnum_iban

from pipeline.privacy import pii_names

MARK_OPEN, MARK_CLOSE = "\x00", "\x02"

# Person names: a capitalized word (Latin-1 and Latin Extended-A letters: José, Łukasz, Søren,
# Yılmaz; McDonald, O'Connor, Jean-Baptiste, Min-jun) and runs of them joined by spaces and name
# particles (van der, de, da). Explicit ranges, not \p{Lu}/\p{Ll}: the Unicode classes made the
# combined regex 13x slower on the benchmark's texts (Extended-A mixes cases: both are allowed)
_UP, _LO = "[A-ZÀ-ÖØ-ÞĀ-ſ]", "[a-zß-öø-ÿĀ-ſ]"
_NAME_WORD = rf"{_UP}(?:{_LO}+(?:{_UP}{_LO}+)?|['’]{_UP}{_LO}+)(?:-[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ]{_LO}+)?"
_PARTICLE = r"(?:van|von|de|der|den|del|della|dei|da|das|do|dos|du|di|la|le|ter|ten|zu|bin|ibn|al|el|ben|y)"
_NAME_RUN = rf"{_NAME_WORD}(?: (?:{_PARTICLE} ){{0,2}}{_NAME_WORD}){{0,3}}"
# a name candidate starts before an email or a Bearer token that starts inside or right after it
# ("Hi Maria.Novak@x.org", "hello, Bearer abc..."): it takes them along, so they are not cut
_NAME_TAIL = (r"(?:[A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
              r"| [A-Za-z0-9._~+/-]{19,}[A-Za-z0-9_~+/-]=*)?")
# cue words before a name: strong cues, titles, greetings (the classifier tells them apart)
_CUE_STRONG = (r"[Mm]y name is|[Tt]his is|I am|I'm|I’m|[Mm]y (?:manager|colleague|boss|husband|wife|son|daughter|friend)"
               r"|[Cc]ontact:?|[Rr]egards,|[Ss]incerely,|Dear|[Cc]c:|[Aa]ttn:?|[Ff]rom:|[Tt]o:")
_CUE_TITLE = (r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Sig|Dott)\.?"
              r"|Monsieur|Madame|Señor|Señora|Senhor|Senhora|Signor|Signora|Pan|Pani")
_CUE_GREETING = (r"[Hh]i|[Hh]ello|[Hh]ey|[Tt]hanks|[Tt]hank you|[Cc]heers|[Hh]allo|[Hh]ola|[Bb]onjour|[Ss]alut|[Cc]iao"
                 r"|Olá|[Oo]i|[Hh]ej|[Mm]erci|[Dd]anke|[Gg]racias|[Gg]razie|[Oo]brigad[oa]|[Ll]iebe[r]?|[Bb]ye")
_IBAN_COUNTRIES = ("ad|ae|al|at|az|ba|be|bg|bh|br|by|ch|cr|cy|cz|de|dk|do|ee|eg|es|fi|fo|fr|gb|ge|gi|gl|gr|gt|hr"
                   "|hu|ie|il|iq|is|it|jo|kw|kz|lb|lc|li|lt|lu|lv|ly|mc|md|me|mk|mr|mt|mu|nl|no|pk|pl|ps|pt|qa|ro"
                   "|rs|sa|sc|se|si|sk|sm|st|sv|tl|tn|tr|ua|va|vg|xk")

# letters of internationalized email addresses (RFC 6531): Latin, Greek, Cyrillic, kana, CJK,
# Hangul, as explicit ranges (a Unicode class would slow the combined regex, as above)
_MAIL_LETTERS = "A-Za-zÀ-ÖØ-öø-ɏͰ-ӿ぀-ヿ一-鿿가-힯"
_MAIL = "0-9" + _MAIL_LETTERS
_EMAIL = rf"[{_MAIL}._%+-]+@[{_MAIL}-]+(?:\.[{_MAIL}-]+)*\.[{_MAIL_LETTERS}]{{2,}}"

# query or fragment parameters whose value is a credential: a word for a secret with any prefix
# and suffix (client_secret, id_token, X-Amz-Signature, x-api-key), or a short one alone or with
# a suffix (code, sig, auth, session_id); country_code or keyword are not credentials
_CREDENTIAL_KEY = (r"(?:[A-Za-z0-9]+[_.-])*(?:token|secret|signature|credential|password|passwd|key)(?:[_.-][A-Za-z0-9]+)*"
                   r"|(?:sig|code|auth|session|sessionid|pwd|jwt|apikey)(?:[_.-][A-Za-z0-9]+)*")

# name, pattern (Rust regex syntax: no look-around); order is priority
_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("PLACEHOLDER", r"<[A-Z_]+_[0-9a-f]{8}>"),
    ("PRIVATE_KEY", r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)-----END [A-Z ]*PRIVATE KEY-----"),
    # URLs end before trailing sentence punctuation and never cross a quote, so JSON text
    # (metadata, unknown fields) can be scrubbed as it is and stays valid JSON
    ("URL_CREDENTIALS", r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\"]+:[^\s/@\"]+@[^\s\"]*[^\s.,;:!?)\]'\"]"),
    # a URL whose query or fragment holds a credential parameter (refresh_token=, X-Amz-Signature=,
    # #access_token=, &amp;token=, %26key%3D ...); any other URL is not a candidate as a whole, so
    # the PII inside it (?email=..., an IPv6 host) is found by the other patterns
    ("URL_TOKEN", rf"(?i:https?)://[^\s?#\"]+[?#](?:[^\s\"]*?(?:[?&#;]|&amp;|%26))?(?i:{_CREDENTIAL_KEY})(?:=|%3[Dd])"
                  r"[^\s\"]*[^\s.,;:!?)\]'\"]"),
    ("EMAIL", _EMAIL),
    ("SECRET", r"(?:sk-(?:proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
               r"|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"
               r"|[Bb]earer [A-Za-z0-9._~+/-]{19,}[A-Za-z0-9_~+/-]=*)"),
    # look-alikes that contain digit runs: consumed here, restored unchanged
    ("UUID", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("HEX_HASH", r"\b[0-9a-f]{32,64}\b"),
    ("VERSION", r"(?i:\b(?:v|version|build|release)\s?)\d+(?:\.\d+){1,3}\b"),
    ("ISBN", r"(?:\bISBN(?:-1[03])?:? ?[0-9][0-9 -]{8,15}[0-9X]\b|\b97[89]-\d{1,5}-\d{1,7}-\d{1,7}-\d\b)"),
    ("DATE", r"(?:\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b|\b[0-3]?\d[./][0-3]?\d[./](?:19|20)\d{2}\b|\b\d{4}/\d{2}/\d{2}\b)"),
    ("IBAN", rf"\b(?i:{_IBAN_COUNTRIES})\d{{2}}(?: ?[A-Za-z0-9]{{4}}){{2,7}}(?: ?[A-Za-z0-9]{{1,3}})?\b"),
    ("CARD", r"\b[1-9](?:[ -]?\d){11,18}\b"),
    ("US_SSN", r"\b(?:00[1-9]|0[1-9]\d|[1-578]\d\d|6[0-57-9]\d|66[0-57-9])-(?:0[1-9]|[1-9]\d)-(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})\b"),
    # phones in shapes that are phones by their form alone: + and a country code, US, UK mobile
    ("PHONE", r"(?:\+\d{1,3}[ .-]?(?:\((?:0|\d{1,4})\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,5}"
              r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b|\b0\d{3,4} ?\d{6}\b)"),
    # national formats (and 00-prefixed international ones): kept only if `phonenumbers` finds
    # them valid in one of _PHONE_REGIONS
    ("PHONE_NATIONAL", r"(?:\b00[1-9]\d{0,2}[ .-]\d{1,5}(?:[ .-]?\d{2,5}){1,5}"
                       r"|\(0?\d{2,4}\) ?\d{3,5}[ .-]?\d{4}\b"
                       r"|\b0\d{1,5}(?:[ /.-]\d{2,8}){1,4}\b|\b0[1-9]\d{8,10}\b"
                       r"|\b1[ .-]\d{3}[ .-]\d{3}[ .-]\d{4}\b|\b[1-9]\d{2}[ -]\d{3}[ -]\d{3,4}\b"
                       r"|\b1[3-9]\d[ -]\d{4}[ -]\d{4}\b|\b[1-9]\d[ -]\d{4}[ -]\d{4}\b"
                       r"|\b[1-9]\d \d{3} \d{2} \d{2}\b|\b[6-9]\d{4} \d{5}\b)"),
    # (an IPv4-mapped or -embedded tail first: ::ffff:8.8.8.8 is one address, not :: and a quad)
    ("IPV6", r"(?i:(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5})?::(?:[0-9a-f]{1,4}:){0,5}\d{1,3}(?:\.\d{1,3}){3}\b"
             r"|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?)"),
    ("IPV4", r"\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b"),
    ("STREET_ADDRESS", r"\b\d{1,5} (?:[A-Z][a-z]+ ){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Lane|Ln|Dr|Drive|Way|Ct|Court|Pl|Place)\b\.?"
                       r"(?:,? [A-Z][a-z]+(?: [A-Z][a-z]+)?,? [A-Z]{2} \d{5}(?:-\d{4})?)?"),
    # names: after a cue word, or a run of two or more capitalized words that the name lists
    # (pipeline/privacy/pii_names.py) recognise; the classifier decides which part, if any, is a name
    ("PERSON_CUE", rf"\b(?:{_CUE_STRONG}|{_CUE_TITLE}|{_CUE_GREETING})[,!]? {_NAME_RUN}{_NAME_TAIL}"),
    ("NAME", rf"{_NAME_WORD}(?: (?:{_PARTICLE} ){{0,2}}{_NAME_WORD}){{1,3}}{_NAME_TAIL}"),
)
# Rust regex: ASCII word boundaries and digits keep it on its fast DFA (a Unicode \b makes it
# fall back to a slower engine on non-ASCII text: about 9x slower on this corpus)
COMBINED = "|".join(f"(?:{pattern})" for _, pattern in _ALTERNATIVES).replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]")
# the classifier (Python `re`) decides which alternative a candidate is; names are told apart
# by _name_spans, as Python's `re` has no \p{Lu}
# (one regex whose first alternative to match the whole candidate names it: the patterns have no
# capturing groups of their own, so `lastgroup` is the alternative)
_CLASSIFIER = re.compile("|".join(f"(?P<{name}>{pattern.replace('(?s:.*?)', '(?s:.*)')})" for name, pattern in _ALTERNATIVES
                                  if name not in ("PERSON_CUE", "NAME")))
_MARKED = MARK_OPEN + r"([^\x02]*)" + MARK_CLOSE
_CUE = re.compile(rf"(?:(?P<strong>{_CUE_STRONG})|(?P<title>{_CUE_TITLE})|(?P<greeting>{_CUE_GREETING}))[,!]? ")
_EMAIL_TAIL = re.compile(_EMAIL + "$")
_BEARER_TAIL = re.compile(r"[Bb]earer [A-Za-z0-9._~+/-]{19,}[A-Za-z0-9_~+/-]=*$")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:-[^\W\d_]+)*")
_PARTICLES = set(_PARTICLE.strip("(?:)").split("|"))
# a cue followed by words that are not a person: products, places, UI
_NOT_NAMES = {"Acme", "Settings", "Billing", "Google", "Python", "Docker", "Japan", "Lisbon", "Monday", "Friday"}
# regions whose national formats are tried, in this order, for a PHONE_NATIONAL candidate
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "IN", "MX", "PL", "SE", "JP", "CN", "KR", "AU",
                  "ZA", "NG", "CA", "AT", "CH", "BE", "PT", "IE", "DK", "NO", "FI", "AR", "CO", "CL", "TR", "ID",
                  "PH", "VN", "EG", "KE", "RU", "UA")

PII_TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS", "SECRET", "URL_TOKEN",
             "STREET_ADDRESS", "PERSON")


class MissingSaltError(RuntimeError):
    """EVALFUNNEL_PII_SALT is not set outside the demo."""


@dataclass(frozen=True)
class Finding:
    """What a candidate is: its PII type (None for a look-alike), the text to put instead, and
    the (type, value) pairs found in it (a name candidate's value is the name alone)."""

    pii_type: str | None
    replacement: str
    found: tuple[tuple[str, str], ...] = ()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """An IBAN of a registered country, of that country's length and BBAN format, with a valid
    mod-97 check (python-stdnum; any case, spaces ignored)."""
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum():
        return False
    # the mod-97 check first (microseconds; python-stdnum's full validation takes 0.2 ms, and
    # most candidates are look-alikes that fail it)
    if int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 != 1:
        return False
    try:
        stdnum_iban.validate(compact, check_country=False)
    except stdnum_exceptions.ValidationError:
        return False
    return True


def _isbn13_valid(digits: str) -> bool:
    return len(digits) == 13 and digits[:3] in ("978", "979") and \
        sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10 == 0


def _card(value: str) -> str | None:
    """The card number's digits if `value` is one: 13-19 digits (12 for Maestro's 5/6 ranges),
    Luhn-valid, and not an ISBN-13."""
    digits = re.sub(r"\D", "", value)
    if not (13 <= len(digits) <= 19 or len(digits) == 12 and digits[0] in "56"):
        return None
    return digits if luhn_valid(digits) and not _isbn13_valid(digits) else None


def _phone(kind: str, value: str) -> str | None:
    """The number in E.164 form (or its digits) if `value` is a phone number."""
    if kind == "PHONE":
        # + forms need a country code that exists; US and UK shapes are phones by their form
        digits = re.sub(r"\D", "", value.replace("(0)", ""))
        if value.startswith("+") and not any(
                int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for n in (1, 2, 3)):
            return None
        return digits if 7 <= len(digits) <= 15 else None
    number = "+" + value[2:] if value.startswith("00") else value
    for region in (None,) if number.startswith("+") else _PHONE_REGIONS:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV6_ASSIGNED = (ipaddress.ip_network("2000::/3"), ipaddress.ip_network("fc00::/7"))  # global unicast, unique local


def ip_is_personal(value: str) -> bool:
    """A parseable IP that can point at someone. IPv4: any but 127.0.0.1, 0.0.0.0, link-local and
    multicast addresses (technical constants). IPv6: a global unicast or unique local address,
    or one that carries an IPv4 address (::ffff:a.b.c.d, NAT64, 6to4, Teredo) that is personal;
    what else parses as IPv6 is a technical constant (::1, fe80::, ff02::) or not an address at
    all (Foo::add, items[::2], dead::beef, a colon-written MAC)."""
    try:
        ip = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6:
        carried = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None) or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if carried is not None:
            return ip_is_personal(str(carried))
        return any(ip in net for net in _IPV6_ASSIGNED)
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def _pii_type(kind: str, value: str) -> tuple[str | None, str]:
    """The PII type and the normalized value to key the placeholder on, or (None, value)."""
    if kind == "EMAIL":
        return "EMAIL", value.lower()
    if kind == "SECRET" or kind == "PRIVATE_KEY" or kind == "URL_CREDENTIALS":
        return ("URL_TOKEN" if kind == "URL_CREDENTIALS" else "SECRET"), value
    if kind == "URL_TOKEN":  # its pattern holds a credential parameter
        return "URL_TOKEN", value
    if kind == "IBAN":
        return ("IBAN", value.replace(" ", "").upper()) if iban_valid(value) else (None, value)
    if kind == "CARD":
        digits = _card(value)
        return ("CREDIT_CARD", digits) if digits else (None, value)
    if kind == "US_SSN":
        return "US_SSN", value
    if kind in ("PHONE", "PHONE_NATIONAL"):
        number = _phone(kind, value)
        return ("PHONE", number) if number else (None, value)
    if kind in ("IPV4", "IPV6"):
        return ("IP_ADDRESS", value.lower()) if ip_is_personal(value) else (None, value)
    if kind == "STREET_ADDRESS":
        return "STREET_ADDRESS", value
    return None, value  # placeholders and look-alikes


def _hyphen_parts(word: str) -> list[str]:
    return [p[:1].upper() + p[1:] for p in word.split("-")]


def _name_spans(candidate: str) -> list[tuple[int, int]]:
    """Where person names are in a PERSON_CUE or NAME candidate (character spans).

    After a title (Dr., Frau) any capitalized run is a name; after a strong cue ("my name is",
    "this is", "Dear") a run of name-like words; after a greeting ("Hi", "Thanks,") a run that
    starts with a known given name. Elsewhere a run of two or more capitalized words is a name
    when the lists say so: a known given name that is not a common word, then name-like words
    (Priya Raman; if the given name is a surname too, as Golden is, then a known name); an
    ambiguous given name (Will, Grace, Ana) only before a known surname that is
    not a common word, or before a given name and such a surname (Ana Beatriz Souza); a known surname then a given name or surname (Zhang Wei, Kim Min-jun);
    or an unknown word then a known surname (Zorbek Novak). Name-like: not on the never list,
    and a known name or not a common word."""
    lex = pii_names.lexicon()

    def first(w: str) -> bool:
        return w in lex.first or "-" in w and _hyphen_parts(w)[0] in lex.first

    def surname(w: str) -> bool:
        return w in lex.surnames or "-" in w and all(p in lex.surnames or p in lex.first for p in _hyphen_parts(w))

    def common(w: str) -> bool:
        return w.lower() in lex.words or "-" in w and all(p.lower() in lex.words for p in w.split("-"))

    def name_like(w: str) -> bool:
        return w[0].isupper() and w not in lex.never and w not in _NOT_NAMES and (first(w) or surname(w) or not common(w))

    cue = _CUE.match(candidate)
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(candidate, cue.end() if cue else 0)]

    def run(i: int) -> list[int]:
        """Indices of the capitalized words of the run of name-like words starting at i."""
        out, j = [], i
        while j < len(words) and len(out) < 4:
            if name_like(words[j][0]):
                out.append(j)
                j += 1
            elif out and words[j][0] in _PARTICLES and j + 1 < len(words) and words[j][0] != words[j + 1][0]:
                j += 1  # a particle inside a name (van der, de, da)
            else:
                break
        return out if out and out[-1] == j - 1 else out[:-1] if out else []

    spans, i = [], 0
    if cue:
        caps = [words[k][0] for k in run(0)]
        kind = cue.lastgroup
        if caps and (kind == "title" or kind == "strong" and (len(caps) >= 2 or first(caps[0]) or surname(caps[0]))
                     or kind == "greeting" and first(caps[0])):
            k = run(0)
            spans.append((words[k[0]][1], words[k[-1]][2]))
            i = k[-1] + 1
    while i < len(words):
        k = run(i) if name_like(words[i][0]) else []
        caps = [words[j][0] for j in k]
        if len(caps) >= 2:
            a, b, last = caps[0], caps[1], caps[-1]
            if (first(a) and not common(a) and (not surname(a) or first(b) or surname(b))
                    or first(a) and surname(b) and not common(b)
                    or first(a) and len(caps) >= 3 and first(b) and surname(last) and not common(last)
                    or surname(a) and not common(a) and (first(b) or surname(b))
                    or not common(a) and not first(a) and surname(last) and not common(last)):
                spans.append((words[k[0]][1], words[k[-1]][2]))
                i = k[-1] + 1
                continue
        i += 1
    return spans


class Anonymizer:
    """Replaces PII in Polars string columns; placeholders are keyed by `salt`."""

    def __init__(self, salt: bytes) -> None:
        if not salt:
            raise MissingSaltError("the pseudonymization salt is empty")
        self._salt = salt
        self._cache: dict[str, Finding] = {}
        self._keyed = hmac.new(salt, digestmod=hashlib.sha256)  # copied per value: the key is hashed once

    def placeholder(self, pii_type: str, normalized: str) -> str:
        mac = self._keyed.copy()
        mac.update(f"{pii_type}:{normalized}".encode())
        digest = mac.hexdigest()
        return f"<{pii_type}_{digest[:8]}>"

    def pseudonym(self, value: str | None, kind: str = "user") -> str | None:
        """HMAC-SHA256 pseudonym of an identifier (user_id, session_id)."""
        if value is None:
            return None
        mac = self._keyed.copy()
        mac.update(f"{kind}:{value}".encode())
        return f"{kind}_" + mac.hexdigest()[:20]

    def hmac_pads(self) -> dict[str, bytes]:
        """HMAC-SHA256's inner and outer keys, so SQL can compute `pseudonym` with two sha256
        calls: sha256(opad || unhex(sha256(ipad || 'user:' || id))). Query parameters only:
        never stored, never logged."""
        key = hashlib.sha256(self._salt).digest() if len(self._salt) > 64 else self._salt
        key = key.ljust(64, b"\0")
        return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5c for b in key)}

    def pseudonym_expr(self, column: str, kind: str) -> pl.Expr:
        # one HMAC per distinct id, then a vectorized lookup
        return pl.col(column).map_batches(lambda s: self._pseudonyms(s, kind), return_dtype=pl.String)

    def _pseudonyms(self, series: pl.Series, kind: str) -> pl.Series:
        unique = series.unique().drop_nulls()
        pseudonyms = pl.Series([self.pseudonym(v, kind) for v in unique.to_list()], dtype=pl.String)
        # Series, not a dict: Polars builds the lookup without converting a Python mapping (3x faster)
        return series.replace_strict(unique, pseudonyms, default=None, return_dtype=pl.String)

    def _names(self, candidate: str) -> Finding:
        """A PERSON_CUE or NAME candidate: the names in it, and an email or Bearer token at its end."""
        tail = _EMAIL_TAIL.search(candidate) or _BEARER_TAIL.search(candidate)
        head = candidate[:tail.start()] if tail else candidate
        spans = [(s, e, "PERSON", candidate[s:e]) for s, e in _name_spans(head)]
        if tail:
            kind = "EMAIL" if "@" in tail.group() else "SECRET"
            spans.append((tail.start(), tail.end(), kind, tail.group().lower() if kind == "EMAIL" else tail.group()))
        if not spans:
            return Finding(None, candidate)
        out, last, found = [], 0, []
        for start, end, pii_type, normalized in spans:
            out += [candidate[last:start], self.placeholder(pii_type, normalized)]
            found.append((pii_type, candidate[start:end]))
            last = end
        return Finding(found[0][0], "".join(out) + candidate[last:], tuple(found))

    def classify(self, candidate: str) -> Finding:
        """Decide one marked candidate (cached: each distinct value is decided once)."""
        found = self._cache.get(candidate)
        if found is not None:
            return found
        match = _CLASSIFIER.fullmatch(candidate)
        kind = match.lastgroup if match else None
        if kind is None and candidate[:1].isalpha():
            found = self._names(candidate)
        else:
            pii_type, normalized = _pii_type(kind or "", candidate)
            found = (Finding(pii_type, self.placeholder(pii_type, normalized), ((pii_type, candidate),)) if pii_type
                     else Finding(None, candidate))
        self._cache[candidate] = found
        return found

    @staticmethod
    def mark(column: str) -> pl.Expr:
        return pl.col(column).str.replace_all(COMBINED, MARK_OPEN + "$0" + MARK_CLOSE)

    def detect(self, texts: pl.Series) -> list[list[tuple[str, str]]]:
        """Per text, the (PII type, original value) pairs found; for scoring against gold spans."""
        marked = pl.DataFrame({"t": texts}).select(self.mark("t").str.extract_all(_MARKED)).get_column("t")
        return [[pair for m in row or [] for pair in self.classify(m[1:-1]).found] for row in marked.to_list()]

    def scrub(self, frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, Counter]:
        """Scrub string `columns` of `frame`; returns the frame and replacements per PII type.

        The counts are of detected values; where a name of two or more words found in one text
        repeats where it was not recognised (after a cue it had, without it), the repeat is
        replaced too but not counted (counting would take a pass per name)."""
        # lazy: Polars splits one long string column across cores, eager does not (2x on 2 cores)
        marked = frame.lazy().with_columns(self.mark(c) for c in columns).collect()
        # per column, then stacked: a null in one column must not hide another column's candidates
        candidates = pl.concat([marked.get_column(c).str.extract_all(_MARKED).explode().drop_nulls() for c in columns])
        counts: Counter = Counter()
        keys, values, unnamed, names = [], [], [], {}
        for marked_value, n in candidates.value_counts().iter_rows():
            finding = self.classify(marked_value[1:-1])
            keys.append(marked_value)
            values.append(finding.replacement)
            for pii_type, _ in finding.found:
                counts[pii_type] += n
            if finding.pii_type == "PERSON":
                names.update((name, self.placeholder("PERSON", name)) for _, name in finding.found if " " in name)
            elif finding.pii_type is None and marked_value[1:2].isalpha():
                unnamed.append(len(keys) - 1)
        if names:
            # a name found in one text (after "my name is ...") is replaced wherever it appears,
            # so an answer that repeats it without the cue is scrubbed too: as bare text (the
            # keys below) and inside the capitalized runs that were not recognised as names
            rx = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
            for i in unnamed:
                if any(w in names for w in _runs_of(values[i])):
                    values[i] = rx.sub(lambda m: names[m.group()], values[i])
            for name, placeholder in names.items():
                keys.append(name)
                values.append(placeholder)
        if not keys:
            return frame, counts
        # leftmost-first: a marked candidate (it starts at its marker) beats a name inside it;
        # longer keys first, so a longer name wins over its prefix
        order = sorted(range(len(keys)), key=lambda i: -len(keys[i]))
        keys, values = [keys[i] for i in order], [values[i] for i in order]
        replaced = marked.lazy().with_columns(pl.col(c).str.replace_many(keys, values, leftmost=True) for c in columns)
        return replaced.collect(), counts


def _runs_of(text: str) -> set[str]:
    """Every run of consecutive words of `text` (joined by single spaces), for name lookups."""
    words = text.split(" ")
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, min(len(words), i + 6) + 1)}


def scan_for_residue(texts: list[str] | pl.Series) -> Counter:
    """An independent second pass (Python `re`, separate patterns, same validators) that
    counts PII left in already-scrubbed text, per type. Used by the `no_pii_residue` checks.

    Still a full scan, vectorized: every text goes through the prefilters of
    `_RESIDUE_PREFILTERS` (Rust regex in Polars, one pass; each a superset of its type's pattern
    once placeholders are blanked), and a type's exact pattern and validator run only on the texts
    its own prefilter matched. A text a prefilter passes over cannot hold a match of that type, so the
    count is the exact scan's."""
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
    # one pass of all the prefilters over every text (one regex: 0.5 s on a month's 1.1M texts,
    # where seven passes took 1.4 s), then each type's own prefilter over the few that matched
    flags = (pl.DataFrame({"bare": series.str.replace_all(_PLACEHOLDER_RX, " ")}).lazy()
             .filter(pl.col("bare").str.contains(_ANY_RESIDUE).fill_null(False))
             .select("bare", *(pl.col("bare").str.contains(rx).alias(kind) for kind, rx in _RESIDUE_PREFILTERS.items()))
             .collect())
    found: Counter = Counter()
    for kind, rx in _RESIDUE:
        for bare in flags.filter(pl.col(kind)).get_column("bare").to_list():
            found[_REPORTED_AS.get(kind, kind)] += _count_exact(kind, rx, bare)
    return +found


def _scan_exact(texts: list[str]) -> Counter:
    """The exact scan of every text with every pattern (the reference the prefilters must match)."""
    found: Counter = Counter()
    for text in texts:
        if not text:
            continue
        bare = re.sub(_PLACEHOLDER_RX, " ", text)
        for kind, rx in _RESIDUE:
            found[_REPORTED_AS.get(kind, kind)] += _count_exact(kind, rx, bare)
    return +found


# the residue kinds counted under another type's name
_REPORTED_AS = {"IP_ADDRESS_V6": "IP_ADDRESS"}
_V6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def _v6_run(bare: str, start: int, end: int) -> tuple[int, int]:
    """The maximal run of hex digits, colons and dots around bare[start:end]."""
    while start and bare[start - 1] in _V6_CHARS:
        start -= 1
    while end < len(bare) and bare[end] in _V6_CHARS:
        end += 1
    return start, end


def _v6_value(bare: str, start: int, end: int) -> str | None:
    """The run bare[start:end] as an IPv6 address, if it stands alone and parses as one (a
    sentence's final dot dropped)."""
    if start and (bare[start - 1].isalnum() or bare[start - 1] == "_"):
        return None
    if end < len(bare) and (bare[end].isalnum() or bare[end] == "_"):
        return None
    value = bare[start:end].rstrip(".")
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return value


def _in_ipv6(bare: str, start: int, end: int) -> bool:
    """Whether the IPv4 address at bare[start:end] is the tail of an IPv6 address (::ffff:a.b.c.d,
    fe80::5efe:10.0.0.1): the IPv6 rule judges the whole address."""
    return start > 0 and bare[start - 1] == ":" and _v6_value(bare, *_v6_run(bare, start, end)) is not None


def _ipv6_residue(anchors: re.Pattern, bare: str) -> int:
    """Personal IPv6 addresses in `bare`: the maximal runs of hex digits, colons and dots that
    hold an anchor, stand alone and parse as IPv6 (an IPv4 tail included). Each run is walked
    once: anchors inside the last run are passed over (a long run of them was quadratic)."""
    n, last_end = 0, -1
    for m in anchors.finditer(bare):
        if m.start() < last_end:
            continue
        start, end = _v6_run(bare, m.start(), m.end())
        last_end = end
        value = _v6_value(bare, start, end)
        n += value is not None and ip_is_personal(value)
    return n


def _count_exact(kind: str, rx: re.Pattern, bare: str) -> int:
    if kind == "IP_ADDRESS_V6":
        return _ipv6_residue(rx, bare)
    n = 0
    for m in rx.finditer(bare):
        value = m.group(0)
        if kind == "CREDIT_CARD":
            digits = re.sub(r"\D", "", value)
            # ISBN-13s (978/979) are look-alikes the anonymizer leaves on purpose, Luhn-valid or not
            if not luhn_valid(digits) or len(digits) == 13 and digits[:3] in ("978", "979"):
                continue
        if kind == "PHONE" and value.startswith("+") and not _international_phone(value):
            continue
        if kind == "IBAN" and not iban_valid(value):
            continue
        if kind == "IP_ADDRESS" and (not ip_is_personal(value) or _VERSION_CUE.search(bare, 0, m.start())
                                     or _in_ipv6(bare, m.start(), m.end())):
            continue
        n += 1
    return n


def _international_phone(value: str) -> bool:
    """A + number with a country code that exists and 8-15 digits (a national "(0)" not counted)."""
    digits = re.sub(r"\D", "", value.replace("(0)", ""))
    return 8 <= len(digits) <= 15 and any(int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for n in (1, 2, 3))


_VERSION_CUE = re.compile(r"(?i)\b(?:v|version|build|release)\s?$")
_PLACEHOLDER_RX = r"<[A-Z_]+_[0-9a-f]{8}>"
# per type, a pattern implied by every value that type's exact pattern and validator in _RESIDUE
# count (the lookarounds, word boundaries and validators dropped; \d is Unicode in both engines)
# parameter names whose value is a credential, in a URL's query or fragment (written apart from
# the anonymizer's _CREDENTIAL_KEY, as every residue pattern is): a secret's word with any
# prefix and suffix, or a short word alone or with a suffix
_SECRET_WORDS = "token|secret|signature|credential|password|passwd|key"
_SHORT_WORDS = "sig|code|auth|session|sessionid|pwd|jwt|apikey"
_TOKEN_KEYS = rf"(?:[a-z0-9]+[_.-])*(?:{_SECRET_WORDS})(?:[_.-][a-z0-9]+)*|(?:{_SHORT_WORDS})(?:[_.-][a-z0-9]+)*"
_RESIDUE_PREFILTERS = {
    # \S and \d, never \w: Python's \w takes characters (², ①) that Rust's does not
    "EMAIL": r"\S@[^\s.]+\.", "CREDIT_CARD": r"(?:\d[ -]?){12,18}\d", "US_SSN": r"\d{3}-\d{2}-\d{4}",
    "IBAN": r"(?i:[a-z]{2})\d{2}", "SECRET": r"sk-|AKIA|gh[pousr]_|xox[abprs]-|eyJ|[Bb]earer ",
    "IP_ADDRESS": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
    # a personal IPv6 address has '::' beside a group (:: alone is unspecified) or six groups
    # before its last one; times (10:30:00) and slices (items[::-1]) have neither
    "IP_ADDRESS_V6": r"[0-9A-Fa-f]::|::[0-9A-Fa-f]|(?:[0-9A-Fa-f]{1,4}:){6}", "PHONE": r"\+\d|\(\d{3}\)|\d{3}-\d{3}-\d{4}",
    "URL_TOKEN": rf"(?i)(?:{_SECRET_WORDS}|{_SHORT_WORDS})[a-z0-9_.-]*(?:=|%3d)",
}
_ANY_RESIDUE = "|".join(f"(?:{rx})" for rx in _RESIDUE_PREFILTERS.values())
# A number may end a sentence ("My card is 4111 1111 1111 1111.", "my IP is 8.8.8.8."): a dot
# after it is punctuation unless a digit or letter follows
_RESIDUE = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]*[A-Za-z]{2,}\b")),
    ("CREDIT_CARD", re.compile(r"(?<![\w-])(?<!\d\.)(?:\d[ -]?){12,18}\d(?!\w|[.-]\d)")),
    ("US_SSN", re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")),
    ("IBAN", re.compile(r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("SECRET", re.compile(r"\b(?:sk-[\w-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_\w{30,}|xox[abprs]-[\w-]{10,}"
                          r"|eyJ[\w-]+\.[\w-]+\.[\w-]+|[Bb]earer [A-Za-z0-9._~+/-]{19,})")),
    ("IP_ADDRESS", re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)")),
    # IPv6 in any form (full, :: compressed, a dotted tail): each run of hex digits, colons and
    # dots around one of these anchors, standing alone, that `ipaddress` accepts (_ipv6_residue)
    ("IP_ADDRESS_V6", re.compile(r"[0-9A-Fa-f]::|::[0-9A-Fa-f]|(?:[0-9A-Fa-f]{1,4}:){6}")),
    ("URL_TOKEN", re.compile(rf"(?i)\bhttps?://[^\s?#\"]+[?#](?:[^\s\"]*?(?:[?&#;]|&amp;|%26))?(?:{_TOKEN_KEYS})"
                             rf"(?:=|%3d)[^&\s#\"]+")),
    # + and a country code with 8-15 digits in any grouping (+33 6 12 34 56 78, +49 (0)30 1234567,
    # +7 (495) 123-45-67); US shapes by their form
    ("PHONE", re.compile(r"\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){2,6}(?!\d)|\(\d{3}\) ?\d{3}-\d{4}\b"
                         r"|(?<![\d-])\d{3}-\d{3}-\d{4}(?![\d-])")),
)
