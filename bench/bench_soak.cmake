# bench_soak runs under LeakSanitizer (a leak fails it at exit) and needs the demo trainer.
target_link_options(bench_soak PRIVATE -fsanitize=leak)
add_dependencies(bench_soak sc_demo_trainer)
