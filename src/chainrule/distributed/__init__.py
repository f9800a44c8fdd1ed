"""Distributed data-parallel training over MPI with ``torch.distributed``'s API.

Start N processes with ``chainrule run -n N script.py`` (or ``mpirun -n N python script.py``);
in the script::

    import chainrule.distributed as dist
    dist.init_process_group(backend="mpi")
    model = cr.nn.parallel.DistributedDataParallel(model)

See ``docs/distributed.md``.
"""

from chainrule.distributed.collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    gather,
    reduce_scatter,
    scatter,
)
from chainrule.distributed.process_group import (
    DistributedError,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)

__all__ = ["DistributedError", "ReduceOp", "Work", "all_gather", "all_gather_object",
           "all_reduce", "barrier", "broadcast", "destroy_process_group", "gather",
           "get_backend", "get_rank", "get_world_size", "init_process_group", "is_available",
           "is_initialized", "reduce_scatter", "scatter"]
