import csv
import gzip
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sklearn_dlc.demo import load_banking77
from sklearn_dlc.demo._banking77 import banking77_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
# MD5 of PolyAI's files, as recorded in shared/data/SOURCES.md.
MD5 = {
    "train": "cec64185f4197906aabce0781ef9a19b",
    "test": "8dcd9dc31b686c75ec1f24bf23c140cb",
}
PACKAGE_DATA = ROOT / "sklearn_dlc" / "demo" / "data"


@pytest.mark.parametrize("subset", ["train", "test"])
def test_vendored_copy_is_the_original(subset):
    shipped = gzip.decompress(banking77_file(subset).read_bytes())
    assert hashlib.md5(shipped).hexdigest() == MD5[subset]
    original = SHARED / f"banking77_{subset}.csv"
    if not original.exists():
        pytest.skip(f"{original} is absent")
    assert shipped == original.read_bytes()


def test_attribution_ships_next_to_the_data():
    readme = (PACKAGE_DATA / "README.md").read_text(encoding="utf-8")
    licence = (PACKAGE_DATA / "LICENSE-BANKING77").read_text(encoding="utf-8")
    for text in (readme, licence):
        assert "CC BY 4.0" in text
        assert "arXiv:2003.04807" in text
        assert "PolyAI-LDN/task-specific-datasets" in text
    assert "Casanueva" in readme and "Casanueva" in load_banking77().DESCR


@pytest.fixture(scope="module")
def train():
    return load_banking77("train")


def test_train_split(train):
    assert len(train.data) == len(train.target) == 10_003
    assert train.target.dtype == np.int64
    assert len(train.target_names) == 77
    assert train.target_names == sorted(train.target_names)
    counts = np.bincount(train.target)
    assert counts.min() == 35 and counts.max() == 187
    name = train.target_names
    assert counts[name.index("contactless_not_working")] == 35
    assert counts[name.index("card_payment_fee_charged")] == 187
    # The original spellings are kept.
    assert "Refund_not_showing_up" in name and "reverted_card_payment?" in name


def test_texts_with_newlines_are_parsed_whole(train):
    # 10 training queries hold a newline inside quotes (see SOURCES.md).
    assert sum("\n" in text for text in train.data) == 10
    assert all(isinstance(text, str) and text for text in train.data)


def test_test_split_and_codes_agree():
    test = load_banking77("test")
    train = load_banking77("train")
    assert len(test.data) == 3080
    assert np.bincount(test.target).tolist() == [40] * 77
    assert test.target_names == train.target_names
    both = load_banking77("all")
    assert both.data == train.data + test.data
    np.testing.assert_array_equal(
        both.target, np.concatenate([train.target, test.target])
    )


def test_matches_a_plain_csv_reading(train):
    with gzip.open(banking77_file("train"), "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["text"] for row in rows] == train.data
    names = [train.target_names[code] for code in train.target]
    assert names == [row["category"] for row in rows]
    assert Counter(names)["activate_my_card"] == 159


def test_return_X_y():
    X, y = load_banking77("test", return_X_y=True)
    assert isinstance(X, list) and len(X) == len(y) == 3080


@pytest.mark.parametrize("subset", ["validation", "TRAIN", None, 1])
def test_bad_subset(subset):
    with pytest.raises(ValueError, match="subset must be 'train', 'test' or 'all'"):
        load_banking77(subset)


def test_bad_return_X_y():
    with pytest.raises(TypeError, match="return_X_y must be a bool"):
        load_banking77(return_X_y="yes")
