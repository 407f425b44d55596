"""What every card of ours is built from, whichever capability draws it: card JSON 2.0
components (`parts`) and the answer to a button press, a toast in both languages with the
redrawn card (`answer`).

A low floor: incident cards (webapp/cards/), schedules' cover and reminder cards and the
insights digest all draw with it, so none of them imports another to draw a card.
"""
