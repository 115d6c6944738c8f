#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench's report: the tables (stdout and bench.md) and a chart
(bench.png, gnuplot) from one run's measurements in OUTDIR: the BENCH
lines of the host and VM runs (host.txt, vm.txt), llama-bench's JSON per
model (llamacpp-MODEL.json) and one core's memory read speed
(memread.json).  Nothing here is typed in: every number is measured by
the run that writes the table.

usage: bench_table.py OUTDIR
"""
import glob
import json
import os
import subprocess
import sys

# Each inpu scheme and the llama.cpp types it is compared with: the same
# bits first (the ratio columns), then the other 4-bit type users pick.
PAIRS = {"w8a8": ["q8_0"], "w4a8": ["q4_0", "q4_k_m"]}


def bench_lines(path):
    runs = {}
    if not os.path.exists(path):
        return runs
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("BENCH "):
                continue
            _, name, mode, js = line.rstrip("\n").split(" ", 3)
            try:
                j = json.loads(js)
            except json.JSONDecodeError:
                continue
            # Repeated runs: the best of each speed (the host is shared
            # and noisy; the best run is the least disturbed one).
            old = runs.get((name, mode))
            if old:
                for k in ("gen_tok_s", "prompt_tok_s"):
                    j[k] = max(j.get(k, 0.0), old.get(k, 0.0))
            runs[(name, mode)] = j
    return runs


def llamacpp_runs(outdir):
    """(model, type) -> {"pp": {n_prompt: tok/s}, "tg": tok/s, "tg_n": n},
    the best over the passes' llamacpp-PASS-MODEL.json files"""
    res = {}
    for path in sorted(glob.glob(os.path.join(outdir, "llamacpp-*.json"))):
        with open(path, encoding="utf-8") as f:
            for t in json.load(f):
                # .../MODEL-TYPE.gguf; the types have no '-'
                fn = os.path.basename(t["model_filename"])[:-len(".gguf")]
                model, typ = fn.rsplit("-", 1)
                r = res.setdefault((model, typ), {"pp": {}, "tg": 0.0,
                                                  "tg_n": 0})
                # the best repetition, as for inpu's runs
                ts = max(t.get("samples_ts") or [t["avg_ts"]])
                if t["n_gen"] > 0:
                    r["tg"], r["tg_n"] = max(r["tg"], ts), t["n_gen"]
                else:
                    n = t["n_prompt"]
                    r["pp"][n] = max(r["pp"].get(n, 0.0), ts)
    return res


def llc_mib():
    """The last-level cache of this CPU in MiB (sysfs), or 0."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size",
                  encoding="utf-8") as f:
            v = f.read().strip()
        return int(v[:-1]) / 1024 if v.endswith("K") else int(v) / 1048576
    except (OSError, ValueError):
        return 0


def memread_best(outdir):
    best = 0.0
    for path in glob.glob(os.path.join(outdir, "memread*.json")):
        try:
            with open(path, encoding="utf-8") as f:
                best = max(best, json.load(f)["read_gb_s"])
        except (OSError, ValueError, KeyError):
            pass
    return best


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def main():
    outdir = sys.argv[1]
    runs = bench_lines(os.path.join(outdir, "host.txt"))
    runs.update(bench_lines(os.path.join(outdir, "vm.txt")))
    lc = llamacpp_runs(outdir)
    gbs = memread_best(outdir)
    names = []
    with open(os.path.join(outdir, "models", "list"), encoding="utf-8") as f:
        names = [line.split()[0] for line in f if line.strip()]

    head = ("| model | device decode tok/s (VM) | llama.cpp | llama.cpp decode "
            "tok/s | decode ratio | device prompt tok/s (VM) | llama.cpp "
            "prompt tok/s, same length | prompt ratio | llama.cpp pp256 "
            "| bytes/token | ceiling tok/s | device % of ceiling |")
    rows = [head, "|" + "---|" * 12]
    detail = ["| model | token latency p50 / p99 us (VM, 1 step/job) "
              "| cpu backend decode tok/s (host) | cycle model us/token |",
              "|---|---|---|---|"]
    plot = []
    for name in names:
        model, scheme = name.rsplit("-", 1)
        thr = runs.get((name, "throughput"), {})
        lat = runs.get((name, "latency"), {})
        cpu = runs.get((name, "cpu"), {})
        dev, dev_pp = thr.get("gen_tok_s", 0.0), thr.get("prompt_tok_s", 0.0)
        npp = cpu.get("prompt_tokens", 0)
        bpt = cpu.get("gen_bytes_per_token", 0.0)
        ceil = gbs * 1e9 / bpt if bpt and gbs else 0.0
        first = True
        for typ in PAIRS.get(scheme, []):
            a = lc.get((model, typ), {"pp": {}, "tg": 0.0})
            a_pp = a["pp"].get(npp, 0.0)
            rows.append("| %s | %s | %s | %.0f | %s | %s | %.0f (%d) | %s | %.0f "
                        "| %s | %s | %s |" % (
                            name if first else "", "%.0f" % dev if first else "",
                            typ.upper(), a["tg"], ratio(dev, a["tg"]),
                            "%.0f" % dev_pp if first else "", a_pp, npp,
                            ratio(dev_pp, a_pp), a["pp"].get(256, 0.0),
                            "%.0f" % bpt if first else "",
                            "%.0f" % ceil if first and ceil else "",
                            "%.0f%%" % (100 * dev / ceil) if first and ceil else ""))
            if first:
                plot.append((name, dev, a["tg"], ceil))
            first = False
        cyc_us = cpu.get("gen_cycles_per_token",
                         cpu.get("cycles_per_token", 0.0)) / 1e3
        detail.append("| %s | %.0f / %.0f | %.0f | %.1f |" % (
            name, lat.get("token_us_p50", 0.0), lat.get("token_us_p99", 0.0),
            cpu.get("gen_tok_s", 0.0), cyc_us))

    gen = next(iter(runs.values()), {}).get("generated_tokens", "?")
    notes = [
        "",
        "Same run: inpu and llama.cpp on the same checkpoints, this machine, "
        "one after the other. Decode: %s generated tokens after the prompt "
        "(the first 100 characters of tinystories-dev.txt), greedy, "
        "`--ignore-eos`. Device: `inpu run` in the TCG VM through "
        "/dev/accel, steps chained on the device (8 per job, 32 in flight), "
        "best of 3 runs; "
        "the prompt is prefilled in batches of up to 128 tokens per job "
        "(matrix-matrix ops; their command buffers are made before the "
        "prompt is timed, as llama-bench times after a warm-up). "
        "llama.cpp: built from ../shared/anchors, "
        "llama-bench, one thread, native, best of 3 repetitions in each of two "
        "passes, one before the VM runs and one after: decode of as many "
        "tokens from an empty context, prompt at the length inpu's "
        "tokenizer gave (in brackets) and at 256; the GGUF files are "
        "converted from the same llama2.c checkpoints by llama.cpp's "
        "tools (stories260K with its FFN zero-padded to 192, the same "
        "function). W4A8 here: 4-bit codes in every block layer (4.5 "
        "bits per weight, as Q4_0), no 8-bit layers. stories15M and "
        "stories110M are random models in those shapes." % gen,
        "",
        "Ceiling: one core reads memory at %.1f GB/s (tests/bench/memread.c, "
        "best of 8 passes over 512 MiB, before and after the VM runs); a decoded token reads at least "
        "the bytes/token the cycle model counts for the stream (weights, "
        "the filled KV cache, activations), so no decoder on one core "
        "beats bandwidth / bytes. Models whose bytes per token fit in the "
        "last-level cache (%.0f MiB on this CPU: stories260K, most of "
        "stories15M) are not bound by it and can pass 100%%." % (gbs, llc_mib()),
        "",
    ]
    text = "\n".join(rows + notes + detail) + "\n\n" + (
        "Latency: one step per job, submit to token on the host. cpu "
        "backend: the same integer stream through the engine library on "
        "this host, best of 3. Cycle model: modelled device cycles per generated "
        "token at 1 GHz (engine/ISA.md's cost model, 32 x 32 array).\n")
    sys.stdout.write(text)
    with open(os.path.join(outdir, "bench.md"), "w", encoding="utf-8") as f:
        f.write("# inpu bench\n\n" + text)
    chart(outdir, plot)


def chart(outdir, plot):
    data = os.path.join(outdir, "bench.dat")
    with open(data, "w", encoding="utf-8") as f:
        f.write("model device-in-VM llama.cpp memory-ceiling\n")
        for p in plot:
            f.write("%s %.1f %.1f %.1f\n" % p)
    png = os.path.join(outdir, "bench.png")
    script = f"""
set terminal png size 1100,600 noenhanced
set output '{png}'
set title 'decode tokens/s, one run (log scale); llama.cpp: Q8_0 for W8A8, Q4_0 for W4A8'
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set logscale y
set yrange [10:*]
set xtics rotate by -20
set key top right
plot '{data}' using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), \\
     '' using 4 title columnheader(4)
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print("chart: " + png)
    except (OSError, subprocess.CalledProcessError) as e:
        print("no chart (gnuplot: %s)" % e)
    print("table: " + os.path.join(outdir, "bench.md"))


if __name__ == "__main__":
    main()
