"""Shared settings of the diffusion-family tests."""

# An 8x8 grayscale UNet of one level: the compiled steps stay small; the layer tests cover deeper UNets.
TINY_UNET = dict(
    input_shape=(8, 8, 1),
    channels=(8,),
    num_res_blocks=1,
    attention_levels=(),
    head_dim=8,
    num_groups=4,
)
