"""Statistics of records: summaries, censored times, intervals, bootstrap, paired differences."""
