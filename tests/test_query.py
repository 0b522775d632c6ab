"""The query language (engine/query.py) and --where through it (engine/attributes/conditions.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.attributes import AttributeTable
from engine.attributes.conditions import conditional_latents, describe_any, is_old_syntax, where_mask
from engine.errors import QueryError, SamplerError
from engine.latent_whitening import PCAResult
from engine.query import QuerySpace, evaluate, parse_query, part_counts, tokenize


def _space(labels=True, judges=True):
    """6 points in 3-D; labels S (smiling) and M (male), a NaN for point 5's M; one judge on z0."""
    z = np.array([[0.0, 1, 0], [1, 0, 0], [2, -2, 1], [-1, 3, 0], [0.5, 0, -1], [3, 0, 0]])
    S = [1, 1, -1, -1, 1, 1]
    M = [1, -1, -1, 1, -1, np.nan]
    table = AttributeTable(["Smiling", "Male", "5_o_Clock_Shadow"], np.array([S, M, [1] * 6], float).T,
                           [f"{i}.png" for i in range(6)])
    # judge "Eyeglasses": logit = 4 z0 − 2 → p = 0.5 at z0 = 0.5
    judge = SimpleNamespace(names=["Eyeglasses"], weights=np.array([[4.0, 0, 0]]), bias=np.array([-2.0]))
    # PCA: axes = the coordinate axes, σ = (2, 1, 0.5), mean 0 → PC1 = z0 / 2
    pca = PCAResult(np.zeros(3), np.eye(3), np.array([4.0, 1.0, 0.25]), np.array([0.7, 0.2, 0.1]))
    return z, QuerySpace(z, labels=table if labels else None, label_names=table.names,
                         judges=judge if judges else None, pca=pca)


def idx(mask):
    return np.flatnonzero(mask).tolist()


def test_names_comparisons_and_coordinates():
    z, sp = _space()
    assert idx(evaluate("Smiling", sp)) == [0, 1, 4, 5]
    assert idx(evaluate("Smiling and not Male", sp)) == [1, 4]  # point 5's Male is unknown: not in "not Male"
    assert idx(evaluate("z1 < -1.5 or (Smiling and Male)", sp)) == [0, 2]
    assert idx(evaluate("PC1 > 0.6", sp)) == [2, 5]  # PC1 = z0/2 in σ units: 1.0, 1.5
    assert idx(evaluate("p(Eyeglasses) > 0.8", sp)) == [1, 2, 5]  # σ(4·z0 − 2) > 0.8 ⇔ z0 > 0.85
    assert idx(evaluate("-1 < z1 <= 1", sp)) == [0, 1, 4, 5]  # a chain is a range
    assert idx(evaluate("0.5 <= z0", sp)) == [1, 2, 4, 5]  # the number on the left
    assert idx(evaluate("Smiling == -1", sp)) == [2, 3] == idx(evaluate("Smiling = no", sp))
    assert idx(evaluate("Male != 1", sp)) == [1, 2, 4]  # the unknown is in neither
    assert idx(evaluate("`5_o_Clock_Shadow` and 5_o_Clock_Shadow", sp)) == list(range(6))
    assert idx(evaluate("Smiling AND NOT Male & z2 >= 0", sp)) == [1]


def test_precedence_not_and_or():
    z, sp = _space()
    # and binds tighter than or: a or b and c == a or (b and c)
    a, b, c = "z0 > 2", "Smiling", "z2 < 0"
    assert idx(evaluate(f"{a} or {b} and {c}", sp)) == [4, 5]
    assert idx(evaluate(f"({a} or {b}) and {c}", sp)) == [4]
    # not binds tighter than and
    assert idx(evaluate("not Smiling and z0 > 0", sp)) == [2]
    assert idx(evaluate("not (Smiling and z0 > 0)", sp)) == [0, 2, 3]
    assert parse_query("not a and b or c").describe() == "(not a and b) or c"  # the normal form shows the grouping
    assert parse_query("a and (b or c)").describe() == "a and (b or c)"


def test_errors_point_at_the_position_and_suggest():
    z, sp = _space()
    with pytest.raises(QueryError) as info:
        evaluate("Smiling and not Mael", sp)
    e = info.value
    assert e.position == 16 and e.name == "Mael" and e.suggestion == "Male"
    assert "column 17" in str(e) and "did you mean Male?" in str(e) and "\n" not in str(e)
    for text, pos in (("Smiling and", 11), ("(Smiling or Male", 16), ("Smiling $ Male", 8), ("z0 > > 1", 5),
                      ("1 > 2", 2), ("", None), ("Smiling Male", 8), ("p(1) > 0.5", 2)):
        with pytest.raises(QueryError) as info:
            evaluate(text, sp)
        assert info.value.position == pos, (text, str(info.value))
        assert info.value.param == "where"
    with pytest.raises(QueryError, match=r"z0 … z2") as info:
        evaluate("z3 > 0", sp)
    assert info.value.position == 0
    with pytest.raises(QueryError, match=r"PC1 … PC3"):
        evaluate("PC4 > 0", sp)
    with pytest.raises(QueryError, match=r"alone is not a condition"):
        evaluate("PC1", sp)
    with pytest.raises(QueryError, match=r"did you mean Eyeglasses"):
        evaluate("p(Eyeglases) > 0.5", sp)
    with pytest.raises(QueryError, match="yes/no label"):
        evaluate("Smiling == 2", sp)
    assert tokenize("z12<-1.5")[2].text == "-"


def test_generated_faces_refuse_labels_in_one_line_but_read_judges_and_coordinates():
    z, sp = _space(labels=False)
    with pytest.raises(QueryError) as info:
        evaluate("Smiling and PC1 > 0", sp)
    msg = str(info.value)
    assert "labels are known only for the model's own z-points" in msg and "use p(Smiling)" in msg
    assert "\n" not in msg and info.value.position == 0
    assert idx(evaluate("p(Eyeglasses) > 0.5 and PC1 < 1.2", sp)) == [1, 2]  # z0 in (0.5, 2.4)
    bare = QuerySpace(z)  # nothing but coordinates; PCA of z itself
    with pytest.raises(QueryError, match="no labels"):
        evaluate("Smiling", bare)
    with pytest.raises(QueryError, match="no attribute judges"):
        evaluate("p(Smiling) > 0.5", bare)
    assert evaluate("PC1 > 0", bare).sum() in (2, 3, 4)


def test_part_counts_and_cached_columns():
    z, sp = _space()
    assert part_counts("Smiling and z0 > 0.7 and (Male or z2 < 0)", sp) == [
        ("Smiling", 4), ("z0 > 0.7", 3), ("Male or z2 < 0", 3)]
    evaluate("PC1 > 0", sp)
    assert ("pc", "PC1", 0) in sp._columns


def test_where_reads_the_old_syntax_and_queries():
    z, sp = _space()
    table = sp.labels
    assert is_old_syntax("Smiling=1,Male=-1") and is_old_syntax("Smiling") and is_old_syntax("Age>=40")
    assert not is_old_syntax("Smiling and Male") and not is_old_syntax("p(Eyeglasses)>0.5")
    assert idx(where_mask(z, table, "Smiling=1,Male=-1")) == [1, 4]
    assert idx(where_mask(z, table, "Smiling=1,z0>0.7")) == [1, 5]  # a coordinate in the old syntax
    assert idx(where_mask(z, table, "Smiling and z0 > 0.7")) == [1, 5]
    assert describe_any("Smiling=1, Male=-1") == "Smiling=1,Male=-1"
    assert describe_any("Smiling  and not(Male)") == "Smiling and not Male"
    with pytest.raises(SamplerError, match="unknown attribute 'Smilng'.*allowed: Smiling"):
        where_mask(z, table, "Smilng=1")  # the old syntax keeps its messages
    with pytest.raises(SamplerError, match=r"only 2 of 6 z-points match the conditions Smiling and z0 > 0.7 "
                                           r"\(Smiling: 4; z0 > 0.7: 3\); the normal sampler needs at least 10"):
        conditional_latents(z, table, "Smiling and z0 > 0.7", "normal")
    got = conditional_latents(z, table, "Smiling or z0 > 0.7", "uniform", min_points=2)
    np.testing.assert_array_equal(got, z[[0, 1, 2, 4, 5]])


def test_query_speed_at_celeba_size():
    """Not a timed test: one query at 202,599 × 256 evaluates (it is benchmarks/selection_speed.py that times)."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(202_599, 16)).astype(np.float32)
    labels = AttributeTable(["Smiling"], np.where(z[:, :1] > 0, 1.0, -1.0), [""] * len(z))
    sp = QuerySpace(z, labels=labels)
    m = evaluate("Smiling and PC3 > 1 or z2 < -2", sp)
    assert m.shape == (202_599,) and m.dtype == bool and 0.05 < m.mean() < 0.2


def test_label_groups_match_the_attribute_table():
    rng = np.random.default_rng(1)
    cols = {"pm": rng.choice([-1.0, 1.0], 50), "01": rng.choice([0.0, 1.0], 50), "num": rng.normal(size=50) * 10,
            "mixed": rng.choice([-1.0, 0.0, 1.0], 50)}
    vals = np.stack(list(cols.values()), 1)
    vals[[3, 7], :] = np.nan
    table = AttributeTable(list(cols), vals, [f"{i}" for i in range(50)])
    sp = QuerySpace(np.zeros((50, 2)), labels=table)
    for name in cols:
        p, a = table.groups(name)
        gp, ga, binary = sp.groups(name)
        np.testing.assert_array_equal(gp, p)
        np.testing.assert_array_equal(ga, a)
        assert binary == table.is_binary(name), name
        np.testing.assert_array_equal(evaluate(f"not `{name}`", sp), a)
