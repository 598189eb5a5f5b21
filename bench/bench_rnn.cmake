# bench_rnn runs bench/torch_rnn.py (the PyTorch reference) from the source tree.
target_compile_definitions(bench_rnn PRIVATE
  SC_TORCH_RNN_SCRIPT="${CMAKE_SOURCE_DIR}/bench/torch_rnn.py")
target_link_libraries(bench_rnn PRIVATE m)
