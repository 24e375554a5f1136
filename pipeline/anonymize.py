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

import polars as pl

MARK_OPEN, MARK_CLOSE = "\x00", "\x02"

# name, pattern (Rust regex syntax: no look-around); order is priority
_ALTERNATIVES: tuple[tuple[str, str], ...] = (
    ("PLACEHOLDER", r"<[A-Z_]+_[0-9a-f]{8}>"),
    ("PRIVATE_KEY", r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)-----END [A-Z ]*PRIVATE KEY-----"),
    # URLs end before trailing sentence punctuation and never cross a quote, so JSON text
    # (metadata, unknown fields) can be scrubbed as it is and stays valid JSON
    ("URL_CREDENTIALS", r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\"]+:[^\s/@\"]+@[^\s\"]*[^\s.,;:!?)\]'\"]"),
    ("URL_TOKEN", r"https?://[^\s?#\"]+\?[^\s#\"]*[^\s.,;:!?)\]'\"#]"),
    ("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ("SECRET", r"(?:sk-(?:proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
               r"|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"
               r"|[Bb]earer [A-Za-z0-9._~+/-]{19,}[A-Za-z0-9_~+/-]=*)"),
    # look-alikes that contain digit runs: consumed here, restored unchanged
    ("UUID", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("HEX_HASH", r"\b[0-9a-f]{32,64}\b"),
    ("VERSION", r"(?i:\b(?:v|version|build|release)\s?)\d+(?:\.\d+){1,3}\b"),
    ("DATE", r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b"),
    ("IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    ("CARD", r"\b\d(?:[ -]?\d){12,18}\b"),
    ("US_SSN", r"\b(?:00[1-9]|0[1-9]\d|[1-578]\d\d|6[0-57-9]\d|66[0-57-9])-(?:0[1-9]|[1-9]\d)-(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})\b"),
    ("PHONE", r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,4}"
              r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b|\b0\d{3,4} ?\d{6}\b)"),
    ("IPV6", r"(?i:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?)"),
    ("IPV4", r"\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b"),
    ("STREET_ADDRESS", r"\b\d{1,5} (?:[A-Z][a-z]+ ){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Lane|Ln|Dr|Drive|Way|Ct|Court|Pl|Place)\b\.?"
                       r"(?:,? [A-Z][a-z]+(?: [A-Z][a-z]+)?,? [A-Z]{2} \d{5}(?:-\d{4})?)?"),
    ("PERSON_CUE", r"(?:[Mm]y name is|[Tt]his is|I am|I'm|[Mm]y (?:manager|colleague|boss)|[Cc]ontact:?|[Rr]egards,|[Ss]incerely,|Dear)"
                   r" [A-Z][a-z]+ [A-Z][a-z]+(?:-[A-Z][a-z]+)?"),
)
# Rust regex: ASCII word boundaries and digits keep it on its fast DFA (a Unicode \b makes it
# fall back to a slower engine on non-ASCII text: about 9x slower on this corpus)
COMBINED = "|".join(f"(?:{pattern})" for _, pattern in _ALTERNATIVES).replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]")
_CLASSIFIERS = [(name, re.compile(pattern.replace("(?s:.*?)", "(?s:.*)"))) for name, pattern in _ALTERNATIVES]
_MARKED = MARK_OPEN + r"([^\x02]*)" + MARK_CLOSE
_QUERY_KEY = re.compile(r"(?i)(?:^|[?&])(?:token|sig|signature|key|api_key|apikey|access_token|auth|code|secret|password|pwd|session)=")
_PERSON_CUE = re.compile(r"^(.*? )([A-Z][a-z]+ [A-Z][a-z]+(?:-[A-Z][a-z]+)?)$")
# a cue followed by words that are not a person: products, places, UI
_NOT_NAMES = {"Acme", "Settings", "Billing", "Google", "Python", "Docker", "Japan", "Lisbon", "Monday", "Friday"}

PII_TYPES = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS", "SECRET", "URL_TOKEN",
             "STREET_ADDRESS", "PERSON")


class MissingSaltError(RuntimeError):
    """EVALFUNNEL_PII_SALT is not set outside the demo."""


@dataclass(frozen=True)
class Finding:
    """What a candidate is: its PII type (None for a look-alike) and the text to put instead."""

    pii_type: str | None
    replacement: str


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def ip_is_personal(value: str) -> bool:
    """A parseable IP that can point at someone: 127.0.0.1, 0.0.0.0, ::, link-local and
    multicast addresses are technical constants, not anyone's address."""
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def _pii_type(kind: str, value: str) -> tuple[str | None, str]:
    """The PII type and the normalized value to key the placeholder on, or (None, value)."""
    if kind == "EMAIL":
        return "EMAIL", value.lower()
    if kind == "SECRET" or kind == "PRIVATE_KEY" or kind == "URL_CREDENTIALS":
        return ("URL_TOKEN" if kind == "URL_CREDENTIALS" else "SECRET"), value
    if kind == "URL_TOKEN":
        query = value.split("?", 1)[1]
        return ("URL_TOKEN", value) if _QUERY_KEY.search(query) else (None, value)
    if kind == "IBAN":
        return ("IBAN", value.replace(" ", "").upper()) if iban_valid(value) else (None, value)
    if kind == "CARD":
        digits = re.sub(r"\D", "", value)
        return ("CREDIT_CARD", digits) if 13 <= len(digits) <= 19 and luhn_valid(digits) else (None, value)
    if kind == "US_SSN":
        return "US_SSN", value
    if kind == "PHONE":
        digits = re.sub(r"\D", "", value)
        return ("PHONE", digits) if 7 <= len(digits) <= 15 else (None, value)
    if kind in ("IPV4", "IPV6"):
        return ("IP_ADDRESS", value.lower()) if ip_is_personal(value) else (None, value)
    if kind == "STREET_ADDRESS":
        return "STREET_ADDRESS", value
    return None, value  # placeholders and look-alikes


class Anonymizer:
    """Replaces PII in Polars string columns; placeholders are keyed by `salt`."""

    def __init__(self, salt: bytes) -> None:
        if not salt:
            raise MissingSaltError("the pseudonymization salt is empty")
        self._salt = salt
        self._cache: dict[str, Finding] = {}

    def placeholder(self, pii_type: str, normalized: str) -> str:
        digest = hmac.new(self._salt, f"{pii_type}:{normalized}".encode(), hashlib.sha256).hexdigest()
        return f"<{pii_type}_{digest[:8]}>"

    def pseudonym(self, value: str | None, kind: str = "user") -> str | None:
        """HMAC-SHA256 pseudonym of an identifier (user_id, session_id)."""
        if value is None:
            return None
        return f"{kind}_" + hmac.new(self._salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:20]

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
        unique = series.unique().drop_nulls().to_list()
        mapping = {v: self.pseudonym(v, kind) for v in unique}
        return series.replace_strict(mapping, default=None, return_dtype=pl.String)

    def classify(self, candidate: str) -> Finding:
        """Decide one marked candidate (cached: each distinct value is decided once)."""
        found = self._cache.get(candidate)
        if found is not None:
            return found
        kind = next((name for name, rx in _CLASSIFIERS if rx.fullmatch(candidate)), None)
        if kind == "PERSON_CUE":
            cue, name = _PERSON_CUE.match(candidate).groups()
            found = (Finding(None, candidate) if name.split()[0] in _NOT_NAMES
                     else Finding("PERSON", cue + self.placeholder("PERSON", name)))
        else:
            pii_type, normalized = _pii_type(kind or "", candidate)
            found = Finding(pii_type, self.placeholder(pii_type, normalized) if pii_type else candidate)
        self._cache[candidate] = found
        return found

    @staticmethod
    def mark(column: str) -> pl.Expr:
        return pl.col(column).str.replace_all(COMBINED, MARK_OPEN + "$0" + MARK_CLOSE)

    def detect(self, texts: pl.Series) -> list[list[tuple[str, str]]]:
        """Per text, the (PII type, original value) pairs found; for scoring against gold spans."""
        marked = pl.DataFrame({"t": texts}).select(self.mark("t").str.extract_all(_MARKED)).get_column("t")
        out = []
        for row in marked.to_list():
            found = []
            for m in row or []:
                finding = self.classify(m[1:-1])
                if finding.pii_type == "PERSON":
                    found.append(("PERSON", _PERSON_CUE.match(m[1:-1]).group(2)))
                elif finding.pii_type:
                    found.append((finding.pii_type, m[1:-1]))
            out.append(found)
        return out

    def scrub(self, frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, Counter]:
        """Scrub string `columns` of `frame`; returns the frame and replacements per PII type.

        The counts are of detected values; where a name found after a cue repeats without it,
        the repeat is replaced too but not counted (counting would take a pass per name)."""
        # lazy: Polars splits one long string column across cores, eager does not (2x on 2 cores)
        marked = frame.lazy().with_columns(self.mark(c) for c in columns).collect()
        # per column, then stacked: a null in one column must not hide another column's candidates
        candidates = pl.concat([marked.get_column(c).str.extract_all(_MARKED).explode().drop_nulls() for c in columns])
        counts: Counter = Counter()
        keys, values = [], []
        for marked_value, n in candidates.value_counts().iter_rows():
            finding = self.classify(marked_value[1:-1])
            keys.append(marked_value)
            values.append(finding.replacement)
            if finding.pii_type:
                counts[finding.pii_type] += n
            if finding.pii_type == "PERSON":
                # a name found after a cue ("my name is ...") is replaced wherever it appears,
                # so an answer that repeats it without the cue is scrubbed too
                name = _PERSON_CUE.match(marked_value[1:-1]).group(2)
                keys.append(name)
                values.append(self.placeholder("PERSON", name))
        if not keys:
            return frame, counts
        # leftmost-first: a marked candidate (it starts at its marker) beats a name inside it;
        # longer keys first, so a longer name wins over its prefix
        order = sorted(range(len(keys)), key=lambda i: -len(keys[i]))
        keys, values = [keys[i] for i in order], [values[i] for i in order]
        replaced = marked.lazy().with_columns(pl.col(c).str.replace_many(keys, values, leftmost=True) for c in columns)
        return replaced.collect(), counts


def scan_for_residue(texts: list[str]) -> Counter:
    """An independent second pass (Python `re`, separate patterns, same validators) that
    counts PII left in already-scrubbed text, per type. Used by the `no_pii_residue` checks."""
    found: Counter = Counter()
    for text in texts:
        if not text:
            continue
        bare = re.sub(r"<[A-Z_]+_[0-9a-f]{8}>", " ", text)
        for kind, rx in _RESIDUE:
            for m in rx.finditer(bare):
                value = m.group(0)
                if kind == "CREDIT_CARD" and not luhn_valid(re.sub(r"\D", "", value)):
                    continue
                if kind == "IBAN" and not iban_valid(value):
                    continue
                if kind == "IP_ADDRESS" and (not ip_is_personal(value) or _VERSION_CUE.search(bare, 0, m.start())):
                    continue
                found[kind] += 1
    return found


_VERSION_CUE = re.compile(r"(?i)\b(?:v|version|build|release)\s?$")
_RESIDUE = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]*[A-Za-z]{2,}\b")),
    ("CREDIT_CARD", re.compile(r"(?<![\w.-])(?:\d[ -]?){12,18}\d(?![\w.-])")),
    ("US_SSN", re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("SECRET", re.compile(r"\b(?:sk-[\w-]{20,}|AKIA[0-9A-Z]{16}|ghp_\w{30,}|xox[abprs]-[\w-]{10,}|eyJ[\w-]+\.[\w-]+\.[\w-]+)")),
    ("IP_ADDRESS", re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])")),
    ("PHONE", re.compile(r"\+\d{1,3}[ .-]?\d{2,4}[ .-]?\d{3,4}[ .-]?\d{3,4}\b|\(\d{3}\) ?\d{3}-\d{4}\b")),
)
