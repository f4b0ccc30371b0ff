"""Nicknames and the formal given name they stand for: data, not code.

Two sources, each used for what it can do:

* ``FORMAL_NAMES``, a small table of our own: the English diminutives every
  call center hears and the Dutch ones common in the demo's silos, each
  mapped to *one* formal name. Normalizing a given name uses it
  (``formal_name``), so blocking keys and the compared feature are the same
  for "Bob" and "Robert". A nickname that stands for several names (e.g.
  "jo") maps to the most common one.
* the ``nicknames`` package (Carlton Northern's hand-curated dataset of
  English given names and their nicknames, 2,691 pairs): a relation, not a
  mapping ("al" stands for fourteen names, "peter" is listed as a nickname
  of "patrick"), so it cannot pick one formal form. The name comparator asks
  it whether one name is a direct nickname of the other
  (``nickname_related``: "pete" and "peter", "polly" and "mary"): a close
  agreement, weaker evidence than our table's exact one.

Keys and values are lower-case ASCII. Add rows here, never special cases in
the comparators.
"""

from __future__ import annotations

from nicknames import name_triplets

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


# (name, nickname) in both orders: one is a direct nickname of the other. A
# nickname's nickname is not included, nor are two nicknames of one name
# ("hal" and "hank", both Henry's): each step of such a chain loosens what
# "the same given name" means.
_RELATED: frozenset[tuple[str, str]] = frozenset(
    pair
    for triplet in name_triplets()
    for pair in ((triplet.name1, triplet.name2), (triplet.name2, triplet.name1))
)


def nickname_related(a: str, b: str) -> bool:
    """Whether one lower-case ASCII given name is a nickname of the other in the
    ``nicknames`` dataset ("pete" and "peter"); False for equal names."""
    return (a, b) in _RELATED
