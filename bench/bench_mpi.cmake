# bench_mpi launches `mpirun -n N sidecar eval` on the golden CNN from the source tree.
add_dependencies(bench_mpi sidecar_cli)
target_compile_definitions(bench_mpi PRIVATE
  SC_CNN_DIR="${CMAKE_SOURCE_DIR}/tests/golden/data/cnn_mnist"
  SC_CLI_PATH="$<TARGET_FILE:sidecar_cli>"
  SC_MPIRUN_PATH="${SC_MPIRUN}")
