"""Where a figure script's files go: the ``--out_dir`` flag, the picture and the numbers it writes,
and the closing line that tells the user where they went.

It imports no TensorFlow (nor anything that does), so the render scripts (fig2, fig4), which need
nothing else of the shared code, keep TensorFlow out of their process and can render there.
"""
import os

from absl import flags

from softq_tf.running.cli import plot_hint
from softq_tf.training.files import write_json_atomic

flags.DEFINE_string("out_dir", None, "Output folder for the figure (png, pdf, json) and, for the "
                    "figures that train, runs/ (default: out/<figure>; fig6 and fig7 use out/fig3 "
                    "and out/fig5, whose runs they share).")
FLAGS = flags.FLAGS


def out_dir(figure):
    """The output folder from --out_dir, defaulting to ``out/<figure>``."""
    return FLAGS.out_dir or os.path.join("out", figure)


def save_figure(fig, root, figure):
    """Writes ``root/<figure>.png`` and ``.pdf``."""
    os.makedirs(root, exist_ok=True)
    for ext in ("png", "pdf"):
        fig.savefig(os.path.join(root, f"{figure}.{ext}"), dpi=120, bbox_inches="tight")


def save_results(results, root, figure):
    """Writes the numbers behind the figure to ``root/<figure>.json`` (atomically)."""
    os.makedirs(root, exist_ok=True)
    write_json_atomic(os.path.join(root, f"{figure}.json"), results)


def outputs_line(root, figure):
    """One line naming the figure's files that exist in ``root`` and, if there is one, its
    ``runs/`` folder of training runs and how to watch them in TensorBoard and plot their
    learning curves."""
    written = [f"{figure}.{ext}" for ext in ("png", "pdf", "json")
               if os.path.exists(os.path.join(root, f"{figure}.{ext}"))]
    line = f"outputs in {root}: {', '.join(written) or 'none'}"
    runs = os.path.join(root, "runs")
    if os.path.isdir(runs):
        line += (f"; its training runs in {runs}/ (each: progress.csv, tensorboard/, policy/); "
                 f"watch with: tensorboard --logdir {runs}; {plot_hint(root)}")
    return line
