"""Version sets: labels, copies, ordering, which need an environment of their own."""

from suite.core.environments import (
    env_dir,
    installed,
    is_here,
    parse_label,
    skip_reason,
    version_key,
    version_sets,
)


def test_the_same_release_twice_is_a_copy_of_its_own():
    sets = version_sets({"keras": ["3.15.1", "3.14.1", "3.15.1"], "jax": ["0.10.2"]})
    assert [s.label for s in sets] == [
        "keras==3.15.1", "keras==3.14.1", "keras==3.15.1~2", "jax==0.10.2"
    ]  # fmt: skip
    assert parse_label("keras==3.15.1~2") == ("keras", "3.15.1", 2)
    assert version_sets({"tensorflow": ["2.20.0"]})[0].pin == "tensorflow-cpu==2.20.0"


def test_releases_sort_as_releases_not_as_text():
    labels = ["keras==3.10.0", "keras==3.9.2", "keras==3.15.1~2", "keras==3.15.1"]
    assert sorted(labels, key=version_key) == [
        "keras==3.9.2", "keras==3.10.0", "keras==3.15.1", "keras==3.15.1~2"
    ]  # fmt: skip


def test_an_installed_release_needs_no_environment_and_a_copy_shares_one(tmp_path):
    here = installed("numpy")
    assert is_here(f"numpy=={here}") and not is_here("numpy==0.0.1")
    # one environment per release: a copy of a pin shares it, another release does not
    assert env_dir(tmp_path, "keras==3.14.1~2") == env_dir(tmp_path, "keras==3.14.1")
    assert env_dir(tmp_path, "keras==3.14.1") != env_dir(tmp_path, "keras==3.14.0")


def test_torch_releases_without_a_cpu_wheel_are_skipped_with_the_reason():
    other, cpu = version_sets({"torch": ["2.12.0", "2.13.0"]})
    assert "only torch 2.13.0 resolves to a CPU wheel" in skip_reason(other)
    assert skip_reason(cpu) is None
    assert skip_reason(version_sets({"keras": ["3.12.0"]})[0]) is None


def test_the_index_releases_and_those_between():
    from suite.core.environments import between, index_versions

    text = "keras (3.15.1)\nAvailable versions: 3.15.1, 3.15.0, 3.14.1, 3.10.0, 3.9.2, 3.1.0rc1\n"
    releases = index_versions(text)
    assert releases == ["3.9.2", "3.10.0", "3.14.1", "3.15.0", "3.15.1"]  # no pre-release
    assert between(releases, "3.9.2", "3.15.1") == ["3.10.0", "3.14.1", "3.15.0"]
    assert index_versions("ERROR: no such package") == []


def test_bisection_names_the_first_release_with_the_step():
    from suite.core.environments import bisect_releases

    releases = ["3.10.0", "3.11.0", "3.12.0", "3.13.0", "3.14.0"]

    def step_at(first):  # a judge that sees the step where it is, every time
        def judge(lo, mid, hi):
            return "low" if releases.index(mid) >= releases.index(first) else "high"

        return judge

    for first in releases:
        found, tried = bisect_releases("3.9.0", "3.15.0", releases, step_at(first))
        assert found == first and len(tried) <= 3
    # the step in the last release, outside every candidate
    found, _ = bisect_releases("3.9.0", "3.15.0", releases, lambda lo, mid, hi: "high")
    assert found == "3.15.0"
    # must fail: a step that does not reproduce names no release
    found, tried = bisect_releases("3.9.0", "3.15.0", releases, lambda lo, mid, hi: None)
    assert found is None and len(tried) == 1
