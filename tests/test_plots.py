"""Server-side SVG: model names are untrusted text, open intervals are drawn, matrices are complete."""

from arena import plots

HOSTILE = '<img src=x onerror="alert(1)">'


def row(model, rating, low, high):
    return {"model": model, "rating": rating, "ci_low": low, "ci_high": high}


def test_forest_plot_escapes_model_names():
    svg = plots.forest_plot([row(HOSTILE, 1000.0, 990.0, 1010.0)], title=HOSTILE)
    assert "<img" not in svg and "&lt;img" in svg


def test_forest_plot_draws_an_arrow_for_each_open_side_and_a_hollow_dot_without_rating():
    svg = plots.forest_plot([row("a", 1000.0, 950.0, 1050.0), row("top", None, 1050.0, None),
                             row("bottom", None, None, 950.0)], title="t")
    assert svg.count("<path") == 2  # one arrow to the right, one to the left
    assert svg.count('fill="#fff"') == 2  # hollow markers for the two unrated models
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_matrix_plot_has_a_cell_per_pair_and_escapes_labels():
    svg = plots.matrix_plot(["a", HOSTILE], [[None, 0.7], [0.3, None]], title="t", kind="winrate")
    assert svg.count("<rect") == 4
    assert ">70<" in svg and ">30<" in svg
    assert "<img" not in svg


def test_nothing_to_plot_is_an_empty_string():
    assert plots.forest_plot([], title="t") == ""
    assert plots.matrix_plot([], [], title="t", kind="count") == ""
