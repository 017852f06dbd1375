"""The 2D -> 3D pose lifter: its input contract (`input`), config, network with the paper's SA/TA
modules, checkpoints, inference and the per-track windows of live streams.

Import the submodules directly; this file stays free of imports so that the numpy-only parts
(`input`, `track_windows`) do not pull in torch.
"""
