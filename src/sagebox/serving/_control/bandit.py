"""Multi-armed bandit routing: traffic moves to the variant that earns the most reward.

Each answered request carries an inference id (header ``X-Sagebox-Inference-Id``); the
application later posts a reward in [0, 1] for it (e.g. 1 if the predicted sentiment was
confirmed by the customer's rating). :class:`Bandit` keeps, per variant, the pulls and the
summed reward, and chooses the next variant by Thompson sampling (a Beta(1 + reward,
1 + pulls - reward) draw per variant, highest wins) or epsilon-greedy (best mean reward,
random with probability epsilon).
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sagebox.errors import InputDataError, NotFoundError

__all__ = ["Bandit"]

_PENDING_MAX = 200_000


class Bandit:
    """Bandit state over the production variants of one endpoint.

    Example:
        >>> bandit = Bandit(["v1", "v2"], algorithm="thompson", seed=0)
        >>> arm = bandit.choose()
        >>> bandit.assign("inference-1", arm)
        >>> bandit.reward("inference-1", 1.0)
        'v1'
    """

    def __init__(
        self,
        arms: Sequence[str],
        algorithm: str = "thompson",
        epsilon: float = 0.1,
        seed: int | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.arms = list(arms)
        self.algorithm = algorithm
        self.epsilon = epsilon
        self._rng = random.Random(seed)
        self.rewarded = {a: 0 for a in self.arms}
        self.reward_sum = {a: 0.0 for a in self.arms}
        self.chosen = {a: 0 for a in self.arms}
        for arm, values in (state or {}).get("arms", {}).items():
            if arm in self.rewarded:
                self.rewarded[arm] = int(values.get("rewarded", 0))
                self.reward_sum[arm] = float(values.get("reward_sum", 0.0))
                self.chosen[arm] = int(values.get("chosen", 0))
        self._pending: OrderedDict[str, str] = OrderedDict()

    def choose(self) -> str:
        """The variant for the next request."""
        if self.algorithm == "epsilon-greedy":
            arm = self._epsilon_greedy()
        else:
            arm = max(
                self.arms,
                key=lambda a: self._rng.betavariate(
                    1.0 + self.reward_sum[a], 1.0 + self.rewarded[a] - self.reward_sum[a]
                ),
            )
        self.chosen[arm] += 1
        return arm

    def assign(self, inference_id: str, arm: str) -> None:
        """Remember which variant answered ``inference_id`` (bounded, oldest forgotten)."""
        self._pending[inference_id] = arm
        if len(self._pending) > _PENDING_MAX:
            self._pending.popitem(last=False)

    def reward(self, inference_id: str, value: float) -> str:
        """Credit ``value`` to the variant that answered ``inference_id``; return its name.

        Raises:
            InputDataError: if ``value`` is outside [0, 1].
            NotFoundError: if the id is unknown (never issued, already rewarded or forgotten).
        """
        if not 0.0 <= value <= 1.0:
            raise InputDataError(
                f"reward {value} is outside [0, 1]", hint="post 1 for a success, 0 for a failure"
            )
        arm = self._pending.pop(inference_id, None)
        if arm is None:
            raise NotFoundError(
                f"no pending inference {inference_id!r} to reward",
                hint="use the X-Sagebox-Inference-Id of a recent answer, once",
            )
        self.rewarded[arm] += 1
        self.reward_sum[arm] += value
        return arm

    def state(self) -> dict[str, Any]:
        """JSON-ready counters (persisted on the endpoint record)."""
        return {
            "algorithm": self.algorithm,
            "updated": time.time(),
            "arms": {
                a: {
                    "chosen": self.chosen[a],
                    "rewarded": self.rewarded[a],
                    "reward_sum": round(self.reward_sum[a], 6),
                    "mean_reward": round(self.reward_sum[a] / self.rewarded[a], 6)
                    if self.rewarded[a]
                    else None,
                }
                for a in self.arms
            },
        }

    def _epsilon_greedy(self) -> str:
        untried = [a for a in self.arms if self.rewarded[a] == 0]
        if untried:
            return self._rng.choice(untried)
        if self._rng.random() < self.epsilon:
            return self._rng.choice(self.arms)
        return max(self.arms, key=lambda a: self.reward_sum[a] / self.rewarded[a])
