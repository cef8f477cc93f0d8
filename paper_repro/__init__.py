"""Scripts that rebuild the figures of Haarnoja et al. (2017): ``python -m paper_repro.figN``."""
