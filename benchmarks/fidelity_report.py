"""The fidelity table from saved runs: seeds merged, the criterion checked, a rank test.

`fidelity.py --save FILE` writes every seed's results; this script merges any number
of such files (runs of different seeds or configurations) and prints, per
configuration and run, the median and worst test MSE (and accuracy) over the seeds,
then the issue's criterion for keras_rpn against tinyBIG on the seeds both have:

* median ratio: keras_rpn's median test MSE over tinyBIG's (at most 1 to pass);
* worst ratio: keras_rpn's worst over tinyBIG's worst (at most 3 to pass);
* p: the two-sided Mann-Whitney U test of "both libraries' test MSE over the seeds
  come from one distribution" (scipy). A small p (say below 0.05) says one library
  trains better than the other; a large p says the seeds cannot tell them apart.

    python benchmarks/fidelity_report.py run1.json run2.json [--seeds 0-4]
"""

import argparse
import json
import statistics

PASS_MEDIAN, PASS_WORST = 1.0, 3.0


def merge(paths):
    """`{configuration: {run: {seed: result}}}` of every file; a seed seen twice must agree."""
    merged = {}
    for path in paths:
        with open(path) as f:
            for name, runs in json.load(f).items():
                for run, seeds in runs.items():
                    into = merged.setdefault(name, {}).setdefault(run, {})
                    for seed, result in seeds.items():
                        seed = int(seed)
                        old = into.get(seed)
                        if old is not None and old["test_mse"] != result["test_mse"]:
                            raise ValueError(
                                f"{path}: {name} {run} seed {seed} has test MSE "
                                f"{result['test_mse']}, another file {old['test_mse']}"
                            )
                        into[seed] = result
    return merged


def seed_range(text):
    """`"0-4"` or `"0,3,7"` as a set of integers."""
    out = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def summary(rows):
    mse = [r["test_mse"] for r in rows]
    acc = [r["test_accuracy"] for r in rows if r.get("test_accuracy") is not None]
    return {
        "parameters": rows[0]["parameters"],
        "median": statistics.median(mse),
        "worst": max(mse),
        "accuracy": f"{statistics.median(acc):.4f} / {min(acc):.4f}" if acc else "-",
        "seconds": statistics.median(r["seconds"] for r in rows),
    }


def rank_test(ours, theirs):
    try:
        from scipy import stats
    except ImportError:
        return None
    return float(stats.mannwhitneyu(ours, theirs, alternative="two-sided").pvalue)


def report(merged, seeds=None):
    lines = [
        "| configuration | run | seeds | parameters | median test MSE | worst test MSE "
        "| median / worst accuracy | median train time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = [
        "| configuration | run against tinyBIG | seeds | median ratio (<= 1) | "
        "worst ratio (<= 3) | criterion | Mann-Whitney p |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in merged.items():
        chosen = {
            run: {s: r for s, r in by_seed.items() if seeds is None or s in seeds}
            for run, by_seed in runs.items()
        }
        order = sorted(chosen, key=lambda run: (run != "tinyBIG", run != "keras_rpn", run))
        for run in order:
            by_seed = chosen[run]
            if not by_seed:
                continue
            s = summary([by_seed[k] for k in sorted(by_seed)])
            lines.append(
                f"| {name} | {run} | {len(by_seed)} | {s['parameters']} | {s['median']:.3g} | "
                f"{s['worst']:.3g} | {s['accuracy']} | {s['seconds']:.1f} s |"
            )
        theirs = chosen.get("tinyBIG", {})
        for run in order[1:] if theirs else ():
            ours = chosen[run]
            common = sorted(set(ours) & set(theirs))
            if not common:
                continue
            a = [ours[k]["test_mse"] for k in common]
            b = [theirs[k]["test_mse"] for k in common]
            median_ratio = statistics.median(a) / statistics.median(b)
            worst_ratio = max(a) / max(b)
            met = median_ratio <= PASS_MEDIAN and worst_ratio <= PASS_WORST
            p = rank_test(a, b)
            verdicts.append(
                f"| {name} | {run} | {len(common)} | {median_ratio:.4f} | {worst_ratio:.2f} | "
                f"{'met' if met else 'missed'} | {'-' if p is None else f'{p:.2f}'} |"
            )
    return "\n".join(lines) + "\n\n" + "\n".join(verdicts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="JSON files written by fidelity.py --save")
    parser.add_argument("--seeds", type=seed_range, help='only these seeds, e.g. "0-4"')
    args = parser.parse_args()
    print(report(merge(args.results), args.seeds))


if __name__ == "__main__":
    main()
