"""Statistics of records: response and resolution times, intervals and paired differences."""
