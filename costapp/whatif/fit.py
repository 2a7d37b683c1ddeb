"""How many GPUs a model needs at a precision: its weights (parameters x bytes per weight) plus
a share of each GPU's memory kept free for the KV cache and activations.

The size comes from the model's name when it says it ("llama-70b" -> 70B parameters,
"mixtral-8x7b" -> 8 x 7B, an upper bound: experts share layers) or from a given
`model_params_b`. GPU memory per type is the vendors' published figure (the GPU catalogue of
costapp/attribution holds counts, not memory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from .levers import QUANTIZATION

FP16_BYTES = Decimal(2)
# Memory the serving engine keeps for the KV cache and activations: vLLM's default
# gpu_memory_utilization of 0.9 leaves 10% spare, and long contexts want a KV cache of a size
# comparable to the weights; 30% is a middle assumption, editable as kv_headroom.
KV_HEADROOM = Decimal("0.3")
KV_SOURCE = "assumed 30% of each GPU's memory for KV cache and activations (edit kv_headroom)"

# GB of memory per GPU, from the vendors' data sheets.
NVIDIA = "NVIDIA data sheet (nvidia.com/en-us/data-center/<gpu>/)"
GPU_MEMORY_GB: dict[str, tuple[Decimal, str]] = {
    "T4": (Decimal(16), NVIDIA),
    "A10G": (Decimal(24), "AWS EC2 G5 instance page (24 GB per A10G)"),
    "A10": (Decimal(24), NVIDIA),
    "L4": (Decimal(24), NVIDIA),
    "V100": (Decimal(16), NVIDIA + ", 16 GB variant"),
    "L40S": (Decimal(48), NVIDIA),
    "A100-40GB": (Decimal(40), NVIDIA),
    "A100-80GB": (Decimal(80), NVIDIA),
    "A100": (Decimal(80), NVIDIA + ", 80 GB variant assumed"),
    "H100": (Decimal(80), NVIDIA + ", SXM"),
    "H100-NVL": (Decimal(94), NVIDIA),
    "H200": (Decimal(141), NVIDIA),
    "B200": (Decimal(180), NVIDIA + " (DGX B200: 1,440 GB over 8 GPUs)"),
}

_SIZE = re.compile(r"(?:(\d+)x)?(\d+(?:\.\d+)?)([bm])(?![a-z])", re.IGNORECASE)


def params_from_name(model: str) -> Decimal | None:
    """Billions of parameters the model's name states, or None ("gpt-4o" states none)."""
    match = _SIZE.search(model.replace("_", "-"))
    if match is None:
        return None
    experts, size, unit = match.groups()
    billions = Decimal(size) / (1000 if unit.lower() == "m" else 1)
    return billions * int(experts or 1)


def gpus_for(params_b: Decimal, memory: Decimal, weight_factor: Decimal,
             headroom: Decimal = KV_HEADROOM) -> int:  # fmt: skip
    """Whole GPUs of `memory` GB holding `params_b` billion weights at `weight_factor` of FP16's
    2 bytes each, each GPU keeping `headroom` of its memory free."""
    usable = memory * (Decimal(1) - headroom)
    weights = params_b * FP16_BYTES * weight_factor  # GB: 1B params x 1 byte = 1 GB
    if usable <= 0:
        raise ValueError("headroom leaves no memory for weights")
    return max(1, int((weights / usable).to_integral_value(rounding=ROUND_CEILING)))


@dataclass(frozen=True)
class Fit:
    gpu_type: str
    memory_gb: Decimal
    memory_source: str
    gpus: dict[str, int]  # precision ("fp16", "fp8", ...) -> GPUs per replica


def fits(params_b: Decimal, gpu_types: tuple[str, ...] | list[str],
         headroom: Decimal = KV_HEADROOM) -> list[Fit]:  # fmt: skip
    """GPUs per replica at FP16 and each quantized precision, on each known GPU type."""
    precisions = {"fp16": Decimal(1), **{n: p.memory for n, p in QUANTIZATION.items()}}
    found = []
    for gpu_type in gpu_types:
        if gpu_type in GPU_MEMORY_GB:
            memory, source = GPU_MEMORY_GB[gpu_type]
            gpus = {name: gpus_for(params_b, memory, factor, headroom)
                    for name, factor in precisions.items()}  # fmt: skip
            found.append(Fit(gpu_type, memory, source, gpus))
    return found
