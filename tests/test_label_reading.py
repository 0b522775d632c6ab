"""read_label_file's fast path (memoised cells, lazy name maps, rows stored in blocks) gives the same
tables, reports and messages as parsing every cell and matching every name afresh."""
import numpy as np
import pytest

from engine.attributes import labels as lab
from engine.errors import DataError


def _write(tmp_path, text, name="l.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(params=[(4096, 4096), (1, 1), (0, 2)], ids=["default", "tiny-memo-rows-one-by-one", "no-memo"])
def limits(request, monkeypatch):
    """Every test runs with the default memo/block sizes and with tiny ones (memo full, many blocks)."""
    memo, block = request.param
    monkeypatch.setattr(lab, "_MEMO_CELLS", memo)
    monkeypatch.setattr(lab, "_ROW_BLOCK", block)


# ------------------------------------------------------------------------------------------------
# name matching: exact, then base name, then a stem only one z-point has


def test_exact_names_never_build_the_base_or_stem_maps():
    m = lab._Matcher(["a.jpg", "dir/b.jpg", "a.jpg"])
    assert m("a.jpg") == 0 and m("dir/b.jpg") == 1  # the first z-point of a name wins
    assert m._base is None and m._stem is None
    assert m("other/b.jpg") == 1  # base name
    assert m._base is not None and m._stem is None
    assert m("b.png") == 1  # stem
    assert m._stem is not None


def test_base_name_and_stem_matching(tmp_path, limits):
    files = ["dir/000001.jpg", "d2\\000002.jpg", "000003.jpg", "x/000004.jpg", "y/000004.jpg", "a.jpg", "a.png",
             "c.tar.gz"]
    p = _write(tmp_path, "file,S\n"
               "000001.jpg,1\n"         # base name of dir/000001.jpg
               "other/000002.jpg,1\n"   # base name of d2\000002.jpg (a backslash is a separator)
               "000003.png,0\n"         # stem only
               "000004.jpg,0\n"         # base name: two z-points, the first one wins
               "a.gif,1\n"              # stem a belongs to two z-points: unmatched
               "z/c.tar.bz2,1\n")       # stem c.tar of c.tar.gz
    t = lab.read_label_file(p, files)
    r = t.report
    assert (r.matched, r.unmatched, r.unmatched_examples, r.missing) == (5, 1, ["a.gif"], 3)
    np.testing.assert_array_equal(t.column("S"), [1, 1, 0, 0, np.nan, np.nan, np.nan, 1])
    assert r.missing_examples == ["y/000004.jpg", "a.jpg", "a.png"]


def test_a_stem_match_that_collides_with_an_earlier_row_is_a_duplicate(tmp_path, limits):
    p = _write(tmp_path, "file,S\n000001.jpg,1\n000001.png,-1\n")
    t = lab.read_label_file(p, ["000001.jpg", "000002.jpg"])
    assert t.report.duplicates == 1 and t.report.duplicate_examples == ["line 3: 000001.png"]
    assert t.values[0, 0] == 1


# ------------------------------------------------------------------------------------------------
# cells: the memo keys on the raw text and only keeps accepted cells


def test_spaced_and_spelled_cells_parse_to_the_same_values(tmp_path, limits):
    files = [f"{i}.jpg" for i in range(6)]
    p = _write(tmp_path, "file,A,B\n"
               "0.jpg,1, 1\n"
               "1.jpg, 1,1 \n"
               "2.jpg,+1,1.0\n"
               "3.jpg,yes,TRUE\n"
               "4.jpg,No,-0\n"
               "5.jpg,0.1,\n")
    t = lab.read_label_file(p, files)
    assert t.report.malformed == 0 and t.report.blank_cells == 1
    np.testing.assert_array_equal(t.values[:5], [[1, 1], [1, 1], [1, 1], [1, 1], [0, 0]])
    assert t.values[5, 0] == np.float32(0.1) and np.isnan(t.values[5, 1])


def test_a_refused_cell_is_refused_on_every_row_with_its_own_text(tmp_path, limits):
    files = [f"{i}.jpg" for i in range(5)]
    p = _write(tmp_path, "file,A,B\n"
               "0.jpg,1,x\n"
               "1.jpg,1,1\n"
               "2.jpg, x ,1\n"      # same stripped text, another raw cell
               "3.jpg,1,inf\n"      # non-finite
               "4.jpg,nan,1\n")
    r = lab.read_label_file(p, files).report
    assert r.malformed == 4 and r.matched == 1
    assert r.malformed_examples == ["line 2: B='x' is not a number", "line 4: A='x' is not a number",
                                    "line 5: B='inf' is not a number", "line 6: A='nan' is not a number"]


def test_the_memo_belongs_to_one_file_and_one_format(tmp_path, limits):
    """"2" accepted in a CSV is still refused in a CelebA file (the CelebA check is not skipped)."""
    files = ["a.jpg", "b.jpg"]
    t = lab.read_label_file(_write(tmp_path, "file,S\na.jpg,2\nb.jpg,2\n"), files)
    assert t.report.matched == 2 and (t.values == 2).all()
    r = lab.read_label_file(_write(tmp_path, "2\nS\na.jpg 1\nb.jpg 2\n", "c.txt"), files).report
    assert r.matched == 1 and r.malformed_examples == ["line 4: S='2' (CelebA values are 1 or -1)"]
    with pytest.raises(DataError, match=r"every one of its 2 row\(s\) is malformed \(first: line 3: S='2' \(CelebA"):
        lab.read_label_file(_write(tmp_path, "2\nS\na.jpg 2\nb.jpg 2\n", "d.txt"), files)


def test_blank_cells_are_counted_for_used_rows_only(tmp_path, limits):
    files = [f"{i}.jpg" for i in range(4)]
    p = _write(tmp_path, "file,A,B,C\n"
               "0.jpg,,1,\n"      # 2 blanks, used
               "0.jpg,,,\n"       # duplicate: its blanks are not counted
               "9.jpg,,,1\n"      # unmatched: not counted
               "1.jpg,1,,x\n"     # malformed: not counted
               "2.jpg,1, ,0\n"    # 1 blank (white space), used
               " , ,\n"           # only white space: not a row at all
               "3.jpg,0,0,0\n")
    t = lab.read_label_file(p, files)
    r = t.report
    assert (r.rows, r.matched, r.duplicates, r.unmatched, r.malformed, r.blank_cells) == (6, 3, 1, 1, 1, 3)
    np.testing.assert_array_equal(np.isnan(t.values), [[1, 0, 1], [1, 1, 1], [0, 1, 0], [0, 0, 0]])


def test_many_rows_in_blocks_keep_their_z_points(tmp_path, limits):
    rng = np.random.default_rng(0)
    files = [f"{i:06d}.jpg" for i in range(50)]
    order = rng.permutation(45)  # rows in shuffled order, 5 z-points without a row
    vals = rng.choice(["1", "0", "", "0.25"], size=(45, 3))
    text = "file,A,B,C\n" + "".join(f"{files[i]},{','.join(vals[k])}\n" for k, i in enumerate(order))
    t = lab.read_label_file(_write(tmp_path, text), files)
    want = np.full((50, 3), np.nan, np.float32)
    want[order] = np.where(vals == "", np.nan, np.where(vals == "", "nan", vals).astype(np.float64))
    np.testing.assert_array_equal(t.values, want)
    assert t.report.blank_cells == int((vals == "").sum()) and t.report.missing == 5


def test_a_value_beyond_float32_is_a_malformed_row_not_an_infinity(tmp_path):
    """1e300 is finite as a Python float but would be stored as inf in the float32 table: the row is refused."""
    from engine.attributes import read_label_file

    p = tmp_path / "labels.csv"
    p.write_text("file,Age,Smiling\na.png,1e300,1\nb.png,42,0\nc.png,-3.5e38,1\n")
    table = read_label_file(p, ["a.png", "b.png", "c.png"])
    assert table.report.matched == 1 and table.report.malformed == 2
    assert any("Age='1e300' is too large" in e for e in table.report.malformed_examples)
    assert np.isfinite(np.nan_to_num(table.values, nan=0.0)).all()


# ------------------------------------------------------------------------------------------------
# the vectorised reading of a plain CSV of small integers gives what the row-by-row reading gives


def _both_readings(monkeypatch, path, files):
    """(table, vectorised?) of the ordinary reading, and the table with the vectorised reading switched off."""
    taken = []
    fast = lab._read_plain_csv
    monkeypatch.setattr(lab, "_read_plain_csv", lambda *a: (taken.append(fast(*a)), taken[-1])[1])
    table = lab.read_label_file(path, files)
    monkeypatch.setattr(lab, "_read_plain_csv", lambda *a: False)
    return table, taken == [True], lab.read_label_file(path, files)


def _same(a, b):
    from dataclasses import asdict

    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(np.signbit(a.values), np.signbit(b.values))  # "-0" stays -0.0
    assert a.names == b.names and asdict(a.report) == asdict(b.report)


FILES = ["a.jpg", "dir/b.jpg", "c.jpg", "é ü.jpg", "e.jpg"]


@pytest.mark.parametrize("text, vectorised", [
    ("file,A,B\na.jpg,1,0\ndir/b.jpg,0,1\nc.jpg,1,1\n", True),  # one character per cell
    ("file,A,B\na.jpg,-1,\ndir/b.jpg,,1\nc.jpg,2,-0\n\n", True),  # blanks, minus, a blank line
    ("file,A,B\n  a.jpg ,1,0\nb.jpg,0,1\nb.png,1,1\nzz.jpg,1,0\né ü.jpg,0,0\n  \nq.jpg,1,1", True),  # base, stem,
    # duplicate, unmatched, a stripped name, a non-ASCII name, a white-space line, no final line end
    ("file,A,B\r\na.jpg,1,0\r\nc.jpg,0,1\r\n", True),
    ("file,A\n" + "".join(f"{f},{i % 2}\n" for i, f in enumerate(FILES * 3)), True),  # duplicates
    ('file,A,B\n"a.jpg",1,0\nc.jpg,0,1\n', False),  # a quote: the csv module's rules
    ("file,A,B\na.jpg,1,0\nc.jpg,0,1,1\ne.jpg,0\n", False),  # cell counts
    ("file,A,B\na.jpg, 1,0\nc.jpg,1.0,yes\ne.jpg,x,10\n", False),  # other cells
    ("file,A,B\na.jpg,1,0\n,1,1\n,,\ne.jpg,0,0\n", False),  # no name; an empty row
    ("file,A,B\na.jpg,1,0\ne.jpg,0,é\n", False),  # a non-ASCII cell
])
def test_the_vectorised_reading_equals_the_row_by_row_one(tmp_path, monkeypatch, text, vectorised):
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode("utf-8"))
    table, taken, reference = _both_readings(monkeypatch, path, FILES)
    assert taken == vectorised
    _same(table, reference)


def test_the_vectorised_reading_of_many_rows_in_blocks(tmp_path, monkeypatch):
    """Rows across several blocks of lines: blanks in some blocks, a duplicate and an unmatched row late."""
    monkeypatch.setattr(lab, "_LINE_BLOCK", 7)
    rng = np.random.default_rng(1)
    files = [f"{i:05d}.jpg" for i in range(40)]
    cells = rng.choice(["1", "0", "-1", ""], size=(40, 3))
    rows = [f"{f},{','.join(c)}" for f, c in zip(files, cells)] + ["00003.jpg,1,1,1", "nope.jpg,1,0,1"]
    path = tmp_path / "labels.csv"
    path.write_text("file,A,B,C\n" + "\n".join(rows) + "\n")
    table, taken, reference = _both_readings(monkeypatch, path, files)
    assert taken
    _same(table, reference)
    assert (table.report.duplicates, table.report.unmatched, table.report.duplicate_examples) == (1, 1, ["line 42: 00003.jpg"])
    want = np.where(cells == "", np.nan, np.where(cells == "", "0", cells).astype(np.float32))
    np.testing.assert_array_equal(table.values, want)


def test_the_default_models_labels_read_vectorised_as_before(monkeypatch):
    from engine.formats.native import load_latents
    from engine.resources import default_model_dir

    folder = default_model_dir()
    _, files = load_latents(folder, 256)
    table, taken, reference = _both_readings(monkeypatch, folder / lab.LABELS, files)
    assert taken and table.values.shape == (9000, 40) and table.report.matched == 9000
    _same(table, reference)
