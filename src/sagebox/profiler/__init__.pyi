from ._report_data import RuleRow, job_duration, rule_evaluations, rule_rows

__all__ = ["RuleRow", "job_duration", "rule_evaluations", "rule_rows"]
