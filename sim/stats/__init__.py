"""Statistics of records: summaries, intervals, bootstrap and paired differences (pure functions).
"""
