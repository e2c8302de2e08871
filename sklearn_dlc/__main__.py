"""Command line of sklearn-dlc: ``python -m sklearn_dlc demo``."""

import argparse
import importlib.util
import sys

_DEFAULTS = {
    "rates": [0.5, 0.7, 0.9],
    "seeds": 3,
    "n_subnets": 50,
    "epochs": 10,
}
_QUICK = {
    "rates": [0.9],
    "seeds": 1,
    "n_subnets": 5,
    "epochs": 1,
}


def _rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid pruning rate {text!r}: expected a number in [0, 1)"
        ) from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"pruning rate must be in [0, 1) (the fraction removed), got {text}"
        )
    return value


def _split(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid split {text!r}: expected a number in (0, 1)"
        ) from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"split must be in (0, 1), got {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected an integer >= 1"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of ``python -m sklearn_dlc``.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    return _build_parsers()[0]


def _build_parsers():
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_dlc",
        description=(
            "sklearn-dlc: training-free downstream dataset pruning. DLC "
            "(Distorting-based Learning Complexity) scores every sample with "
            "masked copies of a pre-trained network, without training it; "
            "FlexRand keeps a random mix of easy and hard samples per class."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="prune UCI digits for an MNIST-pretrained CNN; compare with random",
        description=(
            "Score scikit-learn's UCI digits (80/20 stratified split) with "
            "DLCHardness and a small CNN pre-trained on MNIST digits that ships "
            "with the package, prune the training split with FlexRandSampler "
            "at each pruning rate, fine-tune the CNN on every subset and print "
            "its test accuracy next to random pruning at the same rates (same "
            "fine-tuning, same seeds), the full-data accuracy and the scoring "
            "time. Runs offline; about a minute on two CPU cores."
        ),
        epilog=(
            "Examples: python -m sklearn_dlc demo; "
            "python -m sklearn_dlc demo --rates 0.8 0.9 --seeds 5 --plot acc.png"
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
            f"(default: {' '.join(map(str, _DEFAULTS['rates']))})"
        ),
    )
    demo.add_argument(
        "--seeds",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "seeds 0..N-1 of the sampling and fine-tuning, per rate and method "
            f"(default: {_DEFAULTS['seeds']})"
        ),
    )
    demo.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        default="cpu",
        help="where to score and fine-tune; auto = cuda if available (default: cpu)",
    )
    demo.add_argument(
        "--split",
        type=_split,
        default=0.5,
        help=(
            "FlexRand easy/hard boundary in (0, 1): the easy pool holds this "
            "fraction of the easiest samples of each class; 0.5 draws half the kept "
            "samples from the easier half, half from the harder (default: 0.5)"
        ),
    )
    demo.add_argument(
        "--n-subnets",
        type=_positive_int,
        metavar="K",
        default=None,
        help=(
            "number of masked subnets DLC averages the loss over "
            f"(default: {_DEFAULTS['n_subnets']})"
        ),
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        default=None,
        help=(
            "epochs of the full-data fine-tuning; each subset gets the same "
            "number of gradient steps unless --fixed-epochs "
            f"(default: {_DEFAULTS['epochs']})"
        ),
    )
    demo.add_argument(
        "--fixed-epochs",
        action="store_true",
        help=(
            "fine-tune every subset for --epochs epochs instead of as many "
            "gradient steps as the full-data run"
        ),
    )
    demo.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help=(
            "save the figure of test accuracy vs pruning rate (error bars: std "
            "over seeds) to FILE, e.g. acc.png; needs matplotlib "
            "(pip install 'sklearn-dlc[demo]')"
        ),
    )
    demo.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        default=1,
        help=(
            "torch CPU threads; the CNN is tiny, so more threads mostly add "
            "synchronization overhead on busy cores (default: 1)"
        ),
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help=(
            "smoke-test settings (rate 0.9, 1 seed, 5 subnets, 1 epoch) for "
            "options not given explicitly; the numbers mean little"
        ),
    )
    demo.add_argument(
        "--no-progress", action="store_true", help="hide the progress bars"
    )
    return parser, demo


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
    parser, demo_parser = _build_parsers()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0

    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        demo_parser.error(
            "argument --plot: matplotlib is not installed; install it with "
            "pip install 'sklearn-dlc[demo]'"
        )
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        demo_parser.error("argument --device: cuda was requested but is not available")

    defaults = _QUICK if args.quick else _DEFAULTS
    settings = {
        name: default if getattr(args, name) is None else getattr(args, name)
        for name, default in defaults.items()
    }

    from ._demo import run_demo

    run_demo(
        rates=settings["rates"],
        seeds=settings["seeds"],
        device=args.device,
        split=args.split,
        n_subnets=settings["n_subnets"],
        epochs=settings["epochs"],
        match_steps=not args.fixed_epochs,
        plot=args.plot,
        n_threads=args.threads,
        progress=not args.no_progress,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
