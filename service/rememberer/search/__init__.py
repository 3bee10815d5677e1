"""Search: retrieval of the most similar records, the vectors they are found by, and indexes."""
