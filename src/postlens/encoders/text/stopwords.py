"""Small built-in stop-word lists (no NLTK corpora, which are not installable packages).

Function words only (articles, pronouns, auxiliaries, prepositions, conjunctions). Negations
("not", "no", "never", "ne", "nicht", "kein") are deliberately absent: they flip sentiment.
Lists are lower-case; match against lower-cased tokens.
"""

from __future__ import annotations

from functools import cache

_WORDS: dict[str, str] = {
    "en": """a about above after again against all am an and any are as at be because been before being
        below between both but by can could did do does doing down during each few for from further had has
        have having he her here hers herself him himself his how i i'm if in into is it it's its itself just
        me more most my myself of off on once only or other our ours ourselves out over own same she should
        so some such than that that's the their theirs them themselves then there these they this those
        through to too under until up very was we were what when where which while who whom why will with
        would you you're your yours yourself yourselves im u ur rt amp via""",
    "fr": """au aux avec ce ces cet cette c' d' de des du elle elles en et eux il ils je j' la le les leur
        leurs lui l' ma mais me m' même mes moi mon nous on ou où par pour qu' que qui sa se s' ses son sur
        ta te t' tes toi ton tu un une vos votre vous y à été être est sont suis es sommes êtes était
        étaient ai as a avons avez ont avait ça ceci cela donc car comme dans entre aussi""",
    "de": """aber als am an auch auf aus bei bin bis bist da damit dann das dass dein deine dem den der des
        dich die dir doch du durch ein eine einem einen einer eines er es euch euer für hab habe haben hat
        hatte ich ihr ihre im in ist ja jetzt man mein meine mich mir mit nach noch nun nur ob oder ohne sein
        seine sich sie sind so über um und uns unser vom von vor war waren warum was weil wenn wer wie wir
        wird wo zu zum zur""",
    "es": """a al algo algunos ante antes como con contra cual cuando de del desde donde durante e el él
        ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado estar estas este esto
        estos fue fueron ha han has hasta hay la las le les lo los me mi mis muy más nos nosotros o os otra
        otro para pero por porque que quien se sea ser si sido sin sobre su sus también te tu tus un una
        uno unos vosotros y ya yo""",
    "it": """a ad al alla alle anche che chi ci come con cui da dal dalla dei del della delle di e è ed era
        essere gli ha hai hanno ho i il in io la le lei lo loro lui ma mi mia mio ne nei nel nella noi o per
        perché più quale quando quella quello questa questo se si sia siamo sono su sua sue suo tra tu tua
        tuo un una uno voi""",
    "pt": """a ao aos as com como da das de dela dele do dos e é ela elas ele eles em entre era essa esse
        esta este eu foi isso isto já lhe mais mas me meu minha muito na nas no nos nós o os ou para pela
        pelo por qual quando que se seu sua são também te tem teu tu um uma você vocês""",
    "nl": """aan al als bij dat de den der deze die dit doch door een en er ge had heb hebben heeft hem het
        hier hij hoe hun ik in is je kan me men met mij mijn na naar nog nu of om omdat onder ons ook op over
        te tot u uit van veel voor want was wat we wel werd wie wij wordt zal ze zei zich zij zijn zo zou""",
}


@cache
def stop_words(language: str) -> frozenset[str]:
    """Stop words for an ISO 639-1 code; empty for languages without a list (nothing is removed)."""
    return frozenset(_WORDS.get(language, "").split())


def supported_stop_word_languages() -> tuple[str, ...]:
    return tuple(sorted(_WORDS))
