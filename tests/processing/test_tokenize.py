"""The review tokenizer agrees with transformers' and checks its settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sagebox.errors import InputDataError
from sagebox.processing.tokenize import ReviewTokenizer, default_tokenizer_dir, vector_array

TEXTS = [
    "I love this dress, the fabric is soft and it fits perfectly!",
    "",
    "Terrible quality... ripped after ONE wash. Returning it. " * 20,
    "Ça va, naïve café — 10/10 would buy again 👍",
]


@pytest.mark.slow  # imports transformers (seconds)
def test_matches_transformers_padding_and_truncation() -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(default_tokenizer_dir()))
    want = reference(TEXTS, padding="max_length", truncation=True, max_length=48)
    ids, mask = ReviewTokenizer(max_seq_length=48).encode(TEXTS)
    assert ids.tolist() == want["input_ids"] and mask.tolist() == want["attention_mask"]
    assert ids.shape == (4, 48) and ids.dtype == np.int64


@pytest.mark.slow  # imports transformers (seconds)
def test_checkpoint_without_tokenizer_json_uses_transformers(tmp_path: Path) -> None:
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(default_tokenizer_dir() / name, tmp_path / name)
    slow = ReviewTokenizer(tmp_path, max_seq_length=16).encode(TEXTS)
    fast = ReviewTokenizer(max_seq_length=16).encode(TEXTS)
    assert slow[0].tolist() == fast[0].tolist() and slow[1].tolist() == fast[1].tolist()


def test_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="from 2 to 512, got 513"):
        ReviewTokenizer(max_seq_length=513)
    with pytest.raises(InputDataError, match="does not exist"):
        ReviewTokenizer(tmp_path / "missing")
    with pytest.raises(InputDataError, match="no tokenizer found"):
        ReviewTokenizer(tmp_path)
    assert ReviewTokenizer(max_seq_length=8).encode([])[0].shape == (0, 8)


def test_vector_array_keeps_rows() -> None:
    matrix = np.arange(6).reshape(2, 3)
    assert vector_array(matrix).to_pylist() == [[0, 1, 2], [3, 4, 5]]
