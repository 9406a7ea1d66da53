"""tunenet.run: the pipeline releases the data it no longer needs before drawing the report."""

import gc
import json
import weakref

import numpy as np

from tunenet.config import RunConfig
from tunenet.run import prepare_data, train_run


def test_release_data_frees_the_arrays_before_the_report_and_changes_no_result(tmp_path):
    config = RunConfig(data="digits", hidden=(32,), epochs=2, seed=3, threads=1)
    kept = prepare_data(config)
    kept_result = train_run(config, tmp_path / "kept", progress=False, data=kept)
    released = prepare_data(config)
    base = released.X_train if released.X_train.base is None else released.X_train.base
    alive = weakref.ref(base)
    del base
    released_result = train_run(config, tmp_path / "released", progress=False, data=released, release_data=True)
    gc.collect()
    assert alive() is None  # nothing kept the loaded array: its memory was given back
    assert released.X_train is None and released.dataset.X is None and kept.X_train is not None
    assert (tmp_path / "released" / "report.html").is_file()
    def scores(metrics):  # the reference model's fit time differs run to run, nothing else may
        return {**metrics, "reference": {k: v for k, v in metrics["reference"].items() if "second" not in k}}

    assert scores(released_result.metrics) == scores(kept_result.metrics)
    on_disk = json.loads((tmp_path / "released" / "metrics.json").read_text())
    assert on_disk["test_accuracy"] == kept_result.metrics["test_accuracy"]
    assert np.isfinite(on_disk["train_loss"])
