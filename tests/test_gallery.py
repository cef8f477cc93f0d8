"""The README gallery's pictures: shrunk under the size limit, at most the width allowed."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from paper_repro import gallery


def test_a_large_noisy_picture_is_shrunk_under_the_limit(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (1200, 2400, 3), dtype=np.uint8)
    source, target = tmp_path / "big.png", tmp_path / "small.png"
    Image.fromarray(noise).save(source)
    assert os.path.getsize(source) > gallery.MAX_BYTES
    size = gallery.shrink(source, target)
    with Image.open(target) as shrunk:
        assert shrunk.width <= gallery.MAX_WIDTH_PX
        assert abs(shrunk.height / shrunk.width - 0.5) < 0.01  # the aspect ratio is kept
    assert size == os.path.getsize(target) <= gallery.MAX_BYTES


def test_unknown_figure_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "paper_repro.gallery", "--figures=fig9"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: --figures: fig9 unknown: allowed are fig1, fig2, fig3, fig4, fig5, "
                      "fig6, fig7, compose"], result.stderr
