"""Aggregate training throughput of a sweep: trials side by side against one after another.

Four SQL trials (seeds 0-3) on SwimmerFinish-v1 at the standard config (2x128, batch 128,
K = K_V = 16; ``min_pool`` 250 so most steps update), run by :func:`softq_tf.sweep.run_sweep`
in two ways, measured in one run in fresh temporary out_dirs, alternating ABBA over two rounds
(the machine is shared and its speed drifts):

- ``parallel``: the sweep's default (one trial per core, each with its share of the threads);
- ``sequential``: ``parallel=1`` with every core's threads for the one trial.

Two rates per sweep: ``wall_steps_per_sec`` = all trials' env steps / the sweep's wall time
(start-up, compiles and exports included: what the user waits for), and ``steady_steps_per_sec``
= trials at once x the mean over trials of the median of their own ``progress.csv``
``steps_per_sec`` after warm-up (start-up costs excluded; it assumes the trials running together
overlap, true for equal trials). The ratios parallel / sequential (median over rounds) are
printed and written with everything else to ``--out``. Target: >= 1.4x on 2 cores. ``--quick``
(two trials of 300 steps, one round) only proves the script works: start-up dominates there.

    python -m benchmarks.sweep_speed [--steps=5000] [--quick] [--out=...sweep_speed.json]
"""
import os
import platform
import statistics
import tempfile
import time

from absl import app, flags

from softq_tf import sweep
from softq_tf.files import write_json_atomic
from softq_tf.progress import read_progress

flags.DEFINE_integer("steps", 5000, "Environment steps per trial.")
flags.DEFINE_bool("quick", False, "A smoke run: two trials of 300 steps, one round (A, B).")
flags.DEFINE_string("out", "benchmarks/results/sweep_speed.json", "JSON file for the results.")
FLAGS = flags.FLAGS

ENV_ID = "softq_tf/SwimmerFinish-v1"
SEEDS = (0, 1, 2, 3)
STANDARD = ("hidden_sizes=128,128", "batch_size=128", "kernel_particles=16", "value_particles=16")


def timed_sweep(mode, seeds, steps, min_pool, log_every):
    """Runs one trial per seed in a fresh out_dir; returns the sweep's rates (see module doc)."""
    chosen = dict(parallel=1) if mode == "sequential" else {}  # else the sweep's defaults
    parallel, threads = sweep.resources_for(len(seeds), **chosen)  # what run_sweep will use
    with tempfile.TemporaryDirectory() as out_dir:
        trials = sweep.make_grid(out_dir, ("sql",), (ENV_ID,), seeds, steps, overrides=(
            *STANDARD, f"min_pool={min_pool}", f"log_every={log_every}"))
        start = time.monotonic()
        results = sweep.run_sweep(trials, **chosen)
        wall_sec = time.monotonic() - start
        failed = [f"{r.trial.logdir}: {r.error}" for r in results if r.status != "finished"]
        if failed:
            raise RuntimeError(f"{mode} sweep: trials did not finish: {'; '.join(failed)}")
        # The first interval after warm-up holds the update's compile: skip it too.
        trial_rates = []
        for trial in trials:
            progress = read_progress(trial.logdir)
            trial_rates.append(statistics.median(
                rate for step, rate in zip(progress["step"], progress["steps_per_sec"])
                if step > min_pool + log_every))
    return dict(mode=mode, parallel=parallel, threads_per_trial=threads, wall_sec=wall_sec,
                wall_steps_per_sec=len(trials) * steps / wall_sec,
                steady_steps_per_sec=parallel * statistics.mean(trial_rates),
                trial_steps_per_sec=trial_rates)


def main(argv):
    del argv
    seeds, steps, min_pool, log_every = (
        (SEEDS[:2], 300, 100, 100) if FLAGS.quick else (SEEDS, FLAGS.steps, 250, 250))
    order = ("sequential", "parallel") if FLAGS.quick else (
        "sequential", "parallel", "parallel", "sequential")
    runs = []
    for mode in order:
        runs.append(timed_sweep(mode, seeds, steps, min_pool, log_every))
        print(f"{mode:>10}: {runs[-1]['wall_steps_per_sec']:.1f} steps/s wall clock "
              f"({runs[-1]['wall_sec']:.0f} s), {runs[-1]['steady_steps_per_sec']:.1f} steps/s "
              f"steady ({runs[-1]['parallel']} at once x {runs[-1]['threads_per_trial']} threads)")
    rounds = [runs[i:i + 2] for i in range(0, len(runs), 2)]
    ratios = {}
    for rate in ("wall_steps_per_sec", "steady_steps_per_sec"):
        per_round = [next(r[rate] for r in pair if r["mode"] == "parallel")
                     / next(r[rate] for r in pair if r["mode"] == "sequential") for pair in rounds]
        ratios[rate] = dict(per_round=per_round, median=statistics.median(per_round))
    results = dict(
        machine=dict(cpus=os.cpu_count(), processor=platform.processor(),
                     uname=" ".join(os.uname())),
        env=ENV_ID, seeds=seeds, steps_per_trial=steps, overrides=STANDARD, min_pool=min_pool,
        log_every=log_every, quick=FLAGS.quick, runs=runs,
        parallel_over_sequential=ratios, target=1.4)
    print(f"parallel / sequential: {ratios['wall_steps_per_sec']['median']:.2f}x wall clock, "
          f"{ratios['steady_steps_per_sec']['median']:.2f}x steady (target >= 1.4x)")
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    write_json_atomic(FLAGS.out, results)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main)
