"""Is a customer's reply only a thank-you? Then it need not reopen a resolved ticket.

The test is a small multilingual list, not a guess: the reply's own text (quoted history
removed first) is cut into clauses, and every clause must be a listed thank-you, a listed
"it works now" closing, a greeting, a sign-off or a signature name, with at least one
thank-you or closing among them. Anything else ("but it still fails", a question, a new
request) is something to act on, so the ticket reopens.
"""

from __future__ import annotations

import re

from .forwards import is_quoted_from_line, is_quoted_message_marker

MAX_GRATITUDE_WORDS = 25

THANKS = (
    "thanks", "thank you", "thank u", "thankyou", "thx", "thnx", "ty", "tyvm", "many thanks",
    "big thanks", "much appreciated", "appreciate it", "really appreciate it", "appreciated",
    "cheers", "danke", "danke schön", "danke sehr", "vielen dank", "herzlichen dank",
    "besten dank", "merci", "merci beaucoup", "merci bien", "gracias", "muchas gracias",
    "mil gracias", "grazie", "grazie mille", "obrigado", "obrigada", "muito obrigado",
    "muito obrigada", "dank je", "dank je wel", "dank u", "dank u wel", "bedankt",
    "hartelijk dank", "tack", "tack så mycket", "stort tack", "takk", "tusen takk", "tak",
    "mange tak", "kiitos", "kiitos paljon", "dziękuję", "dzięki", "спасибо", "большое спасибо",
    "дякую", "teşekkürler", "teşekkür ederim", "köszönöm", "děkuji", "díky", "ďakujem",
    "mulțumesc", "ありがとう", "ありがとうございます", "谢谢", "多谢", "감사합니다",
)
#: What may follow a thank-you in the same clause ("Thanks a lot for your help").
THANKS_TAILS = frozenset((
    "", "a lot", "so much", "very much", "a million", "a bunch", "again", "so much again",
    "all", "everyone", "team", "guys", "folks", "for everything", "for your help", "for the help",
    "for all your help", "for your support", "for the support", "for your assistance",
    "for the quick reply", "for the quick response", "for your quick reply",
    "for your quick response", "for the fast reply", "for the fast response", "for the fix",
    "for fixing it", "for fixing this", "for sorting it out", "for sorting this out",
    "for looking into it", "for looking into this", "for your time", "again for your help",
    "für die hilfe", "für ihre hilfe", "für deine hilfe", "für die schnelle hilfe", "nochmal",
    "pour votre aide", "pour ton aide", "pour tout", "encore", "por su ayuda", "por tu ayuda",
    "por todo", "per l aiuto", "per il supporto", "di tutto", "voor de hulp", "voor je hulp",
    "voor uw hulp", "pela ajuda", "för hjälpen", "for hjelpen", "for hjælpen", "avusta",
    "za pomoc", "за помощь", "за допомогу",
))
CLOSINGS = frozenset((
    "problem solved", "issue solved", "solved", "problem resolved", "issue resolved", "resolved",
    "problem fixed", "issue fixed", "fixed", "all fixed", "that fixed it", "this fixed it",
    "it works", "it works now", "works now", "works", "works fine now", "works perfectly",
    "working now", "it is working now", "its working now", "everything works",
    "everything works now", "everything is working now", "all good", "all good now",
    "all set", "all sorted", "sorted", "perfect", "great", "great news", "awesome",
    "excellent", "brilliant", "wonderful", "that did it", "that did the trick", "that helped",
    "that worked", "it worked", "got it", "ok", "okay", "understood", "you can close this",
    "you can close the ticket", "feel free to close the ticket", "please close the ticket",
    "no further questions", "nothing else needed", "have a nice day", "have a great day",
    "have a good day", "have a nice weekend", "have a great weekend", "have a good weekend",
    "problem gelöst", "gelöst", "erledigt", "funktioniert", "funktioniert jetzt",
    "es funktioniert", "es funktioniert jetzt", "klappt", "klappt jetzt", "alles gut",
    "alles klar", "perfekt", "super", "schönen tag noch", "problème résolu", "résolu",
    "ça marche", "ça marche maintenant", "ça fonctionne", "tout fonctionne", "parfait",
    "bonne journée", "problema resuelto", "resuelto", "funciona", "ya funciona", "perfecto",
    "problema risolto", "risolto", "funziona", "ora funziona", "perfetto", "probleem opgelost",
    "opgelost", "het werkt", "het werkt nu", "werkt nu", "perfeito", "problema resolvido",
    "resolvido", "funcionou", "det fungerar", "det fungerer", "det virker", "toimii",
    "działa", "już działa", "работает", "всё работает", "все работает", "решено",
))
GREETINGS = ("hi", "hello", "hey", "dear", "good morning", "good afternoon", "hallo",
             "guten tag", "guten morgen", "moin", "bonjour", "salut", "hola", "buenos días",
             "buongiorno", "ciao", "hej", "hei", "olá", "oi", "cześć", "dzień dobry",
             "здравствуйте", "привет")
GREETED = frozenset(("", "team", "all", "there", "everyone", "support", "support team", "folks",
                     "guys", "sir", "madam", "sir or madam", "zusammen", "à tous", "a todos"))
SIGN_OFFS = frozenset((
    "best", "best regards", "regards", "kind regards", "warm regards", "warmest regards",
    "many regards", "br", "kr", "best wishes", "all the best", "sincerely", "yours",
    "yours sincerely", "thanks and regards", "thanks and best regards", "take care",
    "mit freundlichen grüßen", "freundliche grüße", "viele grüße", "liebe grüße", "grüße",
    "beste grüße", "lg", "vg", "mfg", "cordialement", "bien à vous", "bien cordialement",
    "salutations", "saludos", "un saludo", "atentamente", "cordiali saluti", "saluti",
    "distinti saluti", "met vriendelijke groet", "groeten", "mvg", "med vänlig hälsning",
    "hälsningar", "mvh", "med venlig hilsen", "hilsen", "ystävällisin terveisin", "terveisin",
    "pozdrawiam", "с уважением", "atenciosamente", "abraços",
))

# Where the customer's own words end: quoted lines, "On <date>, <someone> wrote:" and its
# translations, a forward/Original Message marker, a quoted "From:" header, a signature.
_WROTE = re.compile(  # on a line ending in ":" ("Am <date> schrieb <name>:" puts the name last)
    r"\b(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|geschreven|escreveu|skrev|kirjoitti"
    r"|napisał|napsal|написал|yazdı|írta)\b", re.IGNORECASE)
_SIGNATURE = re.compile(r"^(?:--\s*$|sent from my |get outlook for |von meinem .* gesendet)", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[,.!;:\n()\[\]/…]+|\s[-–—]+\s|\s(?:and|und|et|y|e|en|och|og|i|и)\s")
_NOT_A_WORD = re.compile(r"[^\w\s']+")


def without_quoted_history(text: str) -> str:
    """The lines the sender wrote now: everything above the first quoted-history line."""
    own = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        wrote = stripped.endswith(":") and _WROTE.search(stripped)
        if (stripped.startswith(">") or wrote or _SIGNATURE.match(stripped)
                or is_quoted_message_marker(stripped) or is_quoted_from_line(stripped)):
            break
        own.append(line)
    return "\n".join(own)


def is_gratitude(text: str) -> bool:
    """A short thank-you or "it works now" with nothing else to act on."""
    own = without_quoted_history(text)
    if "?" in own or not 0 < len(own.split()) <= MAX_GRATITUDE_WORDS:
        return False
    clauses = [c for c in (_clause(part) for part in _CLAUSE_BREAK.split(own.replace("’", "'")))
               if c[0]]
    kinds = [_kind(words, original) for words, original in clauses]
    return None not in kinds and ("thanks" in kinds or "closing" in kinds)


def _clause(part: str) -> tuple[str, list[str]]:
    """(lower-cased words joined by one space, the words as written)."""
    original = _NOT_A_WORD.sub(" ", part).replace("'", "").split()
    return " ".join(original).lower(), original


def _kind(words: str, original: list[str]) -> str | None:
    """What a clause is: thanks, closing, greeting, sign-off, name; None for anything else."""
    if words in CLOSINGS:
        return "closing"
    if words in SIGN_OFFS:
        return "sign-off"
    for phrase in THANKS:
        if words == phrase or words.startswith(phrase + " "):
            tail = words[len(phrase):].strip()
            if tail in THANKS_TAILS or _is_name(original[len(phrase.split()):]):
                return "thanks"
    for greeting in GREETINGS:
        if words == greeting or words.startswith(greeting + " "):
            rest = original[len(greeting.split()):]
            if " ".join(rest).lower() in GREETED or _is_name(rest):
                return "greeting"
    return "name" if _is_name(original) else None


def _is_name(words: list[str]) -> bool:
    """One to three capitalised words, as a signature or an addressee is written."""
    return 0 < len(words) <= 3 and all(w[:1].isupper() and w.isalpha() for w in words) \
        and not any(w.lower() in _NOT_NAMES for w in words)


#: Capitalised words that start a new thought rather than sign a name.
_NOT_NAMES = frozenset(("but", "still", "not", "no", "again", "however", "unfortunately", "yet",
                        "aber", "noch", "nicht", "mais", "pero", "ma", "maar", "men", "mutta",
                        "ale", "но", "it", "this", "that", "the", "i", "we", "please", "can",
                        "could", "error", "issue", "problem", "broken"))
