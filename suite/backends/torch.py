"""What Keras does not abstract on the torch backend."""

from __future__ import annotations

import torch

from suite.errors import SuiteError


def configure(device: str, threads: int, allow_tf32: bool = False) -> dict:
    """Apply thread, precision and device settings; return what is actually in effect."""
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    torch.set_float32_matmul_precision("high" if allow_tf32 else "highest")
    if device == "gpu" and not torch.cuda.is_available():
        raise SuiteError(
            "--device gpu: torch sees no CUDA GPU (install the torch-gpu extra "
            "on a machine with one, or use --device cpu)"
        )
    return {
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "mkldnn_enabled": torch.backends.mkldnn.enabled,
    }


def seed(seed: int) -> None:
    torch.manual_seed(seed)


def device_info(device: str) -> dict:
    info = {
        "framework": "torch",
        "framework_version": torch.__version__,
        "kind": device,
        "name": "cpu",
    }
    if device == "gpu":
        props = torch.cuda.get_device_properties(0)
        info.update(
            name=props.name,
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            count=torch.cuda.device_count(),
        )
    return info


def synchronize(value=None) -> None:
    """Wait for queued CUDA work; CPU ops in torch are synchronous already."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak_memory(device: str) -> None:
    if device == "gpu":
        torch.cuda.reset_peak_memory_stats()


def peak_device_memory(device: str) -> int | None:
    return int(torch.cuda.max_memory_allocated()) if device == "gpu" else None
