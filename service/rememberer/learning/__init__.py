"""Learning: the n-step Q-learning update (RLEM), its variants (double Q, capacities) and
reflections."""
