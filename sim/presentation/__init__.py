"""Pictures and words for people.

Figures, the HTML report, the animation, the teaching demo, the generated scenario guide, and
the only place where trace events become sentences.
"""
