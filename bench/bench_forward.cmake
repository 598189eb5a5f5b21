# bench_forward runs bench/torch_forward.py (the PyTorch reference) from the source tree.
target_compile_definitions(bench_forward PRIVATE
  SC_TORCH_SCRIPT="${CMAKE_SOURCE_DIR}/bench/torch_forward.py")
target_link_libraries(bench_forward PRIVATE m)
