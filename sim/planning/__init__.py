"""Planning questions: which lever buys how much, how many units, which parameters matter."""
