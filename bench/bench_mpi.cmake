# bench_mpi launches `mpirun -n N sidecar eval` on a CNN and data it writes itself.
add_dependencies(bench_mpi sidecar_cli)
target_compile_definitions(bench_mpi PRIVATE
  SC_CLI_PATH="$<TARGET_FILE:sidecar_cli>"
  SC_MPIRUN_PATH="${SC_MPIRUN}")
