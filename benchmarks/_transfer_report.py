"""Reports of ``bench_transfer.py``: Markdown tables, SUMMARY lines, the
figure, and the merging of runs made one network per process."""

import contextlib
import json
from pathlib import Path

import numpy as np
from _common import paired as paired_diff


def paired(acc, method, f):
    """Mean and std over seeds of ``method`` minus random, in points."""
    d = paired_diff(acc[method][f], acc["random"][f])
    return d.mean, d.std


def table(acc, counts, title):
    fr = sorted(next(iter(acc.values())).keys())
    lines = [
        f"#### {title}",
        "",
        "Accuracy (%) of random, then paired difference to random in points "
        "(mean ± std over seeds). Kept counts in the header.",
        "",
        "| method | " + " | ".join(f"{f:.0%} (n={counts[f]})" for f in fr) + " |",
        "|---|" + "---|" * len(fr),
    ]
    r = acc["random"]
    lines.append(
        "| random (accuracy) | "
        + " | ".join(
            f"{100 * np.mean(r[f]):.1f} ± {100 * np.std(r[f], ddof=1):.1f}" for f in fr
        )
        + " |"
    )
    for method in acc:
        if method == "random":
            continue
        cells = []
        for f in fr:
            m, s = paired(acc, method, f)
            cells.append(f"{m:+.1f} ± {s:.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def report(results, run):
    lines = [
        "# bench_transfer: DLC + FlexRand on pre-trained networks",
        "",
        f"- command: `{run['command']}`",
        f"- machine: {run['machine']}",
        f"- date: {run['date']}; wall time {run['wall_s'] / 60:.1f} min",
        "",
    ]
    for res in results:
        name, cfg, d = res["network"], res["config"], res["diagnostics"]
        lines += [
            f"## {name}",
            "",
            f"pool {res['n_pool']}, test {res['n_test']}, {res['seeds']} seeds; "
            f"config `{json.dumps(cfg)}`",
            "",
            f"- probe on the whole pool: {100 * d['full_pool_probe_accuracy']:.1f}%"
            + (
                f"; fine-tuned on the whole pool: "
                f"{100 * d['full_pool_finetune_accuracy']:.1f}%"
                if d["full_pool_finetune_accuracy"] is not None
                else ""
            ),
            f"- one fine-tuning epoch on the pool: {res['epoch_s']:.1f} s; dense "
            f"forward pass: {res['dense_pass_s']:.1f} s",
            f"- DLC scores: mean {d['dlc_mean']:.3f}, std {d['dlc_std']:.3f} "
            f"(ln C = {d['ln_n_classes']:.3f}); mean loss per subnet "
            + ", ".join(
                f"{s:.2f}:{v:.2f}"
                for s, v in zip(d["sparsities"], d["per_subnet_mean"])
            )
            + " (sparsity:loss)",
            f"- nearest-class-mean accuracy of the dense features on the pool: "
            f"{100 * d['pool_nearest_mean_accuracy']:.1f}%",
            "- classes kept at a single sample: "
            + ", ".join(
                f"{float(f):.0%}: {n}" for f, n in d["classes_at_one_sample"].items()
            ),
            "- CV-chosen split per kept fraction (per seed): "
            + "; ".join(
                f"{float(f):.0%}: {v}" for f, v in d["cv_chosen_split"].items()
            ),
            "- kept per class (every class of the pool): "
            + ", ".join(
                f"{float(f):.0%}: {'/'.join(map(str, c))}"
                for f, c in d.get("kept_per_class", {}).items()
            ),
            "- recipe's tilt per kept fraction (per seed; 0 = fell back to "
            f"stratified random, {100 * fallback_rate(res):.0f}% of the "
            "choices): "
            + "; ".join(
                f"{float(f):.0%}: {v}" for f, v in d.get("recipe_tilt", {}).items()
            ),
            f"- DLC n_subnets='auto': {d.get('auto_passes')} passes",
            "",
            "| score | Spearman vs loss integral | cost (s) "
            "| cost (fine-tuning epochs) |",
            "|---|---|---|---|",
        ]
        for k, rho in res["spearman_vs_loss_integral"].items():
            lines.append(
                f"| {k} | {rho:.3f} | {res['cost_s'][k]:.1f} | "
                f"{res['cost_epochs'][k]:.2f} |"
            )
        counts = {float(f): c for f, c in d["kept_counts"].items()}
        lines += [""] + table(res["probe"], counts, "Linear probe") + [""]
        if res["finetune"]:
            lines += table(res["finetune"], counts, "Fine-tuning") + [""]
    return lines


def fallback_rate(res):
    """Fraction of the recipe's choices that are stratified random (tilt 0)."""
    tilts = [t for v in res["diagnostics"].get("recipe_tilt", {}).values() for t in v]
    return float(np.mean([t == 0 for t in tilts])) if tilts else float("nan")


def summary(res):
    def diff(method, f):
        if f not in res["probe"].get(method, {}):
            return float("nan")
        return paired(res["probe"], method, f)[0]

    recipe = {f: diff("DLC recipe", f) for f in (0.01, 0.02, 0.05, 0.10, 0.20)}
    recipe[0.50] = diff("DLC recipe", 0.50)
    every = [diff("DLC recipe", f) for f in sorted(res["probe"].get("random", {}))]
    cost = res["cost_epochs"]
    return (
        f"SUMMARY network={res['network']} "
        + " ".join(
            f"recipe_minus_random_keep{round(100 * f)}={v:.2f}"
            for f, v in recipe.items()
        )
        + f" adaptive_minus_random_keep1={diff('DLC adaptive', 0.01):.2f}"
        f" adaptive_minus_random_keep10={diff('DLC adaptive', 0.10):.2f}"
        f" min_over_budgets={min(every):.2f}"
        f" mean_keep1to10={np.mean([recipe[f] for f in (0.01, 0.02, 0.05, 0.1)]):.2f}"
        f" flex_minus_random_keep10={diff('DLC flex cv', 0.10):.2f}"
        f" flex_minus_random_keep5={diff('DLC flex cv', 0.05):.2f}"
        f" spearman_vs_loss_integral={res['spearman_vs_loss_integral']['DLC']:.3f}"
        f" dlc_cost_epochs={cost['DLC']:.2f}"
        f" dlc_auto_cost_epochs={cost.get('DLC auto', float('nan')):.2f}"
        f" recipe_fallback_rate={fallback_rate(res):.2f}"
    )


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(r, "probe") for r in results] + [
        (r, "finetune") for r in results if r["finetune"]
    ]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5 * len(panels), 4), squeeze=False
    )
    shown = (
        "DLC recipe",
        "DLC adaptive",
        "DLC CCS",
        "DLC flex cv",
        "DLC flex 0.3",
        "DLC hard",
        "DLC easy",
        "permuted DLC flex 0.3",
        "loss integral flex 0.3",
        "EL2N hard",
    )
    colors = dict(zip(shown, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (res, protocol) in zip(axes[0], panels):
        acc = res[protocol]
        for method in shown:
            if method not in acc:
                continue
            fr = sorted(acc[method])
            d = [paired(acc, method, f) for f in fr]
            ax.errorbar(
                [100 * f for f in fr],
                [m for m, _ in d],
                yerr=[s for _, s in d],
                label=method,
                color=colors[method],
                capsize=2,
                marker="o",
                ms=3,
            )
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ticks = sorted(acc["random"])
        ax.set_xticks([100 * f for f in ticks], [f"{100 * f:g}" for f in ticks])
        ax.minorticks_off()
        ax.set_xlabel("kept fraction of every class (%)")
        ax.set_ylabel("accuracy minus random (points)")
        ax.set_title(f"{res['network']}, {protocol}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _fractions_as_float(obj):
    """JSON turns the float keys (kept fractions) into str; turn them back."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            with contextlib.suppress(ValueError):
                k = float(k)
            out[k] = _fractions_as_float(v)
        return out
    if isinstance(obj, list):
        return [_fractions_as_float(v) for v in obj]
    return obj


def combine(paths, out, stem):
    runs, results = [], []
    for path in paths:
        data = json.loads(Path(path).read_text())
        runs.append(data["run"])
        results += [_fractions_as_float(r) for r in data["results"]]
    run = dict(
        command=" ; ".join(
            f"{r['command']} [started {r['date']}, {r['wall_s'] / 60:.1f} min]"
            for r in runs
        )
        + " (one process per network; merged with --combine)",
        machine=runs[0]["machine"],
        date=runs[0]["date"],
        wall_s=max(r["wall_s"] for r in runs),
    )
    (out / f"{stem}.json").write_text(
        json.dumps({"run": run, "results": results}, indent=1, default=float)
    )
    (out / f"{stem}.md").write_text("\n".join(report(results, run)) + "\n")
    plot(results, out / f"{stem}.png")
    for res in results:
        print(summary(res))
