"""The public surface of sagebox.clarify is exactly its curated ``__all__``."""

from __future__ import annotations

import sagebox.clarify as clarify


def test_all_is_the_public_surface() -> None:
    public = {n for n in dir(clarify) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(clarify, n)).__name__ == "module"}
    assert set(clarify.__all__) == public - modules
    for name in clarify.__all__:
        assert getattr(clarify, name).__doc__, name


def test_metric_names_and_order() -> None:
    assert clarify.PRE_TRAINING == ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
    assert len(clarify.POST_TRAINING) == 13 and "FT" in clarify.POST_TRAINING
    assert all(clarify.METRICS[n].formula for n in clarify.PRE_TRAINING + clarify.POST_TRAINING)
