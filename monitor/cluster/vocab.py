"""Word lists for story clustering, all accent- and case-folded.

Stopwords never count as terms. Generic words do count, but weakly and never
as evidence on their own: they name the *topic* this monitor follows
(sovereign cloud, public procurement, cybersecurity), which two different
stories of that topic share by construction. The lists are written for this
project, from the vocabulary of French digital-policy news.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FR_STOPWORDS = _words(
    """
    a ai aie aient aies ait as au aucun aucune aupres aura aurait aussi autre autres aux avait
    avaient avant avec avez avoir avons ayant c ca car ce ceci cela celle celles celui cependant
    ces cet cette ceux chaque chez ci comme comment contre d dans de des deja depuis dont du
    donc elle elles en encore entre es est et etaient etait ete etre eu eux fait faire fois
    font ici il ils j je jusqu l la le les leur leurs lors lui m ma mais me meme memes mes
    moins mon n ne ni nos notre nous on ont ou par parce pas pendant peu peut plus plusieurs
    pour pourquoi qu quand que quel quelle quelles quels qui s sa sans se selon ses si sien
    son sont sous sur t ta tandis te tes toi ton tous tout toute toutes tres tu un une unes
    uns vers via vos votre vous y apres ainsi alors afin deux trois dernier derniere
    annonce annoncent selon indique explique precise ajoute estime affirme souligne
    """
)

EN_STOPWORDS = _words(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up upon very was we were what when where which while who
    whom why will with would you your yours new says said say according told two three
    """
)

# Dates differ between outlets ("lundi" here, "12 mars" there) and English
# capitalizes them, which would pass them for names.
CALENDAR = _words(
    """
    janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
    lundi mardi mercredi jeudi vendredi samedi dimanche
    january february march april june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
    jan feb mar apr jun jul aug sep sept oct nov dec
    """
)

STOPWORDS = FR_STOPWORDS | EN_STOPWORDS | CALENDAR

# Topic vocabulary of this monitor, in French and English. Lemmatized and
# stemmed at import by ``text.generic_stems``.
GENERIC_WORDS = _words(
    """
    cloud souverainete souverain souveraine numerique donnees donnee data cybersecurite cyber
    securite informatique logiciel logiciels libre libres open source technologie technologique
    ministere ministre ministres gouvernement etat public publique publics publiques
    administration administrations service services contrat contrats marche marches offre
    offres france francais francaise europe europeen europeenne union ue commission
    qualification qualifie secnumcloud visa certification intelligence artificielle ia
    entreprise entreprises societe groupe acteur acteurs solution solutions projet plateforme
    hebergement heberge hebergeur stockage serveurs infrastructure numeriques strategie
    paris mercredi rapport annee ans mois semaine jour million milliard euros euro
    sovereignty sovereign digital government ministry minister state software company companies
    european french deal contract market platform security hosting storage infrastructure
    artificial ai year years month week day billion
    """
)
