# bench_e2e runs the `sidecar` command as a child process and bench/torch_e2e.py (the PyTorch
# reference) from the source tree.
add_dependencies(bench_e2e sidecar_cli)
target_compile_definitions(bench_e2e PRIVATE
  SC_CLI_PATH="$<TARGET_FILE:sidecar_cli>"
  SC_TORCH_SCRIPT="${CMAKE_SOURCE_DIR}/bench/torch_e2e.py")
target_link_libraries(bench_e2e PRIVATE m)
