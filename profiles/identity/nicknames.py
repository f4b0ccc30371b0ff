"""Nicknames and the formal given name they stand for: data, not code.

A small table on purpose: the English diminutives every call center hears and
the Dutch ones common in the demo's silos. Keys are lower-case ASCII; values
are the formal name (also lower-case ASCII) that matching compares. Add rows
here, never special cases in the comparators. A nickname that stands for
several names (e.g. "jo") maps to the most common one; the name comparator
also accepts a match on the first letters, so the others still come close.
"""

from __future__ import annotations

FORMAL_NAMES: dict[str, tuple[str, ...]] = {
    # English
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "elisabeth"),
    "william": ("bill", "billy", "will", "willy", "liam"),
    "richard": ("dick", "rick", "ricky", "rich"),
    "margaret": ("maggie", "meg", "peggy", "marge", "margie"),
    "katherine": ("kate", "kathy", "katie", "kat", "catherine", "kathryn"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny"),
    "michael": ("mike", "mikey", "mick"),
    "thomas": ("tom", "tommy"),
    "anthony": ("tony",),
    "edward": ("ed", "eddie", "ted", "ned"),
    "charles": ("charlie", "chuck"),
    "joseph": ("joe", "joey"),
    "daniel": ("dan", "danny"),
    "patricia": ("pat", "patty", "trish"),
    "jennifer": ("jen", "jenny"),
    "susan": ("sue", "susie"),
    "deborah": ("deb", "debbie"),
    "rebecca": ("becky", "becca"),
    "christopher": ("chris",),
    "nicholas": ("nick", "nicky"),
    "benjamin": ("ben", "benny"),
    "samuel": ("sam", "sammy"),
    "alexandra": ("sandra", "sandy"),
    "victoria": ("vicky", "tori"),
    # Dutch
    "johannes": ("jan", "hans", "johan"),
    "cornelis": ("kees", "cor"),
    "hendrik": ("henk", "rik"),
    "wilhelmus": ("wim", "willem"),
    "gerardus": ("gerard", "gert"),
    "petrus": ("piet", "peter"),
    "jacobus": ("jaap", "koos"),
    "adrianus": ("adrie", "arie"),
    "antonius": ("toon", "ton", "anton"),
    "theodorus": ("theo", "dorus"),
    "franciscus": ("frans", "frank"),
    "nicolaas": ("klaas", "niek"),
    "alexander": ("alex", "sander"),
    "maria": ("mies", "marieke", "ria"),
    "johanna": ("jo", "hanneke", "anneke"),
    "cornelia": ("corrie", "nel"),
    "wilhelmina": ("willy", "wilma", "mien"),
    "elisabeth": ("els", "liesbeth", "lisa"),
    "catharina": ("toos", "tineke", "karin"),
    "margaretha": ("greet", "margriet"),
    "geertruida": ("truus", "geert"),
    "hendrika": ("riek", "henny"),
}

# nickname -> formal name; the first table entry wins for a shared nickname.
NICKNAMES: dict[str, str] = {}
for _formal, _nicks in FORMAL_NAMES.items():
    for _nick in _nicks:
        NICKNAMES.setdefault(_nick, _formal)


def formal_name(given: str) -> str:
    """The formal form of a lower-case ASCII given name (itself when not a nickname)."""
    return NICKNAMES.get(given, given)
