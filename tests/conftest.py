import os

# Tests run on CPU with whatever devices JAX finds; keep XLA from grabbing every
# core per process when pytest-xdist runs workers side by side.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
