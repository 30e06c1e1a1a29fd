"""Online feature lookup at inference time: an endpoint answers requests that name records.

:func:`attach_feature_lookup` repackages a text model so that its endpoint accepts
``{"review_id": 17}`` as well as ``{"review_body": "..."}``: the package's
``code/inference.py`` looks the record up in the feature group's online store (by record id)
and predicts on its text feature. Nothing in the serving code changes; the lookup rides on
SageMaker's ``input_fn`` hook, which every sagebox endpoint already calls.

Example:
    >>> uri = attach_feature_lookup(train_job.outputs["model"], "reviews")  # doctest: +SKIP
    >>> ModelClient().create("reviews-lookup", artifact_uri=uri)  # doctest: +SKIP
    >>> endpoints.invoke("ep", '{"review_id": 17}')  # doctest: +SKIP
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sagebox.errors import InputDataError, NotFoundError

if TYPE_CHECKING:
    from sagebox.session import Session

__all__ = ["CONFIG_NAME", "FeatureLookup", "attach_feature_lookup", "lookup_hooks"]

#: the lookup settings inside a model package
CONFIG_NAME = "feature_lookup.json"
_INFERENCE = '''"""Inference hooks with an online feature lookup (written by sagebox features).

Requests may name records ({"review_id": 17}); their text is looked up in the feature
group's online store. The original hooks are in inference_base.py (if the model had any).
"""

from sagebox.features.lookup import lookup_hooks

_hooks = lookup_hooks(__file__)
model_fn, input_fn, predict_fn, output_fn = (
    _hooks.model_fn,
    _hooks.input_fn,
    _hooks.predict_fn,
    _hooks.output_fn,
)
'''


class FeatureLookup:
    """Reads records of one feature group from its online store, by id.

    Args:
        feature_group: the group's name.
        features: only these features (default all).
        session: the sagebox session (default: from the environment).

    Example:
        >>> FeatureLookup("reviews", ["review_body"]).lookup([17, 99])  # doctest: +SKIP
        [{'review_body': 'Love it'}, None]
    """

    def __init__(
        self,
        feature_group: str,
        features: list[str] | None = None,
        session: Session | None = None,
    ) -> None:
        from sagebox.features.group import FeatureGroup

        self.group = FeatureGroup(feature_group, session=session)
        self.features = features

    def lookup(self, record_ids: list[Any]) -> list[dict[str, Any] | None]:
        """The latest online record of each id (None where there is none)."""
        return self.group.batch_get_record(record_ids, self.features)


def attach_feature_lookup(
    model_uri: str,
    feature_group: str,
    *,
    id_field: str | None = None,
    text_feature: str = "review_body",
    out_uri: str | None = None,
    session: Session | None = None,
) -> str:
    """Write a copy of a model package whose endpoint looks records up by id.

    Args:
        model_uri: lake URI of the model's ``model.tar.gz``.
        feature_group: the group to look records up in (it needs an online store).
        id_field: the request field naming a record (default: the group's identifier).
        text_feature: the feature the model predicts on.
        out_uri: where to write the new package (default: next to the original,
            ``model-lookup.tar.gz``).
        session: the sagebox session (default: from the environment).

    Returns:
        The new package's URI (register it with ``ModelClient.create(artifact_uri=...)``).

    Raises:
        InputDataError: the group has no online store or no such text feature.
        NotFoundError: no such group or model.
    """
    from sagebox.backends.metadata.base import ArtifactRecord
    from sagebox.features.group import FeatureGroup
    from sagebox.models import fetch_verified_uri, sha256_file
    from sagebox.session import Session

    session = session or Session()
    record = FeatureGroup(feature_group, session=session).describe()
    if not record.online_enabled:
        raise InputDataError(
            f"feature group {feature_group!r} has no online store",
            hint="create it with an online store to look records up at inference time",
        )
    record.feature(text_feature)
    key = session.key_for(model_uri)
    target = session.key_for(out_uri) if out_uri else key.rsplit("/", 1)[0] + "/model-lookup.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = fetch_verified_uri(session, model_uri, Path(tmp) / "package")
        code = model_dir / "code"
        code.mkdir(exist_ok=True)
        if (code / "inference.py").is_file():
            (code / "inference.py").rename(code / "inference_base.py")
        (code / "inference.py").write_text(_INFERENCE, encoding="utf-8")
        config = {
            "feature_group": feature_group,
            "id_field": id_field or record.record_identifier_name,
            "text_feature": text_feature,
        }
        (model_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")
        packed = Path(tmp) / "model-lookup.tar.gz"
        with tarfile.open(packed, "w:gz") as tar:
            for item in sorted(model_dir.iterdir()):
                tar.add(item, arcname=item.name)
        session.storage.upload(packed, target)
        session.metadata.add_artifact(  # its SHA-256: what registering and loading it check
            ArtifactRecord(
                uri=session.storage.url(target),
                kind="model",
                sha256=sha256_file(packed),
                size=packed.stat().st_size,
                properties={"derived_from": model_uri, "feature_group": feature_group},
            )
        )
    return session.storage.url(target)


def lookup_hooks(inference_file: str) -> SimpleNamespace:
    """The four hooks of a package written by :func:`attach_feature_lookup`.

    ``input_fn`` accepts what the base model accepts, plus JSON (or JSON lines) objects that
    carry the id field instead of text; ``predict_fn`` and ``output_fn`` are the base model's.
    """
    from sagebox.models import handler

    model_dir = Path(inference_file).resolve().parent.parent
    config = json.loads((model_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    base: Any = handler
    base_file = model_dir / "code" / "inference_base.py"
    if base_file.is_file():
        import importlib.util

        spec = importlib.util.spec_from_file_location("sagebox_lookup_base", base_file)
        assert spec is not None and spec.loader is not None
        base = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(base)
    lookup: list[FeatureLookup] = []  # opened on the first request, in the serving process

    def input_fn(body: bytes | str, content_type: str = "application/json") -> list[str]:
        items = _items(body, content_type)
        if not items:
            texts: list[str] = base.input_fn(body, content_type)
            return texts
        if not lookup:
            lookup.append(FeatureLookup(config["feature_group"], [config["text_feature"]]))
        wanted = [i for i, item in enumerate(items) if _needs_lookup(item, config)]
        found = lookup[0].lookup([items[i][config["id_field"]] for i in wanted])
        texts_by_row: dict[int, str] = {}
        for i, record in zip(wanted, found, strict=True):
            if record is None or record.get(config["text_feature"]) is None:
                raise NotFoundError(
                    f"no online record for {config['id_field']} "
                    f"{items[i][config['id_field']]!r} in feature group "
                    f"{config['feature_group']!r}",
                    hint="ingest the record first, or send its text instead",
                )
            texts_by_row[i] = str(record[config["text_feature"]])
        rest = [json.dumps(item) for i, item in enumerate(items) if i not in texts_by_row]
        passed = iter(base.input_fn("[" + ",".join(rest) + "]", "application/json") if rest else [])
        return [texts_by_row[i] if i in texts_by_row else next(passed) for i in range(len(items))]

    return SimpleNamespace(
        model_fn=base.model_fn,
        input_fn=input_fn,
        predict_fn=base.predict_fn,
        output_fn=base.output_fn,
    )


def _needs_lookup(item: Any, config: dict[str, Any]) -> bool:
    from sagebox.models.handler import TEXT_FIELD

    return isinstance(item, dict) and config["id_field"] in item and TEXT_FIELD not in item


def _items(body: bytes | str, content_type: str) -> list[Any] | None:
    """The request's JSON items, or None when the base ``input_fn`` should read it as is."""
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if kind == "application/json":
            value = json.loads(text)
            if isinstance(value, dict) and "instances" in value:
                value = value["instances"]
            return value if isinstance(value, list) else [value]
        if kind in ("application/jsonlines", "application/x-jsonlines", "application/jsonl"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return None
