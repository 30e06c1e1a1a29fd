"""Save and load fitted scikit-learn objects without pickle: skops + a JSON vocabulary file.

:func:`save_sklearn` writes ``<name>.skops`` (skops' format: a zip of a JSON schema and numpy
arrays; loading it constructs only the types it is told to trust and runs no pickle) and
``<name>.vocabulary.json`` (the terms of every fitted text vectorizer, by column index).
Vocabularies travel apart because skops stores a dict entry by entry: a 100,000-term
vocabulary takes minutes to save and load that way, against a fraction of a second as JSON.

:func:`load_sklearn` loads with skops' trusted-types mechanism: skops' own defaults
(scikit-learn estimators, numpy and scipy containers) plus the explicit ``trusted`` list of
the caller (e.g. a module-level function of a ``FunctionTransformer``), never ``trusted=True``.
Anything else in the file refuses the load with :class:`~sagebox.errors.ArtifactIntegrityError`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sagebox.errors import ArtifactIntegrityError, InputDataError

__all__ = ["load_legacy_joblib", "load_sklearn", "save_sklearn"]

_VOCABULARY = "vocabulary_"


def save_sklearn(obj: Any, model_dir: Path, name: str) -> Path:
    """Write ``obj`` as ``<name>.skops`` and ``<name>.vocabulary.json``; return the skops path."""
    import skops.io as sio

    model_dir.mkdir(parents=True, exist_ok=True)
    taken = dict(_vectorizers(obj))
    vocabularies = {path: getattr(est, _VOCABULARY) for path, est in taken.items()}
    try:
        for est in taken.values():
            delattr(est, _VOCABULARY)
        target = model_dir / f"{name}.skops"
        sio.dump(obj, target)
    finally:
        for path, est in taken.items():
            setattr(est, _VOCABULARY, vocabularies[path])
    terms = {path: sorted(vocab, key=vocab.__getitem__) for path, vocab in vocabularies.items()}
    (model_dir / f"{name}.vocabulary.json").write_text(json.dumps(terms), encoding="utf-8")
    return target


def load_sklearn(model_dir: Path, name: str, trusted: Sequence[str] = ()) -> Any:
    """Load what :func:`save_sklearn` wrote, trusting skops' defaults plus ``trusted``.

    Raises:
        ArtifactIntegrityError: if the file holds a type outside the allow-list.
        InputDataError: if the files are missing or unreadable.
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    path = model_dir / f"{name}.skops"
    try:
        obj = sio.load(path, trusted=list(trusted))
    except UntrustedTypesFoundException as exc:
        raise ArtifactIntegrityError(
            f"{path} holds types sagebox does not load: {exc}",
            hint="re-train the model with sagebox; never load files of unknown origin",
        ) from None
    except (OSError, ValueError, KeyError) as exc:
        raise InputDataError(
            f"{path} is not a readable skops file: {exc}", hint="re-train the model"
        ) from exc
    vocab_file = model_dir / f"{name}.vocabulary.json"
    terms: dict[str, list[str]] = json.loads(vocab_file.read_text(encoding="utf-8"))
    found = dict(_vectorizers(obj, fitted=False))
    for key, words in terms.items():
        if key not in found:
            raise InputDataError(
                f"{vocab_file} names vectorizer {key!r}, which {path.name} lacks",
                hint="re-train the model",
            )
        setattr(found[key], _VOCABULARY, {word: i for i, word in enumerate(words)})
    return obj


def load_legacy_joblib(path: Path) -> Any:
    """Load a model saved with joblib (a pickle) by an older sagebox, with a FutureWarning.

    Only reached after the package's SHA-256 matched the one recorded at registration (or for a
    directory the user points at on their own disk), so the bytes are the ones trusted then.
    """
    import joblib

    warnings.warn(
        f"{path.name} is a pickle written by an older sagebox; pickle support for model files "
        "will be removed: re-train the model (or load and save it) to write the skops format",
        FutureWarning,
        stacklevel=3,
    )
    return joblib.load(path)


def _vectorizers(obj: Any, fitted: bool = True) -> Iterator[tuple[str, Any]]:
    """(parameter path, estimator) of every text vectorizer in ``obj`` (itself included)."""
    get_params = getattr(obj, "get_params", None)
    items = [("", obj), *(get_params(deep=True).items() if get_params is not None else ())]
    seen: set[int] = set()
    for key, value in items:
        if _is_vectorizer(value, fitted) and id(value) not in seen:
            seen.add(id(value))
            yield key, value


def _is_vectorizer(value: Any, fitted: bool) -> bool:
    from sklearn.feature_extraction.text import CountVectorizer

    if not isinstance(value, CountVectorizer):
        return False
    return hasattr(value, _VOCABULARY) if fitted else True
