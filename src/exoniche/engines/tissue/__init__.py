"""Tissue engine: one organ's niche as cells and diffusing fields on a voxel grid (Numba kernels).

- :mod:`.diffusion`: implicit LOD diffusion-decay (BioFVM's scheme), Dirichlet/Neumann faces, sources.
- :mod:`.verify`: the solver checks of ``exoniche tissue verify``.
"""
