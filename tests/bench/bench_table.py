#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench's report: one table (stdout and bench.md) and a chart
(bench.png, gnuplot) from the BENCH lines of the host and VM runs.

usage: bench_table.py ANCHORS HOST.txt VM.txt OUTDIR
"""
import json
import os
import subprocess
import sys


def bench_lines(path):
    runs = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            _, name, mode, js = line.rstrip("\n").split(" ", 3)
            try:
                runs[(name, mode)] = json.loads(js)
            except json.JSONDecodeError:
                pass
    return runs


def main():
    anchors_path, host_path, vm_path, outdir = sys.argv[1:5]
    anchors = {}
    with open(anchors_path, encoding="utf-8") as f:
        for line in f:
            name, dec, pp = line.split()
            anchors[name] = (float(dec), float(pp))
    runs = bench_lines(host_path)
    runs.update(bench_lines(vm_path))

    head = ("| model | device decode tok/s (VM) | device prompt tok/s (VM) "
            "| token latency p50 / p99 us (VM, 1 step/job) "
            "| cpu backend decode tok/s (host) | cycle model us/token "
            "| llama.cpp decode tok/s | device / llama.cpp |")
    rows = [head, "|" + "---|" * 8]
    plot = []
    for name, (dec, _pp) in anchors.items():
        thr = runs.get((name, "throughput"), {})
        lat = runs.get((name, "latency"), {})
        cpu = runs.get((name, "cpu"), {})
        dev = thr.get("gen_tok_s", 0.0)
        cyc_us = cpu.get("gen_cycles_per_token",
                         cpu.get("cycles_per_token", 0.0)) / 1e3
        rows.append("| %s | %.0f | %.0f | %.0f / %.0f | %.0f | %.1f | %.0f | %.2f |" % (
            name, dev, thr.get("prompt_tok_s", 0.0),
            lat.get("token_us_p50", 0.0), lat.get("token_us_p99", 0.0),
            cpu.get("gen_tok_s", 0.0), cyc_us, dec, dev / dec if dec else 0))
        plot.append((name, dev, cpu.get("gen_tok_s", 0.0),
                     1e6 / cyc_us if cyc_us else 0.0, dec))

    notes = [
        "",
        "Decode: %s generated tokens after the prompt (the first 100 characters "
        "of tinystories-dev.txt), greedy, `--ignore-eos`. Device: `inpu run` "
        "in the TCG VM through /dev/accel, steps chained on the device (8 per "
        "job, 32 in flight); the prompt is prefilled in batches of up to 32 "
        "tokens per job (matrix-matrix ops). Latency: one step per job, submit to token on the host. "
        "cpu backend: the same integer stream through the engine library on "
        "this host. Cycle model: modelled device cycles per generated token "
        "at 1 GHz (engine/ISA.md's cost model, 32 x 32 array). "
        "llama.cpp: Q8_0 for W8A8, Q4_0 for W4A8 (llama-bench, one thread, "
        "native). stories15M and stories110M are random models in those "
        "shapes." % next(iter(runs.values()), {}).get("generated_tokens", "?"),
        "",
        "Where the time of one token goes (latency runs, us): " + "; ".join(
            "%s submit %.0f, wait %.0f, device busy %.0f" % (
                n, runs.get((n, "latency"), {}).get("submit_us", 0),
                runs.get((n, "latency"), {}).get("wait_us", 0),
                runs.get((n, "latency"), {}).get("device_busy_us", 0))
            for n in anchors),
    ]
    text = "\n".join(rows + notes) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(outdir, "bench.md"), "w", encoding="utf-8") as f:
        f.write("# inpu bench\n\n" + text)

    data = os.path.join(outdir, "bench.dat")
    with open(data, "w", encoding="utf-8") as f:
        f.write("model device-in-VM cpu-backend-host cycle-model llama.cpp\n")
        for p in plot:
            f.write("%s %.1f %.1f %.1f %.1f\n" % p)
    png = os.path.join(outdir, "bench.png")
    script = f"""
set terminal png size 1100,600 noenhanced
set output '{png}'
set title 'decode tokens/s (log scale)'
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set logscale y
set yrange [10:*]
set xtics rotate by -20
set key top right
plot '{data}' using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), \\
     '' using 4 title columnheader(4), '' using 5 title columnheader(5)
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print("chart: " + png)
    except (OSError, subprocess.CalledProcessError) as e:
        print("no chart (gnuplot: %s)" % e)
    print("table: " + os.path.join(outdir, "bench.md"))


if __name__ == "__main__":
    main()
