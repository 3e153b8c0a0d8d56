"""Training (ANOMALE.md steps 11-12): jitted train_step/embed, the fit loop, checkpoints, chunked embedding.

Submodules: `step` (train_step, train_step_with_perm, loss_and_grads, embed, TrainState), `loop` (fit),
`checkpoint` (npz + JSON files), `embedding` (bucketed and chunked embedding, .npy/.parquet output), `files`
(file-to-file train/embed used by the CLI).
"""
