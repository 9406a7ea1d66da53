"""tunenet train / predict / evaluate on a scipy.sparse.save_npz archive, through the real command line.

X is never densified: a run on a matrix whose dense float32 form (4 GB) exceeds the process's address
space (3 GiB, RLIMIT_AS) trains, predicts and evaluates.
"""

import json
import os
import resource
import subprocess

import numpy as np
import pytest
from scipy import sparse

from cli_helpers import TUNENET, tunenet
from tunenet.nn.io import load


def save(path, X, y):
    X = X.tocsr()
    np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape),
             format=np.array("csr"), y=y)
    return path


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The same 3-class data as a sparse archive and as a dense one."""
    root = tmp_path_factory.mktemp("sparse")
    rng = np.random.default_rng(0)
    X = sparse.random(400, 60, density=0.1, format="csr", random_state=rng) * 4
    score = X @ rng.standard_normal(60)
    y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    save(root / "sparse.npz", X, y)
    np.savez(root / "dense.npz", X=X.toarray(), y=y)
    return root


def train(root, data, run, *flags):
    return tunenet("train", "--data", data, "--run-dir", run, "--epochs", "3", "--quiet", "--seed", "1",
                   *flags, cwd=root, check=0, env={"OPENBLAS_NUM_THREADS": "1"})


def test_train_on_sparse_npz_says_how_it_scaled_and_trains_as_the_dense_pipeline(archives):
    out = train(archives, "sparse.npz", "sp", "--normalize", "none")
    assert "sparse csr: 2,400 stored values (10.00% of the matrix), kept sparse" in out.stdout
    assert "normalize none: X as read" in out.stdout
    train(archives, "dense.npz", "de", "--normalize", "none")
    sp, de = (json.loads((archives / run / "metrics.json").read_text()) for run in ("sp", "de"))
    for key in ("train_loss", "dev_loss", "test_loss"):  # sparse and dense matmuls: float32 rounding apart
        assert sp[key] == pytest.approx(de[key], rel=1e-4)
    assert sp["reference_skipped"].startswith("X is sparse") and "reference" in de
    for name in ("health.json", "diagnosis.json", "report.html", "model.safetensors", "checkpoint"):
        assert (archives / "sp" / name).exists()


def test_standard_on_sparse_is_scale_only_and_predict_evaluate_use_it(archives):
    out = train(archives, "sparse.npz", "std")
    assert "normalize standard on sparse X: each feature divided by its training std, not centred" in out.stdout
    scaling = load(archives / "std" / "model.safetensors").metadata["preprocessing"]
    assert scaling["type"] == "scale" and scaling["basis"] == "standard" and len(scaling["scale"]) == 60
    metrics = json.loads((archives / "std" / "metrics.json").read_text())
    predicted = tunenet("predict", "std", "sparse.npz", cwd=archives, check=0).stdout.splitlines()
    assert predicted[0] == "prediction,p_0,p_1,p_2" and len(predicted) == 401
    dense_predicted = tunenet("predict", "std", "dense.npz", cwd=archives, check=0).stdout.splitlines()
    assert [r.split(",")[0] for r in dense_predicted] == [r.split(",")[0] for r in predicted]
    evaluated = tunenet("evaluate", "std", "sparse.npz", cwd=archives, check=0).stdout
    assert evaluated.startswith("sparse.npz: 400 rows; loss ")
    accuracy = float(evaluated.rsplit("accuracy ", 1)[1])
    rows = metrics["n_dev"] + 240 + 80  # the whole file: train 240, dev 80, test 80 rows
    pooled = (240 * metrics["train_accuracy"] + 80 * metrics["dev_accuracy"] + 80 * metrics["test_accuracy"]) / rows
    assert accuracy == pytest.approx(pooled, abs=1e-6)


@pytest.mark.parametrize("args,message", [
    (("train", "--data", "sparse.npz", "--augment", "noise:0.1", "--run-dir", "aug"),
     "sparse.npz: X is a sparse 400 x 60 matrix; --augment transforms dense image rows"),
    (("predict", "dn", "sparse.npz"), "sparse.npz: a sparse 400 x 60 matrix, but the run centred its inputs"),
])
def test_what_sparse_cannot_do_is_one_line_exit_2(archives, args, message):
    if args[0] == "predict":
        train(archives, "dense.npz", "dn")
    out = tunenet(*args, cwd=archives, check=2)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not (archives / "aug").exists()


def test_a_matrix_too_big_to_densify_trains_predicts_and_evaluates(tmp_path):
    rng = np.random.default_rng(2)
    m, n = 20_000, 50_000  # dense float32: 4.0 GB, over the 3 GiB address-space limit below
    X = sparse.random(m, n, density=1e-4, format="csr", random_state=rng, dtype=np.float32)
    y = (np.asarray(X.sum(axis=1)).ravel() > 0.05).astype(int)
    save(tmp_path / "big.npz", X, y)

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    outputs = []
    for args in (("train", "--data", "big.npz", "--run-dir", "big", "--epochs", "1", "--hidden", "8", "--quiet"),
                 ("predict", "big", "big.npz"), ("evaluate", "big", "big.npz")):
        out = subprocess.run([*TUNENET, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             preexec_fn=limited, env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "200"})
        assert out.returncode == 0, out.stderr[-2000:]
        outputs.append(out.stdout)
    assert len(outputs[1].splitlines()) == m + 1
    assert outputs[2].startswith(f"big.npz: {m:,} rows; loss ")
