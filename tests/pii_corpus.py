"""A hand-written PII corpus, separate from the demo generator (pipeline/demo), for measuring the
anonymizer on text the project did not generate.

Formats of 20 countries: phones as people write them nationally and internationally (US, CA,
UK, IE, DE, AT, CH, FR, ES, IT, NL, PL, SE, BR, MX, IN, JP, CN, KR, AU, ZA, NG), IBANs of 18
countries in upper and lower case, compact and grouped, cards of every major network in 12-19
digits, and person names of 20 countries in running text, most of them without a cue word.
The names and sentences were written for this corpus, not drawn from the anonymizer's name
lists; a few cases the anonymizer is documented not to catch (a lone first name with no
greeting) are in the gold on purpose, so the recall figure includes them.

Each entry is (text, gold): gold lists (type, value) for every personal value in the text;
everything else in the text (versions, ISBNs, dates, prices, order numbers, Luhn-failing digit
runs, UUIDs, product and place names) must come out unchanged.

Used by tests/privacy/test_pii_corpus.py and bench/anonymize.py.
"""

from __future__ import annotations

import re

Gold = list[tuple[str, str]]

PHONES: list[tuple[str, Gold]] = [
    ("call me on +44 20 7946 0958 after six", [("PHONE", "+44 20 7946 0958")]),
    ("UK office: 020 7946 0321, mobile 07911 123456", [("PHONE", "020 7946 0321"), ("PHONE", "07911 123456")]),
    ("Manchester desk is 0161 496 0000", [("PHONE", "0161 496 0000")]),
    ("my mobile is +44 7911 123456.", [("PHONE", "+44 7911 123456")]),
    ("Dublin: +353 1 234 5678", [("PHONE", "+353 1 234 5678")]),
    ("Unsere Nummer: 030 12345678", [("PHONE", "030 12345678")]),
    ("ruf mich an unter 0151 23456789 oder +49 30 901820", [("PHONE", "0151 23456789"), ("PHONE", "+49 30 901820")]),
    ("Büro München +49 (0)89 1234567", [("PHONE", "+49 (0)89 1234567")]),
    ("Fax 089/1234567", [("PHONE", "089/1234567")]),
    ("Wien: +43 1 5344 0", [("PHONE", "+43 1 5344 0")]),
    ("Zürich 044 668 18 00", [("PHONE", "044 668 18 00")]),
    ("appelle-moi au 06 12 34 56 78 stp", [("PHONE", "06 12 34 56 78")]),
    ("bureau: 01.23.45.67.89", [("PHONE", "01.23.45.67.89")]),
    ("mon portable +33 6 98 76 54 32", [("PHONE", "+33 6 98 76 54 32")]),
    ("standard +33 (0)1 42 68 53 00", [("PHONE", "+33 (0)1 42 68 53 00")]),
    ("llámame al 612 345 678", [("PHONE", "612 345 678")]),
    ("oficina Madrid +34 91 123 45 67", [("PHONE", "+34 91 123 45 67")]),
    ("chiamami al 347 123 4567", [("PHONE", "347 123 4567")]),
    ("ufficio di Roma +39 06 6982 1234", [("PHONE", "+39 06 6982 1234")]),
    ("bel me op 06-12345678", [("PHONE", "06-12345678")]),
    ("kantoor 020-1234567, mobiel +31 6 12345678", [("PHONE", "020-1234567"), ("PHONE", "+31 6 12345678")]),
    ("zadzwoń: +48 512 345 678", [("PHONE", "+48 512 345 678")]),
    ("ring mig på 070-123 45 67", [("PHONE", "070-123 45 67")]),
    ("växel +46 8 123 456 78", [("PHONE", "+46 8 123 456 78")]),
    ("me liga no (11) 98765-4321", [("PHONE", "(11) 98765-4321")]),
    ("WhatsApp +55 21 99876-5432", [("PHONE", "+55 21 99876-5432")]),
    ("telefone fixo (21) 2345-6789", [("PHONE", "(21) 2345-6789")]),
    ("CDMX: +52 55 1234 5678", [("PHONE", "+52 55 1234 5678")]),
    ("my number +91 98765 43210", [("PHONE", "+91 98765 43210")]),
    ("Mumbai office +91-22-2345-6789", [("PHONE", "+91-22-2345-6789")]),
    ("電話は 03-1234-5678 です", [("PHONE", "03-1234-5678")]),
    ("携帯 090-1234-5678", [("PHONE", "090-1234-5678")]),
    ("Tokyo +81 3-1234-5678", [("PHONE", "+81 3-1234-5678")]),
    ("手机 138 0013 8000", [("PHONE", "138 0013 8000")]),
    ("Beijing office +86 10 6552 9988", [("PHONE", "+86 10 6552 9988")]),
    ("연락처 010-1234-5678", [("PHONE", "010-1234-5678")]),
    ("Seoul +82 2-312-3456", [("PHONE", "+82 2-312-3456")]),
    ("mobile 0412 345 678 (AU)", [("PHONE", "0412 345 678")]),
    ("Sydney office (02) 9876 5432", [("PHONE", "(02) 9876 5432")]),
    ("cell 082 123 4567", [("PHONE", "082 123 4567")]),
    ("Lagos: 0803 123 4567 or +234 803 765 4321", [("PHONE", "0803 123 4567"), ("PHONE", "+234 803 765 4321")]),
    ("Toronto 416-555-0123, toll free 1-800-555-0199", [("PHONE", "416-555-0123"), ("PHONE", "1-800-555-0199")]),
    ("US: +1 (212) 555-0147 or (646) 555-0199", [("PHONE", "+1 (212) 555-0147"), ("PHONE", "(646) 555-0199")]),
    ("reach me at 212.555.0178", [("PHONE", "212.555.0178")]),
    ("whatsapp me +4915123456789", [("PHONE", "+4915123456789")]),
    ("call 0044 20 7946 0777 from abroad", [("PHONE", "0044 20 7946 0777")]),
]

IBANS: list[tuple[str, Gold]] = [
    ("refund to DE89 3704 0044 0532 0130 00", [("IBAN", "DE89 3704 0044 0532 0130 00")]),
    ("iban de89 3704 0044 0532 0130 00 please", [("IBAN", "de89 3704 0044 0532 0130 00")]),
    ("IBAN: de89370400440532013000", [("IBAN", "de89370400440532013000")]),
    ("UK account GB82WEST12345698765432", [("IBAN", "GB82WEST12345698765432")]),
    ("gb82 west 1234 5698 7654 32", [("IBAN", "gb82 west 1234 5698 7654 32")]),
    ("virement sur FR14 2004 1010 0505 0001 3M02 606", [("IBAN", "FR14 2004 1010 0505 0001 3M02 606")]),
    ("mi IBAN es ES91 2100 0418 4502 0005 1332", [("IBAN", "ES91 2100 0418 4502 0005 1332")]),
    ("bonifico su IT60X0542811101000000123456", [("IBAN", "IT60X0542811101000000123456")]),
    ("it60 x054 2811 1010 0000 0123 456", [("IBAN", "it60 x054 2811 1010 0000 0123 456")]),
    ("rekening NL91 ABNA 0417 1643 00", [("IBAN", "NL91 ABNA 0417 1643 00")]),
    ("nl91abna0417164300 is mijn rekening", [("IBAN", "nl91abna0417164300")]),
    ("Konto CH93 0076 2011 6238 5295 7", [("IBAN", "CH93 0076 2011 6238 5295 7")]),
    ("AT61 1904 3002 3457 3201", [("IBAN", "AT61 1904 3002 3457 3201")]),
    ("przelew na PL61 1090 1014 0000 0712 1981 2874", [("IBAN", "PL61 1090 1014 0000 0712 1981 2874")]),
    ("konto SE45 5000 0000 0583 9825 7466", [("IBAN", "SE45 5000 0000 0583 9825 7466")]),
    ("NO93 8601 1117 947", [("IBAN", "NO93 8601 1117 947")]),
    ("PT50 0002 0123 1234 5678 9015 4", [("IBAN", "PT50 0002 0123 1234 5678 9015 4")]),
    ("IE29 AIBK 9311 5212 3456 78", [("IBAN", "IE29 AIBK 9311 5212 3456 78")]),
    ("DK50 0040 0440 1162 43", [("IBAN", "DK50 0040 0440 1162 43")]),
    ("FI21 1234 5600 0007 85", [("IBAN", "FI21 1234 5600 0007 85")]),
    ("conta BR97 0036 0305 0000 1000 9795 493P 1", [("IBAN", "BR97 0036 0305 0000 1000 9795 493P 1")]),
    ("TR33 0006 1005 1978 6457 8413 26", [("IBAN", "TR33 0006 1005 1978 6457 8413 26")]),
    ("SA03 8000 0000 6080 1016 7519", [("IBAN", "SA03 8000 0000 6080 1016 7519")]),
    ("DE89 370400440532013000 (grouped oddly)", [("IBAN", "DE89 370400440532013000")]),
]

CARDS: list[tuple[str, Gold]] = [
    ("visa 4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ("card 4012888888881881 declined", [("CREDIT_CARD", "4012888888881881")]),
    ("old visa 4432319487576", [("CREDIT_CARD", "4432319487576")]),
    ("mastercard 5555-5555-5555-4444", [("CREDIT_CARD", "5555-5555-5555-4444")]),
    ("new MC 2223 0031 2200 3222", [("CREDIT_CARD", "2223 0031 2200 3222")]),
    ("amex 3782 822463 10005", [("CREDIT_CARD", "3782 822463 10005")]),
    ("amex 371449635398431", [("CREDIT_CARD", "371449635398431")]),
    ("discover 6011 0009 9013 9424", [("CREDIT_CARD", "6011 0009 9013 9424")]),
    ("diners 3056 930902 5904", [("CREDIT_CARD", "3056 930902 5904")]),
    ("diners 36093786579758", [("CREDIT_CARD", "36093786579758")]),
    ("JCB 3530 1113 3330 0000", [("CREDIT_CARD", "3530 1113 3330 0000")]),
    ("unionpay 6294 8219 9351 8191", [("CREDIT_CARD", "6294 8219 9351 8191")]),
    ("maestro 6304 0830 1661 3186 093", [("CREDIT_CARD", "6304 0830 1661 3186 093")]),
    ("maestro 505260181597 (12 digits)", [("CREDIT_CARD", "505260181597")]),
    ("visa 4139 0996 0308 2462 818 (19 digits)", [("CREDIT_CARD", "4139 0996 0308 2462 818")]),
    ("Karte 5491186252760188 wurde belastet", [("CREDIT_CARD", "5491186252760188")]),
    ("carte bancaire 4970 1012 3456 7893", [("CREDIT_CARD", "4970 1012 3456 7893")]),
    ("cartão 5162-9258-2871-1094", [("CREDIT_CARD", "5162-9258-2871-1094")]),
]

OTHER: list[tuple[str, Gold]] = [
    ("schreib an k.schaefer@beispiel.de", [("EMAIL", "k.schaefer@beispiel.de")]),
    ("mail: tanaka.yui@example.co.jp", [("EMAIL", "tanaka.yui@example.co.jp")]),
    ("ana.souza+nf@empresa.com.br respondeu", [("EMAIL", "ana.souza+nf@empresa.com.br")]),
    ("contact o.nowak@firma.pl or LARS.NILSSON@FORETAG.SE", [("EMAIL", "o.nowak@firma.pl"), ("EMAIL", "LARS.NILSSON@FORETAG.SE")]),
    ("ssn 219-09-9999 on the form", [("US_SSN", "219-09-9999")]),
    ("Social Security number: 078-05-1120", [("US_SSN", "078-05-1120")]),
    ("the VPN gave me 81.2.69.160", [("IP_ADDRESS", "81.2.69.160")]),
    ("server 2a02:8070:a184:b900:5d1e:8a3f:2b11:9c0e rejects", [("IP_ADDRESS", "2a02:8070:a184:b900:5d1e:8a3f:2b11:9c0e")]),
    ("OPENAI_API_KEY=sk-proj-Q3v8fK2mLp9xRt7wZc4bNh1yJd6sGe0a", [("SECRET", "sk-proj-Q3v8fK2mLp9xRt7wZc4bNh1yJd6sGe0a")]),
    ("aws key AKIAJ7Q2XHWBDL5MZV3N leaked", [("SECRET", "AKIAJ7Q2XHWBDL5MZV3N")]),
    ("open https://portal.example.de/login?session=9f8e7d6c5b4a&lang=de",
     [("URL_TOKEN", "https://portal.example.de/login?session=9f8e7d6c5b4a&lang=de")]),
    ("ship to 4821 Oak Hollow Drive, Austin, TX 78731", [("STREET_ADDRESS", "4821 Oak Hollow Drive, Austin, TX 78731")]),
    ("deliver to 77 Wellington Street please", [("STREET_ADDRESS", "77 Wellington Street")]),
]

NAMES: list[tuple[str, Gold]] = [
    ("Jennifer Walsh from finance approved it", [("PERSON", "Jennifer Walsh")]),
    ("I forwarded it to Marcus Thompson yesterday", [("PERSON", "Marcus Thompson")]),
    ("Oliver Bennett and Siobhan Doyle will join the call", [("PERSON", "Oliver Bennett"), ("PERSON", "Siobhan Doyle")]),
    ("Bitte an Jürgen Schäfer weiterleiten", [("PERSON", "Jürgen Schäfer")]),
    ("Katharina Vogel hat den Vertrag unterschrieben", [("PERSON", "Katharina Vogel")]),
    ("Merci, Amélie Rousseau a confirmé", [("PERSON", "Amélie Rousseau")]),
    ("le dossier de Jean-Baptiste Lefèvre", [("PERSON", "Jean-Baptiste Lefèvre")]),
    ("Alejandro Ruiz no puede entrar a su cuenta", [("PERSON", "Alejandro Ruiz")]),
    ("la factura de Lucía Fernández", [("PERSON", "Lucía Fernández")]),
    ("Giulia Romano ha chiamato due volte", [("PERSON", "Giulia Romano")]),
    ("il collega Francesco Esposito", [("PERSON", "Francesco Esposito")]),
    ("o pedido do João Pereira atrasou", [("PERSON", "João Pereira")]),
    ("Ana Beatriz Souza pediu reembolso", [("PERSON", "Ana Beatriz Souza")]),
    ("Daan de Vries heeft gebeld", [("PERSON", "Daan de Vries")]),
    ("factuur voor Sanne van der Berg", [("PERSON", "Sanne van der Berg")]),
    ("Katarzyna Wiśniewska prosi o kontakt", [("PERSON", "Katarzyna Wiśniewska")]),
    ("umowa Piotr Zieliński", [("PERSON", "Piotr Zieliński")]),
    ("Linnea Johansson skickade fakturan", [("PERSON", "Linnea Johansson")]),
    ("Henrik Sørensen og Mette Nielsen", [("PERSON", "Henrik Sørensen"), ("PERSON", "Mette Nielsen")]),
    ("Haruto Sato asked about the refund", [("PERSON", "Haruto Sato")]),
    ("please escalate to Yui Nakamura", [("PERSON", "Yui Nakamura")]),
    ("Zhang Wei and Chen Jing from the Shanghai team", [("PERSON", "Zhang Wei"), ("PERSON", "Chen Jing")]),
    ("Kim Min-jun sent the logs", [("PERSON", "Kim Min-jun")]),
    ("Arjun Mehta reported the outage", [("PERSON", "Arjun Mehta")]),
    ("assigned to Ananya Krishnan", [("PERSON", "Ananya Krishnan")]),
    ("Chinedu Okeke paid twice", [("PERSON", "Chinedu Okeke")]),
    ("Ngozi Adeyemi cannot log in", [("PERSON", "Ngozi Adeyemi")]),
    ("Emre Yılmaz ve Elif Demir", [("PERSON", "Emre Yılmaz"), ("PERSON", "Elif Demir")]),
    ("Dmitri Volkov wrote the script", [("PERSON", "Dmitri Volkov")]),
    ("Anastasia Ivanova is on leave", [("PERSON", "Anastasia Ivanova")]),
    ("Guadalupe Hernández llamó", [("PERSON", "Guadalupe Hernández")]),
    ("Omar Haddad and Layla Mansour", [("PERSON", "Omar Haddad"), ("PERSON", "Layla Mansour")]),
    ("Nguyen Van An from the Hanoi office", [("PERSON", "Nguyen Van An")]),
    ("Thabo Mokoena approved the quote", [("PERSON", "Thabo Mokoena")]),
    ("Grace Kelly-Barnes called about her order", [("PERSON", "Grace Kelly-Barnes")]),
    ("cc: Sophie Martin, Lukas Müller", [("PERSON", "Sophie Martin"), ("PERSON", "Lukas Müller")]),
    ("Hi Priya, the export failed again", [("PERSON", "Priya")]),
    ("Thanks, Kenji!", [("PERSON", "Kenji")]),
    ("Hallo Sebastian, danke für die Hilfe", [("PERSON", "Sebastian")]),
    ("Dr. Okonkwo will review the results", [("PERSON", "Okonkwo")]),
    ("Frau Hoffmann hat angerufen", [("PERSON", "Hoffmann")]),
    ("Best regards,\nMichael O'Connor", [("PERSON", "Michael O'Connor")]),
    ("--\nIngrid Halvorsen\nHead of Support", [("PERSON", "Ingrid Halvorsen")]),
    ("My colleague Rafael Costa set it up", [("PERSON", "Rafael Costa")]),
    ("Tell Sofia the build is green", [("PERSON", "Sofia")]),  # a lone first name, no cue: documented miss
    ("ask Mateo whether it shipped", [("PERSON", "Mateo")]),  # same
]

# Nothing here is personal data: every text must come out unchanged
LOOK_ALIKES: list[str] = [
    "upgrade to v2.14.1 before Friday", "Python 3.12.4 on build 44.3.2.123", "release 10.0.19045",
    "ISBN 978-3-16-148410-0", "the book 9780306406157 is out of print", "ISBN-10 0-306-40615-2",
    "due 03/05/2026", "am 03.05.2026 um 14:30", "on 2026-05-03T09:15:00", "5 March 2026", "May 3, 2026",
    "it costs $1,299.99", "Preis: 1.299,00 €", "1 299,00 € TTC", "R$ 2.499,90 à vista", "¥12,800 incl. tax", "£45.00",
    "tracking 4111 1111 1111 1112", "reference 1234567890123456", "serial 4929-1234-5678-9013",
    "order #4829137 shipped", "PO-2026-004512", "Amazon order 302-4829137-5510937", "invoice INV-2025-48213",
    "request 1b4e28ba-2fa1-11d2-883f-0016d3cca427", "commit 89b2897b2bd9a4971531e7cc9054334946223c40",
    "error code 0x1F3A2B", "HTTP 404 on port 8080", "PID 123456 exited", "timestamp 1767225600",
    "revenue grew +15% to 1 250 000 users", "coordinates 48.8566, 2.3522", "PLZ 10115 Berlin", "75008 Paris",
    "call 911", "ext. 4021", "score 12 34 56 78 90", "build 2024.1.3", "chmod 0755 the file",
    "Apple released a new MacBook Pro", "Will this work on Windows?", "May I ask a question?",
    "The grace period ends in June", "Mark the task as done", "Visual Studio Code crashes on start",
    "Google Cloud Platform and Amazon Web Services", "Microsoft Teams keeps logging me out",
    "I moved from New York to San Francisco", "Rio de Janeiro and Buenos Aires", "Los Angeles traffic",
    "Victoria Station was closed", "the Jordan River", "Hong Kong and Sri Lanka", "Costa Rica in March",
    "Getting Started Guide", "Release Notes for the June Update", "Frequently Asked Questions",
    "Terms Of Service", "Black Friday sale", "Christmas Eve delivery", "Monday Morning standup",
    "Jupyter Notebook kernel died", "Power BI Desktop", "Stack Overflow answer", "Machine Learning Engineer",
    "Thanks again for the quick reply", "Hello World example", "Dear Customer Service",
    "this is Settings Billing", "I am Very Happy with it", "Hi Team, the deploy is done",
    "Saudi Arabia and the United Arab Emirates", "South Africa", "New Zealand Post",
    "the Hubble Space Telescope", "Tour de France", "Golden Gate Bridge", "Silicon Valley Bank",
    "Mount Everest Base Camp", "World Health Organization", "European Central Bank",
    "Deutsche Bahn Verspätung", "Banco do Brasil", "Air France flight", "Grand Canyon trip",
]

CORPUS: list[tuple[str, Gold]] = PHONES + IBANS + CARDS + OTHER + NAMES + [(t, []) for t in LOOK_ALIKES]
STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS", "SECRET", "URL_TOKEN", "STREET_ADDRESS")


def score(texts: list[str], scrubbed: list[str], detected: list[list[tuple[str, str]]]) -> dict:
    """Per type: recall (a gold value no longer in its scrubbed text, nor any word of a gold
    name), precision (a detection of
    the type that overlaps a gold value of the type) and the look-alikes changed."""
    from collections import Counter

    kept, missed, true_pos, false_pos = Counter(), Counter(), Counter(), Counter()
    changed = []
    for (text, gold), out, found in zip(CORPUS, scrubbed, detected):
        words = set(re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", out))
        for kind, value in gold:
            # a name counts as caught only if none of its capitalized words is left
            left = value in out or kind == "PERSON" and any(w[0].isupper() and w in words for w in value.split())
            (missed if left else kept)[kind] += 1
        for kind, value in found:
            hit = any(k == kind and (value in v or v in value) for k, v in gold)
            (true_pos if hit else false_pos)[kind] += 1
        if not gold and out != text:
            changed.append((text, out))
    kinds = sorted(set(kept) | set(missed) | set(false_pos))
    per_type = {k: {"n": kept[k] + missed[k],
                    "recall": kept[k] / max(1, kept[k] + missed[k]),
                    "precision": true_pos[k] / max(1, true_pos[k] + false_pos[k])} for k in kinds}
    all_tp, all_fp = sum(true_pos.values()), sum(false_pos.values())
    return {"per_type": per_type, "precision": all_tp / max(1, all_tp + all_fp), "changed_look_alikes": changed,
            "false_positives": false_pos}
