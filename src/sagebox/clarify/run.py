"""End-to-end analyses on files: load data (raw reviews are transformed), load models, write.

These are what the ``clarify`` job kind and ``sagebox clarify ... --local`` call.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sagebox.clarify.bias import BiasResult, run_bias
from sagebox.clarify.config import BiasConfig, ShapConfig, TextConfig
from sagebox.clarify.explain import Explanation
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = [
    "PREDICTED_COLUMN",
    "TextModel",
    "explain_file",
    "bias_file",
    "endpoint_predict",
    "load_table",
    "load_text_model",
]

PREDICTED_COLUMN = "_predicted_label"
TEXT_COLUMN = "review_body"
BATCH = 2000


def load_table(path: str | Path) -> tuple[pd.DataFrame, bool]:
    """Read a CSV or Parquet table; a raw review file gets the course transformation.

    Returns:
        ``(table, transformed)``: ``transformed`` says whether the raw columns were turned
        into ``review_id, sentiment, review_body, product_category``.

    Raises:
        InputDataError: if the file is missing, empty or malformed.
    """
    from sagebox.datasets import read_raw_reviews, to_sentiment
    from sagebox.datasets.schema import REQUIRED_COLUMNS

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: file not found", hint="check the --data path")
    try:
        if path.suffix.lower() == ".parquet":
            header = list(pd.read_parquet(path).columns)
        else:
            header = list(pd.read_csv(path, nrows=0).columns)
    except Exception as exc:  # pandas/pyarrow raise many types for unreadable files
        raise InputDataError(
            f"{path}: cannot be read as a table ({type(exc).__name__})",
            hint="give a CSV file with a header row, or a .parquet file",
        ) from None
    if all(c in header for c in REQUIRED_COLUMNS):
        return to_sentiment(read_raw_reviews(path)), True
    table = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    if table.empty:
        raise InputDataError(f"{path}: has no data rows", hint="give a file with rows")
    return table, False


@dataclass
class TextModel:
    """A text classifier ready to explain: ``predict_proba(texts)`` and its class labels."""

    name: str
    predict_proba: Callable[[list[str]], np.ndarray]
    classes: list[str]
    label_titles: dict[str, str] = field(default_factory=dict)
    workdir: Any = None  # keeps a temporary unpack directory alive

    def predict(self, texts: list[str]) -> list[str]:
        """The most probable class of each text (in batches)."""
        out: list[str] = []
        for start in range(0, len(texts), BATCH):
            proba = self.predict_proba(texts[start : start + BATCH])
            out.extend(self.classes[i] for i in np.argmax(proba, axis=1))
        return out


def load_text_model(source: str | Path, session: Session | None = None) -> TextModel:
    """A packaged model from a ``model.tar.gz``, an unpacked model directory or a model name.

    A local file or directory is the caller's own and loads as is; a registered model is
    downloaded from the lake and unpacked only if its SHA-256 is the recorded one.

    Raises:
        NotFoundError: if ``source`` is neither a file/directory nor a registered model.
        ArtifactIntegrityError: if a registered model's archive changed since registration.
    """
    from sagebox.models import fetch_verified, load_handler, unpack_model
    from sagebox.models.handler import LoadedModel

    path = Path(source)
    tmp = tempfile.TemporaryDirectory(prefix="sagebox-clarify-model-")
    if path.is_file():
        model_dir = unpack_model(path, Path(tmp.name) / "model")
    elif path.is_dir():
        model_dir = path
    else:
        from sagebox.session import Session

        session = session or Session()
        model_dir = fetch_verified(session, str(source), Path(tmp.name) / "package")
    hooks = load_handler(model_dir)
    model = hooks.model_fn(model_dir)
    manifest = getattr(model, "manifest", {}) or {}
    titles = {str(k): str(v) for k, v in manifest.get("label_names", {}).items()}
    if isinstance(model, LoadedModel):
        classifier = model.classifier
        classes = [str(int(c)) if float(c).is_integer() else str(c) for c in classifier.classes_]
        return TextModel(str(source), classifier.predict_proba, classes, titles, tmp)
    probe = hooks.predict_fn(["probe"], model)[0]["probabilities"]
    classes = [str(c) for c in probe]

    def predict_proba(texts: list[str]) -> np.ndarray:
        rows = hooks.predict_fn(list(texts), model)
        return np.array([[r["probabilities"][c] for c in classes] for r in rows], dtype=float)

    return TextModel(str(source), predict_proba, classes, titles, tmp)


def endpoint_predict(name: str, texts: list[str], session: Session | None = None) -> list[str]:
    """Predicted labels of a deployed endpoint, sent as JSON lines in batches.

    Raises:
        NotFoundError: if the endpoint does not exist or is not in service.
    """
    import json

    from sagebox.serving import EndpointClient

    client = EndpointClient(session)
    labels: list[str] = []
    for start in range(0, len(texts), BATCH):
        body = "".join(json.dumps({TEXT_COLUMN: t}) + "\n" for t in texts[start : start + BATCH])
        answer = client.invoke(
            name, body, content_type="application/jsonlines", accept="application/jsonlines"
        )
        if isinstance(answer, str):
            rows = [json.loads(line) for line in answer.splitlines() if line.strip()]
        else:
            rows = answer["predictions"] if isinstance(answer, dict) else list(answer)
        labels.extend(str(r["label"]) for r in rows)
    return labels


def bias_file(
    data: str | Path,
    config: BiasConfig,
    out_dir: str | Path,
    model: str | Path | None = None,
    session: Session | None = None,
    text_column: str = TEXT_COLUMN,
    model_name: str | None = None,
    endpoint: str | None = None,
) -> tuple[BiasResult, dict[str, Path]]:
    """Bias analysis of a file; predictions of ``model`` or ``endpoint`` give post-training.

    Args:
        data: CSV or Parquet; raw review files get the course transformation.
        config: the analysis; its ``predicted_label``/``probability`` must be unset when a
            model or endpoint predicts.
        out_dir: where analysis.json, bias_details.json and report.html go.
        model: a registered model name, a model.tar.gz or an unpacked model directory.
        session: for registered models and endpoints (default: a new one).
        text_column: the text the model reads.
        model_name: how the report names the model (default: ``model`` as given).
        endpoint: a deployed endpoint that predicts instead of ``model``.

    Returns:
        The result and the paths written (analysis.json, bias_details.json, report.html).
    """
    table, _ = load_table(data)
    source = None
    if model is not None or endpoint is not None:
        if (model is not None and endpoint is not None) or config.post_training:
            raise InputDataError(
                "give one source of predictions: a model, an endpoint or a predictions column",
                hint="drop --model, --endpoint or --predicted-label-column",
            )
        if text_column not in table.columns:
            from sagebox.clarify.columns import require_column

            require_column(table, text_column, "text")
        texts = table[text_column].fillna("").astype(str).tolist()
        if endpoint is not None:
            predicted = endpoint_predict(endpoint, texts, session)
            source = f"endpoint {endpoint} ({text_column})"
        else:
            assert model is not None
            predicted = load_text_model(model, session).predict(texts)
            source = f"model {model_name or model} ({text_column})"
        label = table[config.label]
        table = table.assign(**{PREDICTED_COLUMN: _like(label, predicted).to_numpy()})
        config = replace(config, predicted_label=PREDICTED_COLUMN)
    result = run_bias(table, config)
    if source:
        result.details["data"]["predictions"] = source
    return result, result.write(out_dir)


def _like(label: pd.Series, predicted: list[str]) -> pd.Series:
    """Predicted class strings converted to the label column's type where possible."""
    series = pd.Series(predicted)
    if pd.api.types.is_numeric_dtype(label.dtype):
        return pd.to_numeric(series, errors="coerce")
    return series


def explain_file(
    model: str | Path,
    data: str | Path,
    out_dir: str | Path,
    rows: int = 100,
    shap: ShapConfig | None = None,
    text: TextConfig | None = None,
    session: Session | None = None,
    text_column: str = TEXT_COLUMN,
    model_name: str | None = None,
) -> tuple[Explanation, dict[str, Path]]:
    """Token-level SHAP for a text model on ``rows`` reviews (a seeded sample) of a file.

    ``model_name`` is how the report names the model (default: ``model`` as given).
    """
    from sagebox.clarify.text_shap import explain_text

    shap = shap or ShapConfig()
    if rows < 1:
        raise InputDataError(f"rows must be >= 1, got {rows}", hint="e.g. --rows 100")
    table, _ = load_table(data)
    if text_column not in table.columns:
        from sagebox.clarify.columns import require_column

        require_column(table, text_column, "text")
    texts = table[text_column].dropna().astype(str)
    texts = texts[texts.str.strip() != ""]
    if texts.empty:
        raise InputDataError(f"column {text_column!r} has no text", hint="give reviews with text")
    sample = texts.sample(n=min(rows, len(texts)), random_state=shap.seed).tolist()
    text_model = load_text_model(model, session)
    explanation = explain_text(text_model.predict_proba, sample, text_model.classes, shap, text)
    explanation.info.update(
        model=model_name or text_model.name, label_titles=text_model.label_titles
    )
    return explanation, explanation.write(out_dir)
