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

``--compare=ray`` measures the Ray Tune engine instead: ``ray`` (``engine="ray"`` on a local Ray
instance, one CPU per trial) against ``parallel`` (the local engine, one thread per trial), ABBA;
the ratios are ray / local, and each sweep's peak resident memory per trial process (the
``softq_tf.train`` processes, or the Ray workers running trials) is recorded. The Ray instance
starts during the first ray sweep and stays up for the second, so that sweep's wall time holds
Ray's start-up and the second's does not.

    python -m benchmarks.sweep_speed [--steps=5000] [--quick] [--compare=parallel|ray]
        [--out=...sweep_speed.json]
"""
import os
import platform
import statistics
import tempfile
import threading
import time

from absl import app, flags

from softq_tf import sweep
from softq_tf.training.files import write_json_atomic
from softq_tf.training.progress import read_progress

flags.DEFINE_integer("steps", 5000, "Environment steps per trial.")
flags.DEFINE_bool("quick", False, "A smoke run: two trials of 300 steps, one round (A, B).")
flags.DEFINE_enum("compare", "parallel", ("parallel", "ray"), "parallel: side by side against "
                  "one after another (local engine); ray: the Ray engine against the local one.")
flags.DEFINE_string("out", None, "JSON file for the results (default: "
                    "benchmarks/results/sweep_speed.json, or sweep_ray.json with --compare=ray).")
FLAGS = flags.FLAGS

ENV_ID = "softq_tf/SwimmerFinish-v1"
SEEDS = (0, 1, 2, 3)
STANDARD = ("hidden_sizes=128,128", "batch_size=128", "kernel_particles=16", "value_particles=16")


class PeakMemory:
    """Polls, on a thread, the resident memory of the processes whose command line contains one
    of ``markers``, keeping each one's peak (MB)."""

    def __init__(self, markers, period_sec=0.5):
        self.markers, self.period_sec, self.peaks = markers, period_sec, {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._done.wait(self.period_sec):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        command = f.read().replace(b"\0", b" ").decode(errors="replace")
                    if not any(marker in command for marker in self.markers):
                        continue
                    with open(f"/proc/{pid}/status") as f:
                        rss_kb = next(int(line.split()[1]) for line in f
                                      if line.startswith("VmRSS:"))
                except (OSError, StopIteration):
                    continue  # gone meanwhile, or a kernel thread
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_kb / 1024)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join()


# The processes that train: the local engine's children, or Ray's workers running a trial.
TRIAL_PROCESSES = dict(parallel=("softq_tf.train",), sequential=("softq_tf.train",),
                       ray=("ray::ImplicitFunc", "ray::run_trial"))


def timed_sweep(mode, seeds, steps, min_pool, log_every):
    """Runs one trial per seed in a fresh out_dir; returns the sweep's rates (see module doc)."""
    chosen = dict(parallel=1) if mode == "sequential" else {}  # else the sweep's defaults
    parallel, threads = sweep.resources_for(len(seeds), **chosen)  # what run_sweep will use
    with tempfile.TemporaryDirectory() as out_dir:
        trials = sweep.make_grid(out_dir, ("sql",), (ENV_ID,), seeds, steps, overrides=(
            *STANDARD, f"min_pool={min_pool}", f"log_every={log_every}"))
        start = time.monotonic()
        with PeakMemory(TRIAL_PROCESSES[mode]) as memory:
            results = sweep.run_with_engine("ray" if mode == "ray" else "local", trials, out_dir,
                                            threads_per_trial=threads, **chosen)
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
                trial_steps_per_sec=trial_rates,
                peak_trial_rss_mb=max(memory.peaks.values(), default=float("nan")))


def main(argv):
    del argv
    seeds, steps, min_pool, log_every = (
        (SEEDS[:2], 300, 100, 100) if FLAGS.quick else (SEEDS, FLAGS.steps, 250, 250))
    measured, baseline = ("ray", "parallel") if FLAGS.compare == "ray" else (
        "parallel", "sequential")
    order = (baseline, measured) if FLAGS.quick else (baseline, measured, measured, baseline)
    runs = []
    for mode in order:
        runs.append(timed_sweep(mode, seeds, steps, min_pool, log_every))
        print(f"{mode:>10}: {runs[-1]['wall_steps_per_sec']:.1f} steps/s wall clock "
              f"({runs[-1]['wall_sec']:.0f} s), {runs[-1]['steady_steps_per_sec']:.1f} steps/s "
              f"steady ({runs[-1]['parallel']} at once x {runs[-1]['threads_per_trial']} threads), "
              f"peak {runs[-1]['peak_trial_rss_mb']:.0f} MB per trial process")
    rounds = [runs[i:i + 2] for i in range(0, len(runs), 2)]
    ratios = {}
    for rate in ("wall_steps_per_sec", "steady_steps_per_sec"):
        per_round = [next(r[rate] for r in pair if r["mode"] == measured)
                     / next(r[rate] for r in pair if r["mode"] == baseline) for pair in rounds]
        ratios[rate] = dict(per_round=per_round, median=statistics.median(per_round))
    results = dict(
        machine=dict(cpus=os.cpu_count(), processor=platform.processor(),
                     uname=" ".join(os.uname())),
        env=ENV_ID, seeds=seeds, steps_per_trial=steps, overrides=STANDARD, min_pool=min_pool,
        log_every=log_every, quick=FLAGS.quick, runs=runs)
    results[f"{measured}_over_{baseline}"] = ratios
    target = " (target >= 1.4x)" if measured == "parallel" else ""
    if measured == "parallel":
        results["target"] = 1.4
    print(f"{measured} / {baseline}: {ratios['wall_steps_per_sec']['median']:.2f}x wall clock, "
          f"{ratios['steady_steps_per_sec']['median']:.2f}x steady{target}")
    out = FLAGS.out or ("benchmarks/results/sweep_ray.json" if measured == "ray"
                        else "benchmarks/results/sweep_speed.json")
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    write_json_atomic(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    app.run(main)
