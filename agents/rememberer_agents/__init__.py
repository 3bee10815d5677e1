"""Agents that learn through a Rememberer experience memory.

The pieces: environments (:mod:`rememberer_agents.envs`, TextWorld in
:mod:`rememberer_agents.textworld_env`), policies (REMEMBERER's exemplar rule without a
language model, an OpenAI-compatible chat model, a small local model), the agent loop
that retrieves, acts, updates and reflects (:mod:`rememberer_agents.agent`), the
experiment that compares conditions (:mod:`rememberer_agents.experiment`) and the
command line ``rememberer-agents learn``.
"""

__version__ = "0.1.0"
