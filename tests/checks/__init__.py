"""Shared checks that every model, layer, sampler and bijector test calls (keras-hub style).

A model's test file supplies tiny constructor arguments and data, then calls
the focused checks it needs, or `run_model_checks` for all of them:

```python
from tests.checks import digits, run_model_checks

def test_vae_model_checks(tmp_path):
    run_model_checks(VAE, dict(input_shape=(8, 8, 1), latent_dim=3), digits(), tmp_path=tmp_path)
```
"""

from tests.checks.config import check_config_round_trip
from tests.checks.data import digits
from tests.checks.data import fit_arguments
from tests.checks.model import run_model_checks
from tests.checks.sampling import check_compiled_sampling
from tests.checks.sampling import check_sampling
from tests.checks.saving import check_backup_and_restore
from tests.checks.saving import check_keras_round_trip
from tests.checks.saving import check_preset_round_trip
from tests.checks.saving import check_resume
from tests.checks.training import check_loss_falls
from tests.checks.training import check_phases_update_their_variables

__all__ = [
    "check_backup_and_restore",
    "check_compiled_sampling",
    "check_config_round_trip",
    "check_keras_round_trip",
    "check_loss_falls",
    "check_phases_update_their_variables",
    "check_preset_round_trip",
    "check_resume",
    "check_sampling",
    "digits",
    "fit_arguments",
    "run_model_checks",
]
