# bench_transformer runs bench/torch_transformer.py (the PyTorch reference) from the source tree.
target_compile_definitions(bench_transformer PRIVATE
  SC_TORCH_TRANSFORMER="${CMAKE_SOURCE_DIR}/bench/torch_transformer.py")
target_link_libraries(bench_transformer PRIVATE m)
