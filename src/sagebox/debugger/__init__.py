"""Training debugger: hooks that save scalars and tensor summaries, rules that watch them.

Rules run on a training job while it trains, with actions when they fire::

    from sagebox.debugger import RuleConfig, StopTraining
    from sagebox.training import Estimator

    Estimator(entry_point="train.py", rules=[RuleConfig("overfit", actions=[StopTraining()])])

See docs/debugger.md; the profiler (system monitor, profiler rules, report) is
:mod:`sagebox.profiler`.
"""

from sagebox.debugger.config import Notify, ProfilerConfig, RuleConfig, StopTraining
from sagebox.debugger.hook import Hook, HookConfig
from sagebox.debugger.rule import Finding, Rule, RuleStatus, get_rule, rule_names

__all__ = [
    "Finding",
    "Hook",
    "HookConfig",
    "Notify",
    "ProfilerConfig",
    "Rule",
    "RuleConfig",
    "RuleStatus",
    "StopTraining",
    "get_rule",
    "rule_names",
]
