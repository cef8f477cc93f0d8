"""Rebuilds the README's gallery: each figure's picture at a profile (quick by default), shrunk to
at most 900 pixels wide (narrower if needed) and under 300 KB, as ``docs/images/<figure>.png``.

    python -m paper_repro.gallery [--figures=fig1,fig2,fig4,compose] [--profile=quick] [--plot_only]
        [--out_root=out]

Each figure is rebuilt by its own script (``python -m paper_repro.<figure> --profile=...`` into
``<out_root>/<figure>``, the scripts' default folder with ``--out_root=out``; fig6 and fig7 use
fig3's and fig5's), reusing finished runs, so the gallery shows what the scripts
write, never a picture made apart from its numbers. Figures whose runs take hours (fig3, fig5, ...)
are listed explicitly; ``--plot_only`` redraws from finished runs without training. A figure whose
script fails is reported and skipped; the exit code is then 1.
"""
import os
import subprocess
import sys

from absl import app, flags
from PIL import Image  # matplotlib's own image library

from softq_tf.running import cli

# Figure -> the folder its script writes by default (fig6 and fig7 share fig3's and fig5's).
FOLDERS = dict(fig1="fig1", fig2="fig2", fig3="fig3", fig4="fig4", fig5="fig5", fig6="fig3",
               fig7="fig5", compose="compose")
TRAINS_NOTHING = ("fig2", "fig4")  # renders: no --profile
MAX_WIDTH_PX, MAX_BYTES = 900, 300_000
IMAGES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                      "images")

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags, defined only when it runs: the figure scripts' shared module defines
    flags of the same names (--profile, --plot_only) and may be imported beside this one."""
    flags.DEFINE_list("figures", ["fig1", "fig2", "fig4", "compose"], "Figures to rebuild, "
                      "from: " + ", ".join(FOLDERS) + ".")
    flags.DEFINE_string("profile", "quick", "The figure scripts' --profile.")
    flags.DEFINE_bool("plot_only", False, "Pass --plot_only: redraw from finished runs, never "
                      "train.")
    flags.DEFINE_string("out_root", "out", "The figure scripts' --out_dir is <out_root>/<folder> "
                        "(fig3 and fig6: fig3, fig5 and fig7: fig5): where their runs are.")


def shrink(source, target):
    """Writes the PNG ``source`` to ``target`` at most :data:`MAX_WIDTH_PX` wide, narrower in
    steps of 20% until it is under :data:`MAX_BYTES` (renders compress worse than plots); returns
    its size in bytes."""
    with Image.open(source) as image:
        width = min(MAX_WIDTH_PX, image.width)
        while True:
            height = round(image.height * width / image.width)
            image.convert("RGB").resize((width, height), Image.LANCZOS).save(
                target, optimize=True)
            size = os.path.getsize(target)
            if size <= MAX_BYTES:
                return size
            width = int(width * 0.8)


def rebuild(figure):
    """Runs the figure's script; returns its PNG's path (RuntimeError naming its last line)."""
    out_dir = os.path.join(FLAGS.out_root, FOLDERS[figure])
    command = [sys.executable, "-m", f"paper_repro.{figure}", f"--out_dir={out_dir}"]
    if figure not in TRAINS_NOTHING:
        command += [f"--profile={FLAGS.profile}"] + (["--plot_only"] if FLAGS.plot_only else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        lines = result.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit code {result.returncode}")
    return os.path.join(out_dir, f"{figure}.png")


def main(argv):
    if len(argv) > 1:
        cli.fail(2, f"unexpected arguments {argv[1:]}: all options are --flags")
    unknown = [f for f in FLAGS.figures if f not in FOLDERS]
    if unknown:
        cli.fail(2, f"--figures: {', '.join(unknown)} unknown: allowed are {', '.join(FOLDERS)}")
    os.makedirs(IMAGES, exist_ok=True)
    failed = []
    for figure in FLAGS.figures:
        try:
            size = shrink(rebuild(figure), os.path.join(IMAGES, f"{figure}.png"))
            print(f"{figure}: docs/images/{figure}.png ({size // 1000} KB)")
        except (RuntimeError, ValueError, OSError) as e:
            failed.append(figure)
            print(f"error: {figure}: {e}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    _define_flags()
    app.run(main, flags_parser=cli.parse_flags)
