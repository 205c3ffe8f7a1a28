"""The theoretical peak derived from /proc/cpuinfo text (pure; no frameworks)."""

import pytest

from suite.core.fingerprint import native_half_support, theoretical_peak, vector_flags
from suite.report.build import peak_text

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2596.130
flags\t\t: fpu fma avx avx2 avx512f
processor\t: 1
vendor_id\t: AuthenticAMD
cpu MHz\t\t: 2596.130
"""


def intel(flags: str) -> str:
    return (
        f"vendor_id : GenuineIntel\ncpu family : 6\nmodel : 85\ncpu MHz : 2000.0\nflags : {flags}\n"
    )


def test_zen4_by_hand():
    # 2 cores x 2.59613 GHz x (2 FLOPs per FMA x 8 lanes x 2 pipes) = 166.15 GFLOP/s
    peak = theoretical_peak(ZEN4, 2)
    assert peak["gflops"] == pytest.approx(166.2)
    assert "32 float32 FLOPs/cycle" in peak["derivation"] and "2 cores" in peak["derivation"]


def test_intel_from_flags():
    assert theoretical_peak(intel("fma avx2 avx512f"), 4)["gflops"] == pytest.approx(512.0)
    assert theoretical_peak(intel("fma avx2"), 4)["gflops"] == pytest.approx(256.0)


@pytest.mark.parametrize(
    "text, cores",
    [
        (intel("sse4_2 avx"), 2),  # no FMA: no derivation
        (ZEN4.replace("cpu MHz\t\t: 2596.130\n", "", 1).replace("cpu MHz", "x"), 2),  # no clock
        (ZEN4.replace("AuthenticAMD", "HygonGenuine"), 2),  # a vendor not in the table
        (ZEN4, None),  # cores unknown
        ("", 2),
    ],
)
def test_refuses_to_guess(text, cores):
    assert theoretical_peak(text, cores) is None


def test_measured_above_theory_is_explained():
    theory = {"gflops": 166.2, "derivation": "d"}
    assert "boost" in peak_text(theory, 196.0) and "floor" in peak_text(theory, 196.0)
    assert "59% of it" in peak_text(theory, 98.0)
    assert "not derivable" in peak_text(None, 98.0)


def test_vector_flags_in_their_order_and_only_those():
    text = "processor: 0\nflags\t\t: fpu avx2 sse4_2 avx512f avx512_bf16 avx foo\nflags: amx_tile\n"
    assert vector_flags(text) == ["sse4_2", "avx", "avx2", "avx512f", "avx512_bf16"]
    assert vector_flags("processor: 0\n") == []


@pytest.mark.parametrize(
    "policy, env, native",
    [
        ("float32", {"cpu_vector_flags": []}, True),
        ("mixed_bfloat16", {"cpu_vector_flags": ["avx2", "avx512_bf16"]}, True),
        ("mixed_bfloat16", {"cpu_vector_flags": ["avx2", "amx_tile", "amx_bf16"]}, True),
        ("mixed_bfloat16", {"cpu_vector_flags": ["avx2", "fma"]}, False),  # this Zen 3
        ("mixed_bfloat16", {"cpu_vector_flags": ["avx512f", "avx512_fp16"]}, False),
        ("mixed_float16", {"cpu_vector_flags": ["avx512_bf16", "amx_bf16"]}, False),
        ("mixed_float16", {"cpu_vector_flags": ["avx512_fp16"]}, True),
        ("mixed_bfloat16", {"device": {"kind": "gpu", "compute_capability": "9.0"}}, True),
        ("mixed_bfloat16", {"device": {"kind": "gpu", "compute_capability": "7.5"}}, False),
        ("mixed_float16", {"device": {"kind": "gpu", "compute_capability": "7.5"}}, True),
        ("mixed_float16", {"device": {"kind": "gpu", "compute_capability": "6.1"}}, False),
        ("mixed_bfloat16", {"device": {"kind": "gpu"}}, False),  # not recorded: unknown
        ("mixed_bfloat16", {}, False),
    ],
)
def test_native_half_support_from_flags_or_compute_capability(policy, env, native):
    problem = native_half_support(policy, env)
    assert (problem is None) == native, problem
    if not native:
        assert policy.removeprefix("mixed_") in problem


def test_half_flags_are_recorded():
    assert vector_flags("flags : avx2 avx512_fp16 amx_fp16 amx_bf16") == [
        "avx2",
        "amx_bf16",
        "avx512_fp16",
        "amx_fp16",
    ]
