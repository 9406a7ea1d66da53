"""``tunenet train`` on tables, through subprocess: what it says it inferred, and the options that correct it.

Also the argument errors (one line, exit 2), the "next:" command of lr-find,
the output when stdout is not a terminal, and paths that are never wrapped.
"""

import json

import numpy as np
import pytest
import yaml

from cli_helpers import tunenet

FAST = ["--hidden", "8", "--epochs", "2", "--batch-size", "16"]


def write_table(path, rows=60, delimiter=",", header=("id", "a", "b", "code", "y"), seed=0):
    """id counts 1, 2, ...; a, b are numbers; code is an integer category 0-2; y is 0/1 from a + b."""
    rng = np.random.default_rng(seed)
    lines = [delimiter.join(header)]
    for i in range(rows):
        a, b = rng.normal(size=2)
        lines.append(delimiter.join([str(i + 1), f"{a:.3f}", f"{b:.3f}", str(i % 3), str(int(a + b > 0))]))
    path.write_text("\n".join(lines) + "\n")
    return path


def saved_config(run_dir):
    return yaml.safe_load((run_dir / "config.yaml").read_text())


def test_train_prints_target_task_features_and_warns_on_an_id_column(tmp_path):
    data = write_table(tmp_path / "t.csv")
    r = tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r", "--quiet", check=0)
    assert "data: t.csv, 60 rows (train 36, dev 12, test 12); target 'y' -> classification, 2 classes (0, 1)" \
        in r.stdout
    assert "features: 4 from 4 columns; all numeric" in r.stdout
    assert "warning: column 'id' looks like a row id" in r.stderr and "--drop id" in r.stderr


def test_drop_categorical_and_task_change_what_is_trained(tmp_path):
    data = write_table(tmp_path / "t.csv")
    r = tunenet("train", "--data", data, *FAST, "--drop", "id", "--categorical", "code", "--run-dir",
                tmp_path / "r", "--quiet", check=0)
    assert "features: 5 from 3 columns; one-hot: code (3)" in r.stdout
    assert "row id" not in r.stderr
    saved = saved_config(tmp_path / "r")
    assert saved["drop"] == ["id"] and saved["categorical"] == ["code"]

    r = tunenet("train", "--data", data, *FAST, "--drop", "id", "--target", "code", "--task", "regression",
                "--run-dir", tmp_path / "reg", "--quiet", check=0)
    assert "target 'code' -> regression" in r.stdout
    metrics = json.loads((tmp_path / "reg" / "metrics.json").read_text())
    assert "confusion_matrix" not in metrics


def test_config_file_takes_the_same_words(tmp_path):
    data = write_table(tmp_path / "t.csv", delimiter="|")
    config = tmp_path / "c.yaml"
    config.write_text(f"data: {data}\ncategorical: [code]\ndrop: [id]\ndelimiter: pipe\ntask: classification\n"
                      "epochs: 2\nhidden: [8]\n")
    r = tunenet("train", "--config", config, "--run-dir", tmp_path / "r", "--quiet", check=0)
    assert "features: 5 from 3 columns; one-hot: code (3)" in r.stdout
    assert saved_config(tmp_path / "r")["delimiter"] == "|"


def test_semicolon_csv_is_detected_and_an_explicit_delimiter_is_used(tmp_path):
    data = write_table(tmp_path / "semi.csv", delimiter=";")
    r = tunenet("train", "--data", data, *FAST, "--drop", "id", "--run-dir", tmp_path / "r", "--quiet", check=0)
    assert "features: 3 from 3 columns; all numeric; delimiter ';' (detected)" in r.stdout
    # forcing a comma reads one column: the error says the file may be ';'-separated
    r = tunenet("train", "--data", data, *FAST, "--delimiter", ",", "--run-dir", tmp_path / "r2", check=2)
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_decimal_comma_numbers_are_named_not_taken_for_row_ids(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{a:.2f};{b:.2f};{int(a + b > 0)}".replace(".", ",") for a, b in rng.normal(size=(40, 2))]
    data = tmp_path / "eu.csv"
    data.write_text("a;b;y\n" + "\n".join(rows) + "\n")
    r = tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r", "--quiet", check=0)
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    first_a = rows[0].split(";")[0]
    assert len(warnings) == 2 and all("decimal comma" in w and "decimal=','" in w for w in warnings)
    assert warnings[0].startswith(f"warning: column 'a' holds numbers written with a decimal comma ('{first_a}'")
    assert "row id" not in r.stderr
    # a column of '.' decimals beside them is not named
    data.write_text("a;b;y\n" + "\n".join(r.replace(",", ".", 1) for r in rows) + "\n")
    r = tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r2", "--quiet", check=0)
    assert "column 'a'" not in r.stderr and "warning: column 'b' holds numbers written with a decimal comma" \
        in r.stderr


def test_a_compressed_csv_trains_and_a_zstd_one_says_how_to_decompress_it(tmp_path):
    import gzip

    data = tmp_path / "digits.csv.gz"
    data.write_bytes(gzip.compress(b"a,b,y\n" + b"".join(b"%d,%d,%d\n" % (i, i % 7, i % 2) for i in range(60))))
    r = tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r", "--quiet")
    assert "data: digits.csv.gz, 60 rows" in r.stdout and (tmp_path / "r" / "model.safetensors").is_file()
    zst = tmp_path / "digits.csv.zst"
    zst.write_bytes(b"(\xb5/\xfd")
    r = tunenet("train", "--data", zst, "--run-dir", tmp_path / "r2", check=2)
    assert r.stderr == (f"error: {zst}: compressed .csv files are not read; decompress it first, e.g. unzstd -c "
                        f"{zst} > digits.csv, and pass --data digits.csv\n")


def test_a_file_without_a_header_line_is_named(tmp_path):
    data = tmp_path / "noheader.csv"  # scikit-learn's digits.csv: pixel values from the first line on
    data.write_text("\n".join(",".join(str((i * j) % 3) for j in range(6)) for i in range(1, 30)) + "\n")
    r = tunenet("train", "--data", data, "--run-dir", tmp_path / "r", check=2)
    assert "appears twice" in r.stderr and "if the file has no header line" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_ragged_comma_file_suggests_the_delimiter(tmp_path):
    data = tmp_path / "semi.csv"
    data.write_text("a;b;y\n1;2;0\n3;4\n5;6;0\n")  # ';' is inconsistent too: nothing detected
    r = tunenet("train", "--data", data, *FAST, "--run-dir", tmp_path / "r", check=2)
    assert "may be separated by ';': pass --delimiter ';'" in r.stderr


def test_metadata_first_line_warns(tmp_path):
    lines = ["150,4,setosa,versicolor,virginica"] + [f"{5 + i % 7 / 10:.1f},3.5,1.4,0.2,{i % 3}" for i in range(60)]
    (tmp_path / "iris.csv").write_text("\n".join(lines) + "\n")
    r = tunenet("train", "--data", tmp_path / "iris.csv", *FAST, "--run-dir", tmp_path / "r", "--quiet", check=0)
    warning = [line for line in r.stderr.splitlines() if "looks like data" in line]
    assert len(warning) == 1 and "'150', '4' are numbers" in warning[0]


def test_integer_target_with_many_classes_suggests_regression(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["Weight Waist Pulse"] + [f"{rng.integers(150, 250)} {rng.integers(30, 45)} {rng.integers(46, 75)}"
                                     for _ in range(20)]
    (tmp_path / "linnerud.csv").write_text("\n".join(rows) + "\n")
    r = tunenet("lr-find", "--data", tmp_path / "linnerud.csv", "--steps", "5", "--batch-size", "4",
                "--plot", tmp_path / "lr.png", check=0)
    assert "delimiter space (detected)" in r.stdout
    assert "target 'Pulse' holds integers and was taken as" in r.stderr and "pass --task regression" in r.stderr
    r = tunenet("lr-find", "--data", tmp_path / "linnerud.csv", "--task", "regression", "--steps", "5",
                "--batch-size", "4", "--plot", tmp_path / "lr.png", check=0)
    assert "target 'Pulse' -> regression" in r.stdout and "warning" not in r.stderr


def test_missing_values_are_counted_and_the_first_few_named(tmp_path):
    lines = ["a,b,sex,y"] + [f"{i},{'' if i % 4 == 0 else i},{'' if i % 5 == 0 else 'mf'[i % 2]},{i % 2}"
                             for i in range(1, 31)]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    r = tunenet("train", "--data", tmp_path / "p.csv", *FAST, "--run-dir", tmp_path / "r", check=2)
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1
    # 7 empty b (rows 4, 8, ... 28) and 6 empty sex (5, 10, ... 30): 13 cells in 12 rows; row 4 is line 5
    assert "line 5 (header is line 1), column 'b': missing value, one of 13 in 12 rows" in line
    assert "'b' 7, 'sex' 6" in line and "line 6 column 'sex'" in line and "and 8 more" in line


def test_lr_find_next_command_repeats_every_option(tmp_path):
    data = write_table(tmp_path / "t.csv", header=("id", "a", "b", "code", "label"))
    config = tmp_path / "c.yaml"
    config.write_text("l2: 0.001\n")
    r = tunenet("lr-find", "--config", config, "--data", data, "--target", "code", "--drop", "id",
                "--categorical", "label", "--hidden", "8,4", "--batchnorm", "--no-stratify", "--batch-size", "8",
                "--steps", "20", "--lr", "0.5", "--plot", tmp_path / "lr.png", check=0)
    nxt = [line for line in r.stdout.splitlines() if line.startswith("next: ")]
    assert len(nxt) == 1
    words = nxt[0].split()
    assert words[1:3] == ["tunenet", "train"]
    for option in (["--config", str(config)], ["--target", "code"], ["--drop", "id"], ["--categorical", "label"],
                   ["--hidden", "8,4"], ["--batch-size", "8"]):
        i = words.index(option[0])
        assert words[i:i + 2] == option, option
    assert "--batchnorm" in words and "--no-stratify" in words and "--steps" not in words
    assert words.count("--lr") == 1 and words[words.index("--lr") + 1] != "0.5"
    # following it trains on the same column
    r = tunenet(*words[2:], "--epochs", "1", "--run-dir", tmp_path / "r", "--quiet", check=0)
    assert "target 'code' -> classification, 3 classes" in r.stdout


@pytest.mark.parametrize("args, expected", [
    (["train", "--epochz", "2"], "error: tunenet train: unknown option --epochz; did you mean --epochs?"),
    (["train", "--epoch", "2"], "error: tunenet train: unknown option --epoch; did you mean --epochs?"),
    (["train", "--lr", "abc"], "error: tunenet train: argument --lr: invalid float value: 'abc'"),
    (["train", "--hidden", "10,,5"], "error: tunenet train: argument --hidden: expected comma-separated integers"),
    (["train", "--epochs", "0"], "error: option 'epochs' is 0; expected a positive integer"),
    (["train", "--task", "clustering"], "error: option 'task' is 'clustering'; expected one of None"),
    (["train", "--delimiter", ";;"], "error: option 'delimiter' is ';;'; expected one character"),
    (["lr-find", "--stepz", "3"], "error: tunenet lr-find: unknown option --stepz; did you mean --steps?"),
    (["predict", "run"], "error: tunenet predict: the following arguments are required: FILE"),
])
def test_argument_errors_are_one_line_and_exit_2(args, expected, tmp_path):
    r = tunenet(*args, "--run-dir", tmp_path / "r", check=2) if args[0] == "train" else tunenet(*args, check=2)
    assert r.stderr.startswith(expected), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["train", "lr-find", "tune"])
@pytest.mark.parametrize("flag, value", [("--target", "foo"), ("--task", "regression"), ("--categorical", "x0"),
                                         ("--drop", "x0"), ("--delimiter", ";")])
def test_table_options_on_a_built_in_dataset_are_refused_in_the_clis_words(command, flag, value, tmp_path):
    where = {"train": ["--run-dir", tmp_path / "r"], "lr-find": ["--plot", tmp_path / "r"],
             "tune": ["--root", tmp_path / "s"]}[command]
    r = tunenet(command, "--data", "digits", flag, value, *where, cwd=tmp_path, check=2)
    assert r.stderr == (f"error: {flag} applies to table files (CSV, TSV, Parquet); the built-in dataset 'digits' "
                        "has its own target and features\n")
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


def test_table_options_from_a_config_file_are_named_as_the_file_spells_them(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("data: moons\ncategorical: [x0]\n")
    r = tunenet("train", "--config", config, "--run-dir", tmp_path / "r", check=2)
    assert r.stderr == (f"error: option 'categorical' in {config} applies to table files (CSV, TSV, Parquet); "
                        "the built-in dataset 'moons' has its own target and features\n")
    # the same option given as a flag is named as the flag, even with a config file
    r = tunenet("train", "--config", config, "--target", "y", "--run-dir", tmp_path / "r", check=2)
    assert r.stderr.startswith("error: --target applies to table files")


def test_an_npz_file_takes_task_but_not_target(tmp_path):
    data = tmp_path / "a.npz"
    np.savez(data, X=np.random.default_rng(0).normal(size=(40, 2)), y=np.arange(40) % 2)
    r = tunenet("train", "--data", data, "--target", "y", "--run-dir", tmp_path / "r", check=2)
    assert r.stderr == (f"error: --target applies to table files (CSV, TSV, Parquet); the NPZ file '{data}' holds "
                        "its own X and y (it takes --task only)\n")
    r = tunenet("train", "--data", data, "--task", "regression", *FAST, "--run-dir", tmp_path / "r", "--quiet",
                check=0)
    assert "-> regression" in r.stdout


def test_not_a_terminal_prints_a_line_per_epoch_and_paths_unwrapped(tmp_path):
    run_dir = tmp_path / ("a-rather-long-directory-name-that-would-not-fit" * 2) / "runs" / "moons-20261201-195501"
    r = tunenet("train", "--data", "moons", "--hidden", "8", "--epochs", "3", "--early-stopping", "0",
                "--run-dir", run_dir, env={"COLUMNS": "80"}, check=0)
    lines = r.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [e.split()[1] for e in epochs] == ["1/3", "2/3", "3/3"] and all("loss" in e for e in epochs)
    assert f"run {run_dir}" in lines
    assert f"report: {run_dir / 'report.html'}" in lines
    assert (run_dir / "report.html").is_file()


def test_a_lab_table_in_a_log_is_never_cut(tmp_path):
    r = tunenet("lab", "ewa", "--out", tmp_path / "ewa", env={"COLUMNS": "80"}, check=0)
    table = r.stdout.split("The data start")[0]
    assert "…" not in table
    rows = json.loads((tmp_path / "ewa" / "table.json").read_text())["rows"]
    header = next(line for line in table.splitlines() if "beta" in line)
    assert "bias correction" in header and "mean weight age" in header  # one line each, not folded
    assert sum(line.startswith("│") for line in table.splitlines()) == len(rows)


def test_datasets_table_escapes_markup():
    from rich.console import Console

    from tunenet.data.datasets import DatasetInfo, format_datasets_table

    row = DatasetInfo("mnist1d", "4,000 x 40", 10, False, "pip install 'tunenet[mnist1d]'", "signals [1-D]")
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(format_datasets_table([row]))
    text = console.export_text()
    assert "pip install 'tunenet[mnist1d]'" in text and "signals [1-D]" in text


def test_datasets_command_names_the_extra_unwrapped():
    r = tunenet("datasets", env={"COLUMNS": "80"}, check=0)
    line = next(line for line in r.stdout.splitlines() if line.startswith("mnist1d"))
    assert "tunenet[mnist1d]" in line or "yes" in line  # the install hint, or mnist1d is installed
