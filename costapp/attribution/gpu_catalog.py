"""Catalogue of GPU instance types: instance type -> (GPU model, GPUs per instance).

Covers the AWS, Google Cloud, Azure and Oracle Cloud (OCI) GPU families users run inference
on. Keys are the providers' own spellings; lookups are case-insensitive. `find_instance_type`
spots one of them inside free text (a FOCUS ResourceType, a SKU, a charge description or a tag
value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuShape:
    instance_type: str
    gpu_model: str
    gpu_count: int


def _sizes(family: str, model: str, counts: dict[str, int]) -> dict[str, tuple[str, int]]:
    return {f"{family}.{size}": (model, n) for size, n in counts.items()}


_SINGLE = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}

_CATALOG: dict[str, tuple[str, int]] = {
    # AWS
    "p3.2xlarge": ("V100", 1),
    "p3.8xlarge": ("V100", 4),
    "p3.16xlarge": ("V100", 8),
    "p3dn.24xlarge": ("V100", 8),
    "p4d.24xlarge": ("A100-40GB", 8),
    "p4de.24xlarge": ("A100-80GB", 8),
    "p5.48xlarge": ("H100", 8),
    "p5e.48xlarge": ("H200", 8),
    "p5en.48xlarge": ("H200", 8),
    "p5.4xlarge": ("H100", 1),
    "p6-b200.48xlarge": ("B200", 8),
    **_sizes("g5", "A10G", {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("g6", "L4", {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("g6e", "L40S", {**_SINGLE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    **_sizes("g4dn", "T4", {**_SINGLE, "12xlarge": 4, "metal": 8}),
    **_sizes(
        "g4ad",
        "Radeon Pro V520",
        {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 2, "16xlarge": 4},
    ),
    **_sizes("g3", "M60", {"4xlarge": 1, "8xlarge": 2, "16xlarge": 4}),
    "g3s.xlarge": ("M60", 1),
    # Google Cloud
    **{f"a2-highgpu-{n}g": ("A100-40GB", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("A100-40GB", 16),
    **{f"a2-ultragpu-{n}g": ("A100-80GB", n) for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": ("H100", n) for n in (1, 2, 4, 8)},
    "a3-megagpu-8g": ("H100", 8),
    "a3-edgegpu-8g": ("H100", 8),
    "a3-ultragpu-8g": ("H200", 8),
    "a4-highgpu-8g": ("B200", 8),
    **{f"g2-standard-{n}": ("L4", 1) for n in (4, 8, 12, 16, 32)},
    "g2-standard-24": ("L4", 2),
    "g2-standard-48": ("L4", 4),
    "g2-standard-96": ("L4", 8),
    # Azure
    "Standard_ND96isr_H100_v5": ("H100", 8),
    "Standard_ND96isr_H200_v5": ("H200", 8),
    "Standard_ND96asr_v4": ("A100-40GB", 8),
    "Standard_ND96amsr_A100_v4": ("A100-80GB", 8),
    "Standard_NC24ads_A100_v4": ("A100-80GB", 1),
    "Standard_NC48ads_A100_v4": ("A100-80GB", 2),
    "Standard_NC96ads_A100_v4": ("A100-80GB", 4),
    "Standard_NC40ads_H100_v5": ("H100-NVL", 1),
    "Standard_NC80adis_H100_v5": ("H100-NVL", 2),
    "Standard_NC4as_T4_v3": ("T4", 1),
    "Standard_NC8as_T4_v3": ("T4", 1),
    "Standard_NC16as_T4_v3": ("T4", 1),
    "Standard_NC64as_T4_v3": ("T4", 4),
    "Standard_NV36ads_A10_v5": ("A10", 1),
    "Standard_NV72ads_A10_v5": ("A10", 2),
    # Oracle Cloud (OCI shapes; FOCUS exports name them in ResourceType or the SKU)
    "BM.GPU.H100.8": ("H100", 8),
    "BM.GPU.H200.8": ("H200", 8),
    "BM.GPU.A100-v2.8": ("A100-80GB", 8),
    "BM.GPU4.8": ("A100-40GB", 8),
    "BM.GPU.L40S.4": ("L40S", 4),
    "BM.GPU.A10.4": ("A10", 4),
    "VM.GPU.A10.1": ("A10", 1),
    "VM.GPU.A10.2": ("A10", 2),
    "BM.GPU.MI300X.8": ("MI300X", 8),
    "BM.GPU3.8": ("V100", 8),
    **{f"VM.GPU3.{n}": ("V100", n) for n in (1, 2, 4)},
}

CATALOG: dict[str, GpuShape] = {
    key.lower(): GpuShape(key, model, count) for key, (model, count) in _CATALOG.items()
}
# Azure price sheets and descriptions often drop the "Standard_" prefix.
CATALOG.update({key.removeprefix("standard_"): shape for key, shape in list(CATALOG.items())})

# Longest first, so "p5en.48xlarge" wins over "p5.48xlarge"-like prefixes; not inside a longer
# token (so "xg5.xlarge" or "g5.xlarge2" never match).
_PATTERN = re.compile(
    r"(?<![A-Za-z0-9.-])("
    + "|".join(re.escape(k) for k in sorted(CATALOG, key=len, reverse=True))
    + r")(?![A-Za-z0-9.-])",
    re.IGNORECASE,
)


def lookup(instance_type: str) -> GpuShape | None:
    return CATALOG.get(instance_type.strip().lower())


def find_instance_type(text: str) -> GpuShape | None:
    """The first catalogued instance type named in `text`, if any.

    Azure's price sheets write "ND96isr H100 v5" with spaces, so spaces also count as the
    underscores of the API name.
    """
    for candidate in (text, text.replace(" ", "_")):
        match = _PATTERN.search(candidate)
        if match:
            return CATALOG[match.group(1).lower()]
    return None
