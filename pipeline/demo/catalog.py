"""What the demo product's users ask, and what right and wrong answers look like.

Each intent has paraphrases, a correct core answer and a plausible wrong one, so the quality of a
response is visible in its text: a judge (or a person) can tell a good answer from a bad one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    topic: str
    key: str
    queries: tuple[str, ...]
    correct: str
    wrong: str
    steps: tuple[str, ...]  # what a well-structured answer walks through
    translations: dict[str, str] | None = None  # locale -> query


# The production mix is skewed, as it is in real products.
TOPIC_MIX = {"coding": 0.60, "billing": 0.20, "writing": 0.10, "travel": 0.10}

INTENTS: tuple[Intent, ...] = (
    Intent("coding", "reverse_list",
           ("How do I reverse a list in Python?", "whats the fastest way to reverse a python list",
            "reverse list python without modifying the original?"),
           "Use slicing, `items[::-1]`, which returns a new reversed list; `items.reverse()` reverses in place and returns None.",
           "Use `items.sort(reverse=True)`, which reverses the list.",
           ("Decide whether you need a copy or an in-place change", "For a copy use `items[::-1]`", "In place use `items.reverse()`"),
           {"de-DE": "Wie kehre ich eine Liste in Python um?", "es-ES": "¿Cómo invierto una lista en Python?",
            "fr-FR": "Comment inverser une liste en Python ?", "ja-JP": "Pythonでリストを逆順にするには？"}),
    Intent("coding", "read_csv",
           ("How can I read a CSV file with pandas?", "read csv into dataframe", "pandas read_csv skip first two rows"),
           "Call `pd.read_csv(path)`; pass `skiprows=2` to skip the first two lines and `sep=';'` for semicolon files.",
           "Call `pd.open_csv(path, skip=2)`.",
           ("Import pandas as pd", "Call `pd.read_csv(path)`", "Use `skiprows` or `sep` for unusual files")),
    Intent("coding", "git_undo",
           ("How do I undo my last git commit but keep the changes?", "undo last commit git keep files",
            "git revert vs reset for the last commit?"),
           "Run `git reset --soft HEAD~1`: the commit is removed and its changes stay staged. Use `git revert HEAD` if the commit was already pushed.",
           "Run `git reset --hard HEAD~1`, which keeps your changes.",
           ("Check whether the commit was pushed", "Not pushed: `git reset --soft HEAD~1`", "Pushed: `git revert HEAD`"),
           {"de-DE": "Wie mache ich den letzten Git-Commit rückgängig?", "es-ES": "¿Cómo deshago el último commit en git?"}),
    Intent("coding", "sql_join",
           ("What is the difference between LEFT JOIN and INNER JOIN?", "left join vs inner join sql",
            "why does my inner join drop rows"),
           "INNER JOIN keeps only rows that match in both tables; LEFT JOIN keeps every row of the left table and fills NULLs where the right has no match.",
           "They are the same; LEFT JOIN is just an alias for INNER JOIN.",
           ("INNER JOIN: only matching rows", "LEFT JOIN: all left rows, NULLs for missing matches", "Rows disappear in an inner join when keys do not match")),
    Intent("coding", "async_python",
           ("How do I run two async functions concurrently in Python?", "asyncio run tasks in parallel",
            "await two coroutines at once"),
           "Use `await asyncio.gather(f(), g())`, or create tasks with `asyncio.create_task` and await them; both run concurrently on one event loop.",
           "Call `f()` and `g()` without await; Python runs them in parallel threads automatically.",
           ("Define both functions with `async def`", "Use `asyncio.gather`", "Await the result inside `asyncio.run`")),
    Intent("coding", "regex_email",
           ("Regex to validate an email address?", "how to check email format with regex",
            "python regex email validation"),
           "A practical pattern is `^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$`; full RFC 5322 validation is not possible with a simple regex, so confirm by sending a message.",
           "Use `^.*$`, which matches all valid emails.",
           ("Use a permissive pattern", "Do not try to encode the full RFC", "Confirm ownership by email")),
    Intent("coding", "docker_port",
           ("My docker container port is not reachable from the host", "docker -p not working",
            "how to expose port 8080 in docker"),
           "Publish the port with `docker run -p 8080:8080 image` and make the app listen on 0.0.0.0, not 127.0.0.1, inside the container.",
           "Add `EXPOSE 8080` to the Dockerfile; that publishes the port to the host.",
           ("Publish with `-p host:container`", "Listen on 0.0.0.0 inside the container", "Check with `docker ps`")),
    Intent("coding", "big_o",
           ("What is the time complexity of looking up a key in a Python dict?", "dict lookup complexity",
            "is dict access O(1)"),
           "Average O(1): dicts are hash tables; the worst case is O(n) with many collisions, which is rare in practice.",
           "O(log n), because dicts are balanced binary trees.",
           ("Dicts are hash tables", "Average case is O(1)", "Worst case is O(n)")),
    Intent("billing", "refund",
           ("How do I get a refund for my subscription?", "i want my money back", "refund annual plan"),
           "Go to Settings > Billing > Request refund; annual plans are refundable within 30 days of purchase, and the refund reaches your card in 5-10 business days.",
           "Refunds are not possible once you have paid.",
           ("Open Settings > Billing", "Choose Request refund", "Expect the money in 5-10 business days"),
           {"de-DE": "Wie bekomme ich eine Rückerstattung für mein Abo?", "es-ES": "¿Cómo obtengo un reembolso de mi suscripción?",
            "fr-FR": "Comment obtenir un remboursement de mon abonnement ?"}),
    Intent("billing", "double_charge",
           ("I was charged twice this month", "double charged on my card", "why two payments"),
           "A second charge is usually a pending authorization that drops off within 3 business days; if both are settled, open Billing > Payments and dispute the duplicate.",
           "Double charges are a bank error; contact your bank, we cannot help.",
           ("Check whether one charge is pending", "Wait 3 business days for authorizations", "Dispute a settled duplicate in Billing > Payments")),
    Intent("billing", "change_plan",
           ("How do I downgrade to the free plan?", "cancel pro but keep account", "switch plan monthly to yearly"),
           "In Settings > Plan choose Change plan; a downgrade takes effect at the end of the current billing period and your data is kept.",
           "Delete your account and sign up again on the free plan.",
           ("Open Settings > Plan", "Choose Change plan", "The change applies at the end of the period")),
    Intent("billing", "invoice",
           ("Where can I download my invoices?", "need invoice with VAT number", "invoice for last month"),
           "Invoices are under Settings > Billing > Invoices; add your VAT number under Billing details and new invoices will include it.",
           "Invoices are only sent by post.",
           ("Open Settings > Billing > Invoices", "Add the VAT number in Billing details", "Download the PDF")),
    Intent("writing", "cover_letter",
           ("Can you help me write a cover letter for a data analyst job?", "cover letter data analyst",
            "make my cover letter sound more confident"),
           "Open with the role and one concrete result (for example, a dashboard that cut reporting time by 40%), connect two skills to the job ad, and close with a specific next step.",
           "Use a generic template and list every job you have had.",
           ("Lead with the role and one result", "Match two skills to the ad", "Close with a next step"),
           {"es-ES": "¿Puedes ayudarme a escribir una carta de presentación?", "fr-FR": "Peux-tu m'aider à écrire une lettre de motivation ?"}),
    Intent("writing", "summarize",
           ("Summarize this paragraph in two sentences", "tl;dr this for me", "make this shorter"),
           "Here is a two-sentence summary that keeps the main claim and the key evidence, and drops the examples.",
           "Here is a summary that adds a few extra points the author probably meant.",
           ("Find the main claim", "Keep the key evidence", "Drop examples and repetition")),
    Intent("writing", "email_tone",
           ("Rewrite this email to sound more polite", "make my email less rude", "professional tone for a complaint email"),
           "Start by acknowledging the other person's effort, state the problem as a fact, make one clear request, and thank them.",
           "Add 'please' to every sentence.",
           ("Acknowledge the other person", "State the problem as a fact", "Make one clear request")),
    Intent("travel", "visa",
           ("Do I need a visa to visit Japan with a US passport?", "japan visa us citizen", "tourist visa japan 2 weeks"),
           "US citizens can visit Japan visa-free for up to 90 days for tourism; your passport must be valid for the whole stay. Check the embassy site before you travel, as rules change.",
           "Yes, every visitor needs a visa issued at least 6 months in advance.",
           ("Check your passport's validity", "Tourism up to 90 days is visa-free", "Confirm on the embassy site"),
           {"de-DE": "Brauche ich ein Visum für Japan?", "ja-JP": "アメリカのパスポートで日本に行くのにビザは必要ですか？"}),
    Intent("travel", "itinerary",
           ("Plan a 3 day trip to Lisbon", "what to do in lisbon in 3 days", "lisbon itinerary budget"),
           "Day 1: Alfama and the castle; Day 2: Belém (tower, monastery, pastéis); Day 3: a day trip to Sintra. Buy a Viva Viagem card for transit.",
           "Day 1: the Eiffel Tower; Day 2: the Louvre; Day 3: Versailles.",
           ("Day 1: Alfama and the castle", "Day 2: Belém", "Day 3: Sintra")),
    Intent("travel", "luggage",
           ("What is the carry-on size limit for most airlines?", "cabin bag dimensions", "can i bring a 24 inch suitcase on board"),
           "Most airlines allow about 55 x 40 x 20 cm (22 x 14 x 9 in) for carry-on; low-cost carriers are often stricter, so check your airline.",
           "There is no size limit for carry-on bags.",
           ("Typical limit: 55 x 40 x 20 cm", "Low-cost carriers are stricter", "Check your airline's page")),
)

OFF_TOPIC = (
    "what's your favourite movie", "tell me a joke about cats", "are you conscious?",
    "who will win the football tonight", "lol", "asdfgh",
)

MULTI_TURN_FOLLOWUPS = (
    "what about the second one?", "can you explain that again more simply?", "and in JavaScript?",
    "does that also work on Windows?", "ok and how long does it take?", "thanks, anything else I should know?",
)

REFUSAL = "I can't help with that request, but I'm happy to help with something else."

TANGENTS = (
    "By the way, it is worth learning keyboard shortcuts for your editor.",
    "On a related note, many people also ask about version control best practices.",
    "Interestingly, the history of this feature goes back many years.",
)

FILLER = (
    "It is important to consider all aspects of the situation carefully.",
    "There are many factors that can play a role here, and each case is different.",
    "In general, it is always a good idea to keep things in mind and plan ahead.",
    "This is a common question and many users have asked about it before.",
    "Let me know if you would like more details on any of these points.",
)

HEDGES = ("I believe", "If I remember correctly,", "I'm not fully certain, but", "You may want to double-check, but")
OVERCONFIDENT = ("Definitely:", "100% sure:", "Obviously,", "Without any doubt,")

LONG_PASTE = (
    "Traceback (most recent call last):\n  File \"app.py\", line {n}, in handler\n    result = process(batch)\n"
    "  File \"worker.py\", line {m}, in process\n    raise ValueError(\"bad record\")\nValueError: bad record\n"
)
