"""The SLURM launcher's config: submitit's, and the size of a node for jobs of several GPUs.

Hydra imports every module under hydra_plugins/ as it starts, so the node is in the
ConfigStore before conf/hydra/launcher/slurm.yaml names it.
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf


@dataclass
class SweepSlurmQueueConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.zo_sweep_launchers.slurm.SweepSlurmLauncher"
    # GPUs a node has: a job of more devices_per_job spans nodes. None: every job on one node.
    node_gpus: int | None = None


ConfigStore.instance().store(
    group="hydra/launcher", name="zo_sweep_slurm", node=SweepSlurmQueueConf, provider="zo_sweep"
)
