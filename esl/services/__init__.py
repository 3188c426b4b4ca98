"""Use cases over the store of record: publication, catalogue loading, labels, API keys."""
