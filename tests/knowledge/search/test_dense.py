"""DenseIndex: build, search, add/replace/remove, HNSW tombstones, save/load, mismatch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.search.dense import DenseIndex, IndexCorruptError, IndexMismatchError, IndexParams

DIM = 16


def unit(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=["flat", "hnsw", "ivf"])
def built(request):
    kind = request.param
    params = IndexParams(
        ann_min_size=10**9 if kind == "flat" else 50, ann_type=kind if kind != "flat" else "hnsw"
    )
    index = DenseIndex(DIM, "test-model", params=params)
    vectors = unit(400)
    index.index(np.arange(1, 401), vectors)
    return index, vectors


def test_index_type_follows_size(built):
    index, _ = built
    assert index.count() == 400
    assert index.index_type in {"flat", "hnsw", "ivf"}
    assert index.metadata["index_type"] == index.index_type


def test_search_finds_itself_first(built):
    index, vectors = built
    results = index.search(vectors[:5], k=3)
    assert [r[0][0] for r in results] == [1, 2, 3, 4, 5]
    assert all(r[0][1] == pytest.approx(1.0, abs=1e-4) for r in results)
    assert all(len(r) == 3 for r in results)


def test_remove_and_replace(built):
    index, vectors = built
    assert index.remove([1, 2]) == 2
    assert 1 not in index and index.count() == 398
    assert all(doc != 1 for doc, _ in index.search(vectors[:1], k=10)[0])
    index.add([1], vectors[1:2])  # id 1 now carries vector 2's content
    index.add([1], vectors[1:2])  # replacing twice keeps one vector
    assert index.count() == 399 and index.vector_count() == 399
    assert index.search(vectors[1:2], k=1)[0][0][0] == 1


def test_allowed_restricts_results(built):
    index, vectors = built
    hits = index.search(vectors[:1], k=5, allowed=[7, 8, 9])[0]
    assert {doc for doc, _ in hits} == {7, 8, 9}
    assert index.search(vectors[:1], k=5, allowed=[]) == [[]]


def test_several_vectors_per_id_are_deduplicated():
    index = DenseIndex(DIM, "m", params=IndexParams(ann_min_size=10**9))
    v = unit(6)
    index.index([1, 1, 1, 2, 2, 3], v)
    assert index.count() == 3 and index.vector_count() == 6
    hits = index.search(v[1:2], k=3)[0]
    assert [doc for doc, _ in hits][0] == 1
    assert len({doc for doc, _ in hits}) == len(hits) == 3
    index.remove([1])
    assert index.vector_count() == 3 and 1 not in index


def test_save_load_roundtrip(built, tmp_path):
    index, vectors = built
    index.remove([3])
    index.extra["threshold"] = 0.42
    path = tmp_path / "products.faiss"
    index.save(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["model"] == "test-model" and meta["dim"] == DIM and meta["count"] == 399
    assert meta["index_type"] == index.index_type and meta["built_at"]
    loaded = DenseIndex.load(path, model="test-model", dim=DIM)
    assert loaded.count() == 399 and 3 not in loaded
    assert loaded.extra["threshold"] == 0.42
    assert loaded.search(vectors[4:5], k=1)[0][0][0] == 5


def test_mismatch_is_detected(tmp_path):
    index = DenseIndex(DIM, "model-a")
    index.index([1, 2], unit(2))
    path = tmp_path / "faq.faiss"
    index.save(path)
    with pytest.raises(IndexMismatchError, match="model-a"):
        DenseIndex.load(path, model="model-b")
    with pytest.raises(IndexMismatchError, match="dimension"):
        DenseIndex.load(path, model="model-a", dim=DIM * 2)


def test_corrupt_and_missing_files(tmp_path):
    index = DenseIndex(DIM, "m")
    index.index([1], unit(1))
    path = tmp_path / "x.faiss"
    index.save(path)
    path.write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorruptError):
        DenseIndex.load(path)
    path.with_suffix(".json").write_text("{broken")
    with pytest.raises(IndexCorruptError):
        DenseIndex.load(path)
    with pytest.raises(FileNotFoundError):
        DenseIndex.load(tmp_path / "missing.faiss")


def test_flat_becomes_approximate_when_it_grows():
    index = DenseIndex(DIM, "m", params=IndexParams(ann_min_size=100))
    v = unit(150)
    index.index(np.arange(1, 81), v[:80])
    assert index.index_type == "flat"
    index.add(np.arange(81, 151), v[80:])
    assert index.index_type == "ivf" and index.count() == 150
    assert index.search(v[120:121], k=1)[0][0][0] == 121


def test_hnsw_compacts_tombstones():
    index = DenseIndex(DIM, "m", params=IndexParams(ann_min_size=10, ann_type="hnsw"))
    v = unit(2000)
    index.index(np.arange(2000), v)
    index.remove(np.arange(100))
    assert index.tombstones() == 100
    index.remove(np.arange(100, 1200))  # past a quarter: compacted
    assert index.tombstones() == 0 and index.count() == 800
    assert index.search(v[1500:1501], k=1)[0][0][0] == 1500


def test_bad_input():
    index = DenseIndex(DIM, "m")
    with pytest.raises(ValueError):
        index.index([1, 2], unit(3))
    with pytest.raises(ValueError):
        index.index([-1], unit(1))
    assert index.search(unit(1), k=3) == [[]]
