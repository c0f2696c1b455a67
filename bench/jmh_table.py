"""Markdown table from a JMH JSON result of MiniLmBenchmark: per-step latency and explanations/s.

Usage: python3 bench/jmh_table.py RESULT.json [DEVICE-NAME]
Each measured call is one explanation of `batch` texts; per-step latency = call time / steps.
"""
import json
import statistics
import sys


def main():
    runs = json.load(open(sys.argv[1]))
    device = sys.argv[2] if len(sys.argv) > 2 else "?"
    print(f"MiniLM-shaped classifier, device: {device}")
    print()
    print("| batch | pieces | steps | samples | precision | ms/step median | ms/step min-max | explanations/s |")
    print("|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in runs:
        p = r["params"]
        raw = [x for fork in r["primaryMetric"]["rawData"] for x in fork]  # ms per call
        steps, batch = int(p["steps"]), int(p["batch"])
        med = statistics.median(raw)
        print(f"| {batch} | {p['length']} | {steps} | {p['samples']} | {p['precision']} | {med / steps:.3f} "
              f"| {min(raw) / steps:.3f}-{max(raw) / steps:.3f} | {batch * 1000.0 / med:.2f} |")


if __name__ == "__main__":
    main()
